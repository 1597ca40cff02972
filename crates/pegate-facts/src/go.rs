//! What Go's build info records about a binary: [`GoArch`], [`GoOs`] and [`GoVersion`].
//!
//! GOARCH and GOOS are Go's own names (`go tool dist list`); a GOARCH names the COFF machine
//! Go's linker writes for it ([`GoArch::machine`]), for the ports Go has for Windows.
//!
//! ```
//! use pegate_facts::{GoArch, GoOs, GoVersion, Machine};
//! assert_eq!("386".parse::<GoArch>().unwrap().machine(), Some(Machine::I386));
//! assert_eq!(GoArch::Wasm.machine(), None);
//! assert_eq!(GoOs::Windows.to_string(), "windows");
//! let v: GoVersion = "go1.26rc1".parse().unwrap();
//! assert_eq!((v.major(), v.minor(), v.patch(), v.pre()), (1, 26, 0, Some("rc1")));
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::{Error, Machine, serde_via_str};

macro_rules! go_names {
    (
        $(#[$doc:meta])* $ty:ident, $what:literal,
        { $($(#[$vdoc:meta])* $variant:ident => $name:literal,)* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum $ty {
            $($(#[$vdoc])* $variant,)*
        }

        impl $ty {
            /// Every value, in the order error messages list them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// Go's name for it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = Error;

            fn from_str(text: &str) -> Result<$ty, Error> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| Error::unknown($what, text, Self::ALL.iter().map(|v| v.as_str())))
            }
        }

        serde_via_str!($ty);

        /// What `Serialize` writes: one of Go's names in [`Self::ALL`].
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn schema_id() -> std::borrow::Cow<'static, str> {
                concat!("pegate_facts::", stringify!($ty)).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                schemars::json_schema!({
                    "description": concat!("A ", $what, ", as Go names it."),
                    "type": "string",
                    "enum": names,
                })
            }
        }
    };
}

go_names!(
    /// A GOARCH: the ports Go has for Windows first, then the others.
    GoArch, "GOARCH",
    {
        /// `amd64`.
        Amd64 => "amd64",
        /// `arm64`.
        Arm64 => "arm64",
        /// `386`.
        I386 => "386",
        /// `arm` (32-bit; Go 1.26 removed windows/arm).
        Arm => "arm",
        /// `loong64`.
        Loong64 => "loong64",
        /// `mips`.
        Mips => "mips",
        /// `mipsle`.
        Mipsle => "mipsle",
        /// `mips64`.
        Mips64 => "mips64",
        /// `mips64le`.
        Mips64le => "mips64le",
        /// `ppc64`.
        Ppc64 => "ppc64",
        /// `ppc64le`.
        Ppc64le => "ppc64le",
        /// `riscv64`.
        Riscv64 => "riscv64",
        /// `s390x`.
        S390x => "s390x",
        /// `wasm`.
        Wasm => "wasm",
    }
);

go_names!(
    /// A GOOS: `windows` first, then the others.
    GoOs, "GOOS",
    {
        /// `windows`.
        Windows => "windows",
        /// `aix`.
        Aix => "aix",
        /// `android`.
        Android => "android",
        /// `darwin`.
        Darwin => "darwin",
        /// `dragonfly`.
        Dragonfly => "dragonfly",
        /// `freebsd`.
        Freebsd => "freebsd",
        /// `illumos`.
        Illumos => "illumos",
        /// `ios`.
        Ios => "ios",
        /// `js`.
        Js => "js",
        /// `linux`.
        Linux => "linux",
        /// `netbsd`.
        Netbsd => "netbsd",
        /// `openbsd`.
        Openbsd => "openbsd",
        /// `plan9`.
        Plan9 => "plan9",
        /// `solaris`.
        Solaris => "solaris",
        /// `wasip1`.
        Wasip1 => "wasip1",
    }
);

impl GoArch {
    /// Rust's names for the CPUs pegate runs on (`std::env::consts::ARCH`, `target_arch`), each
    /// with its GOARCH: the one table of the two namings.
    pub const RUST_ARCHES: &'static [(&'static str, GoArch)] = &[
        ("x86_64", GoArch::Amd64),
        ("aarch64", GoArch::Arm64),
        ("x86", GoArch::I386),
    ];

    /// The GOARCH of a Rust arch name in [`GoArch::RUST_ARCHES`] (`x86_64` → `amd64`).
    ///
    /// ```
    /// use pegate_facts::GoArch;
    /// assert_eq!(GoArch::from_rust_arch("x86_64"), Some(GoArch::Amd64));
    /// assert_eq!(GoArch::from_rust_arch("x86"), Some(GoArch::I386));
    /// assert_eq!(GoArch::from_rust_arch("amd64"), None);
    /// ```
    pub fn from_rust_arch(arch: &str) -> Option<GoArch> {
        Self::RUST_ARCHES
            .iter()
            .find(|(rust, _)| *rust == arch)
            .map(|&(_, go)| go)
    }

    /// The COFF machine Go's linker writes for this GOARCH on Windows; `None` for an
    /// architecture Go has no Windows port for.
    pub const fn machine(self) -> Option<Machine> {
        match self {
            GoArch::Amd64 => Some(Machine::AMD64),
            GoArch::Arm64 => Some(Machine::ARM64),
            GoArch::I386 => Some(Machine::I386),
            GoArch::Arm => Some(Machine::ARMNT),
            _ => None,
        }
    }
}

