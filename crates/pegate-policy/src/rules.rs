//! The rule catalogue: stable ids, one-line descriptions, and how to fix a failure.

use serde::{Deserialize, Serialize};

macro_rules! rules {
    ($($variant:ident => $id:literal, $desc:literal, $fix:literal;)*) => {
        /// A stable rule id; its string form appears in every report (SARIF `ruleId`, JUnit name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum RuleId {
            $(
                #[doc = $desc]
                $variant,
            )*
        }

        /// Every rule, in report order.
        pub const RULES: &[RuleInfo] = &[$(RuleInfo { id: RuleId::$variant, description: $desc, fix: $fix, binskim: binskim(RuleId::$variant) },)*];

        impl RuleId {
            /// The stable id, e.g. `signature.required`.
            pub fn as_str(self) -> &'static str {
                match self { $(RuleId::$variant => $id,)* }
            }

            /// This rule's catalogue entry.
            pub fn info(self) -> &'static RuleInfo {
                match self { $(RuleId::$variant => {
                    const INFO: RuleInfo = RuleInfo { id: RuleId::$variant, description: $desc, fix: $fix, binskim: binskim(RuleId::$variant) };
                    &INFO
                })* }
            }

            /// Parses a stable id.
            pub fn from_id(id: &str) -> Option<RuleId> {
                match id { $($id => Some(RuleId::$variant),)* _ => None }
            }
        }
    };
}

rules! {
    Readable => "artifact.readable", "the artifact can be read and parsed as a PE file", "rebuild the artifact or remove it from the artifact list";
    RuleMatch => "artifact.rule-match", "some [[artifact]] rule matches the artifact (with require_rule_match)", "add an [[artifact]] rule whose glob matches this file, or remove the file";
    Expected => "artifact.expected", "every name in `expected` is among the artifacts", "build the missing artifact or remove it from `expected`";
    Machine => "machine", "the COFF machine is the one the rule names", "build for the right GOARCH (GOARCH=amd64 gives AMD64, arm64 gives ARM64, 386 gives I386)";
    Subsystem => "subsystem", "the PE subsystem is the one the rule names", "GUI apps need -ldflags=-H=windowsgui; console apps must not have it";
    DllRequired => "dll-characteristics.required", "every required DllCharacteristics flag is set", "drop -buildmode=exe (Go's default windows build mode is PIE, which sets DYNAMIC_BASE and HIGH_ENTROPY_VA)";
    DllForbidden => "dll-characteristics.forbidden", "no forbidden DllCharacteristics flag is set", "change the linker flags that set it";
    SignatureRequired => "signature.required", "the artifact is signed, its digest matches and (with a trust bundle) the chain is trusted", "sign the artifact (signtool, osslsigncode) after the last byte is written, with a certificate the trust bundle accepts";
    SignatureForbidden => "signature.forbidden", "the artifact carries no signature", "sign only release artifacts, or relax the rule";
    SignerSubject => "signature.signer", "a signer's subject contains the required text", "sign with the expected certificate";
    GoVersion => "go.version", "the Go version in the build info is inside the range", "build with a Go version inside the range (pegate build --go VERSION)";
    GoTargetName => "go.target-name", "the GOOS/GOARCH in the file name agree with the build info and the PE machine", "fix the name template of the release, or the GOARCH of the build";
    MaxSize => "size.max", "the file is not larger than max_size", "strip the binary (-ldflags=\"-s -w\") or raise max_size";
    Checksum => "checksum.match", "the artifact's SHA-256 matches its line in the checksums file (a signed file: or its Authenticode image hash, or its SHA-256 before signing)", "regenerate the checksums file after the last change to the artifact (signing changes the hash)";
    SectionsWx => "sections.wx", "no section is both writable and executable", "find the section the message names and link it read-only or non-executable (a packer or a linker script usually adds it; Go's linker never does)";
    SectionsSharedWritable => "sections.shared-writable", "no writable section is marked shared (IMAGE_SCN_MEM_SHARED) across processes", "drop the SHARED attribute from the section (MSVC /SECTION:name,RWS or a #pragma comment(linker) does it)";
    CfgInstrumented => "cfg.instrumented", "the load config's GuardFlags has CF_INSTRUMENTED (Control Flow Guard)", "compile and link with /guard:cf (MSVC, clang-cl) or -mguard=cf (mingw clang); Go's linker does not emit CFG, so leave cfg unset for Go binaries";
    CetCompatible => "cet.compatible", "the extended DLL characteristics debug entry sets CETCOMPAT (CET shadow stacks)", "link with /CETCOMPAT (MSVC, lld-link); Go's linker writes no debug directory, so leave cet unset for Go binaries";
    SignatureDigest => "signature.digest", "no signature, nested or not, uses a forbidden digest algorithm (SHA-1, MD5)", "re-sign with SHA-256 only (signtool sign /fd sha256, osslsigncode -h sha256) and drop the old nested signature";
    SignatureTimestamped => "signature.timestamped", "every signature carries a valid RFC 3161 or Authenticode countersignature timestamp", "sign with a timestamp server (signtool /tr URL /td sha256, osslsigncode -ts URL): without one the signature dies with its certificate";
    CertExpiry => "signature.cert-expiry", "every signer certificate stays valid for at least cert_min_days days after the gate time", "renew the code-signing certificate and re-sign; a timestamp keeps old releases valid after expiry";
    GoSupported => "go.supported", "the Go that built the binary is one of the two newest major releases in pegate's release table", "rebuild with a supported Go (pegate build --go VERSION); older majors get no security fixes";
    GoSettings => "go.settings", "the Go build settings have the required values and none of the forbidden ones", "build with the settings the policy names (pegate build passes -trimpath and CGO_ENABLED=0), from a clean checkout for vcs.modified=false";
    ImportsSystemOnly => "imports.system-only", "every imported DLL is part of Windows (a system DLL or an api-ms-win-*/ext-ms-* API set) or allowed by the rule's imports.allow", "link the runtime statically (MinGW: -static, or -static-libgcc -static-libstdc++; cgo: -ldflags '-extldflags \"-static\"'; MSVC: /MT), or ship the DLL with the release and add it to imports.allow";
    ImportsDeny => "imports.deny", "no imported DLL matches the rule's imports.deny (e.g. the debug CRTs ucrtbased.dll, vcruntime140d.dll, msvcp140d.dll)", "build the release configuration (/MD or /MT, not /MDd or /MTd) and relink; a debug CRT exists only where Visual Studio is installed";
}

/// The BinSkim rule a pegate rule corresponds to, for SARIF consumers that know BinSkim's ids.
const fn binskim(id: RuleId) -> Option<&'static str> {
    match id {
        RuleId::SectionsWx => Some("BA2021"),
        RuleId::SectionsSharedWritable => Some("BA2019"),
        RuleId::CfgInstrumented => Some("BA2008"),
        RuleId::CetCompatible => Some("BA2025"),
        RuleId::SignatureDigest => Some("BA2022"),
        _ => None,
    }
}

/// A rule's id, what it checks and how to fix a failure.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    /// The stable id.
    pub id: RuleId,
    /// What the rule checks.
    pub description: &'static str,
    /// How to fix a failure.
    pub fix: &'static str,
    /// The corresponding BinSkim rule id (`BA2021`), where there is one.
    pub binskim: Option<&'static str>,
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RuleId::from_id(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule id `{s}`")))
    }
}