/// A Go version: `go1.27.3`, `1.27` (patch 0), `go1.26rc1` (a pre-release of 1.26.0), `go1`.
///
/// It reads the first word of the text, so `go1.27.3 X:nocoverageredesign` (a binary built
/// with an experiment) is 1.27.3. It prints the text it was read from, as written, and compares
/// by number: `go1.27` equals `1.27.0`, and a pre-release sorts before its release
/// (`go1.27rc2` < `go1.27rc10` < `go1.27` < `go1.27.1`).
#[derive(Clone)]
pub struct GoVersion {
    major: u32,
    minor: u32,
    patch: u32,
    /// `rc1`, `beta2`, ...; empty for a release.
    pre: Box<str>,
    text: Box<str>,
}

impl GoVersion {
    /// The release `go{major}.{minor}.{patch}`.
    pub fn new(major: u32, minor: u32, patch: u32) -> GoVersion {
        GoVersion {
            major,
            minor,
            patch,
            pre: "".into(),
            text: format!("go{major}.{minor}.{patch}").into(),
        }
    }

    /// The `1` of `go1.27.3`.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The `27` of `go1.27.3`.
    pub fn minor(&self) -> u32 {
        self.minor
    }

    /// The `3` of `go1.27.3` (0 when not written).
    pub fn patch(&self) -> u32 {
        self.patch
    }

    /// `(major, minor, patch)`.
    pub fn numbers(&self) -> (u32, u32, u32) {
        (self.major, self.minor, self.patch)
    }

    /// The major release, `(1, 27)` for every `go1.27.x` and `go1.27rcN`.
    pub fn release(&self) -> (u32, u32) {
        (self.major, self.minor)
    }

    /// The pre-release (`rc1`, `beta2`), if this is one.
    pub fn pre(&self) -> Option<&str> {
        (!self.pre.is_empty()).then_some(&*self.pre)
    }

    /// The text it was read from, as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `rc10` → (`rc`, 10, ``): numbers within a pre-release compare as numbers.
    fn pre_key(&self) -> (bool, &str, u64, &str) {
        let pre = &*self.pre;
        let letters = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
        let (name, rest) = pre.split_at(letters);
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        // A release (no pre-release) sorts after every pre-release of it.
        (pre.is_empty(), name, number.parse().unwrap_or(0), tail)
    }
}

fn number(part: &str) -> Option<u32> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

impl FromStr for GoVersion {
    type Err = Error;

    fn from_str(text: &str) -> Result<GoVersion, Error> {
        let bad = || Error::GoVersion {
            text: text.to_owned(),
        };
        let word = text.split_whitespace().next().ok_or_else(bad)?;
        let word = word.strip_prefix("go").unwrap_or(word);
        let split = word
            .find(|c: char| c.is_ascii_alphabetic() || c == '-')
            .unwrap_or(word.len());
        let (core, pre) = word.split_at(split);
        let mut parts = core.split('.');
        let major = parts.next().and_then(number).ok_or_else(bad)?;
        let minor = parts.next().map_or(Some(0), number).ok_or_else(bad)?;
        let patch = parts.next().map_or(Some(0), number).ok_or_else(bad)?;
        let pre = pre.strip_prefix('-').unwrap_or(pre);
        let pre_ok = pre.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.');
        if parts.next().is_some() || !pre_ok || (split < word.len() && pre.is_empty()) {
            return Err(bad());
        }
        Ok(GoVersion {
            major,
            minor,
            patch,
            pre: pre.into(),
            text: text.into(),
        })
    }
}

impl fmt::Display for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.text)
    }
}

impl fmt::Debug for GoVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GoVersion({:?})", self.text)
    }
}

impl PartialEq for GoVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for GoVersion {}

impl PartialOrd for GoVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GoVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers()
            .cmp(&other.numbers())
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            .then_with(|| self.pre.cmp(&other.pre))
    }
}

impl Hash for GoVersion {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.numbers().hash(h);
        self.pre.hash(h);
    }
}

serde_via_str!(GoVersion);

/// What `Serialize` writes: the text the version was read from, as written. Its first word is
/// `go` (optional), one to three dot-separated numbers and an optional pre-release (letters
/// first, or after a `-`); the rest of the text, after whitespace, is kept. The pattern does
/// not bound the numbers, which parse as `u32`.
impl schemars::JsonSchema for GoVersion {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "GoVersion".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        "pegate_facts::GoVersion".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A Go version as written: `go1.27.3`, `1.27`, `go1.26rc1`, `go1.27.3 X:nocoverageredesign`.",
            "type": "string",
            "pattern": r"^\s*(go)?[0-9]+(\.[0-9]+){0,2}([A-Za-z][A-Za-z0-9.]*|-[A-Za-z0-9.]+)?(\s[\s\S]*)?$",
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn go_names_round_trip() {
        for a in GoArch::ALL {
            assert_eq!(a.to_string().parse::<GoArch>().unwrap(), *a);
            let json = serde_json::to_string(a).unwrap();
            assert_eq!(json, format!("\"{a}\""));
            assert_eq!(serde_json::from_str::<GoArch>(&json).unwrap(), *a);
        }
        for o in GoOs::ALL {
            assert_eq!(o.to_string().parse::<GoOs>().unwrap(), *o);
        }
        assert_eq!(
            "x86_64".parse::<GoArch>().unwrap_err().to_string(),
            "unknown GOARCH `x86_64`; expected one of: amd64, arm64, 386, arm, loong64, mips, \
             mipsle, mips64, mips64le, ppc64, ppc64le, riscv64, s390x, wasm"
        );
        assert!(
            "win"
                .parse::<GoOs>()
                .unwrap_err()
                .to_string()
                .starts_with("unknown GOOS `win`; expected one of: windows, aix,")
        );
    }

    /// The one GOARCH → machine table: the four Windows ports.
    #[test]
    fn goarch_machines() {
        let ports: Vec<(&str, String)> = GoArch::ALL
            .iter()
            .filter_map(|a| Some((a.as_str(), a.machine()?.to_string())))
            .collect();
        assert_eq!(
            ports,
            [
                ("amd64", "AMD64".to_owned()),
                ("arm64", "ARM64".to_owned()),
                ("386", "I386".to_owned()),
                ("arm", "ARMNT".to_owned()),
            ]
        );
    }

    /// The cases the three parsers this type replaces accepted (the toolchain's, the policy's,
    /// doctor's via the toolchain's) and refused.
    #[test]
    fn versions_parse() {
        type Parsed = Option<(u32, u32, u32, Option<&'static str>)>;
        let cases: &[(&str, Parsed)] = &[
            ("go1.27.3", Some((1, 27, 3, None))),
            ("1.27.3", Some((1, 27, 3, None))),
            ("go1.27", Some((1, 27, 0, None))),
            ("1.23", Some((1, 23, 0, None))),
            ("go1.24rc1", Some((1, 24, 0, Some("rc1")))),
            ("go1.26rc1", Some((1, 26, 0, Some("rc1")))),
            ("go1.28beta2", Some((1, 28, 0, Some("beta2")))),
            ("1.28-rc.1", Some((1, 28, 0, Some("rc.1")))),
            ("go1.21.13", Some((1, 21, 13, None))),
            ("go1", Some((1, 0, 0, None))),
            ("go1.27.3 X:nocoverageredesign", Some((1, 27, 3, None))),
            (" go1.23.9\n", Some((1, 23, 9, None))),
            ("banana", None),
            ("", None),
            ("go", None),
            ("1..3", None),
            ("1.2.3.4", None),
            ("1.2_3", None),
            ("1.27.3+x", None),
            ("go1.27-", None),
            ("+1.2", None),
            ("devel go1.28-abc123 Mon Jan 1", None),
            ("1.2x/../3", None),
            ("go99999999999.1", None),
        ];
        for (text, want) in cases {
            let got = text.parse::<GoVersion>();
            match (want, &got) {
                (Some((ma, mi, pa, pre)), Ok(v)) => {
                    assert_eq!(
                        (v.major(), v.minor(), v.patch(), v.pre()),
                        (*ma, *mi, *pa, *pre),
                        "{text:?}"
                    );
                    assert_eq!(v.to_string(), *text);
                    assert_eq!(v.to_string().parse::<GoVersion>().unwrap(), *v);
                }
                (None, Err(e)) => assert_eq!(
                    e.to_string(),
                    format!(
                        "`{text}` is not a Go version; expected e.g. go1.27.3, 1.27 or go1.26rc1"
                    )
                ),
                _ => panic!("{text:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn versions_order_by_number_with_pre_releases_first() {
        let ordered = [
            "go1.9",
            "go1.21.13",
            "go1.27beta1",
            "go1.27rc1",
            "go1.27rc2",
            "go1.27rc10",
            "go1.27",
            "go1.27.1",
            "go1.27.3 X:nocoverageredesign",
            "go1.28rc1",
            "go2",
        ];
        let versions: Vec<GoVersion> = ordered.iter().map(|t| t.parse().unwrap()).collect();
        for pair in versions.windows(2) {
            let [a, b] = pair else { unreachable!() };
            assert!(a < b, "{a:?} < {b:?}");
        }
        let a: GoVersion = "go1.27".parse().unwrap();
        let b: GoVersion = "1.27.0".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "go1.27");
        assert_eq!(GoVersion::new(1, 27, 0), a);
        assert_eq!(GoVersion::new(1, 27, 3).to_string(), "go1.27.3");
        assert_eq!(a.release(), (1, 27));
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"go1.27\"");
        assert_eq!(
            serde_json::from_str::<GoVersion>(&json).unwrap().as_str(),
            "go1.27"
        );
    }
}
