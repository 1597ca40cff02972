//! Cross-checks between what Go recorded (build info) and what the PE headers say.
//!
//! The header is the truth: cmd/go records `-buildmode=exe` for a default build even though the
//! linker made a PIE (see go-pe-facts.md), so ASLR is judged from `DYNAMIC_BASE`, the base
//! relocation directory and `RELOCS_STRIPPED`, never from the recorded flag.
//!
//! ```
//! use pegate_gobin::crosscheck::{Status, check};
//! # fn demo(summary: &pegate_pe::PeSummary, info: &pegate_gobin::buildinfo::BuildInfo) {
//! let failures: Vec<_> = check(summary, info).into_iter().filter(|f| f.status == Status::Fail).collect();
//! # let _ = failures; }
//! ```

use pegate_pe::PeSummary;
use serde::{Deserialize, Serialize};

use crate::buildinfo::BuildInfo;

/// A cross-check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Build info and header agree.
    Pass,
    /// They disagree, or a protection the build should have is missing.
    Fail,
    /// The check cannot be made (the build info does not record what it needs).
    NotApplicable,
}

/// One cross-check result with a stable id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: `go.goos`, `go.goarch-machine`, `go.gui-subsystem`, `go.aslr`, `go.high-entropy-va`.
    pub id: String,
    /// Pass, fail or not applicable.
    pub status: Status,
    /// What was compared.
    pub message: String,
}

fn finding(id: &str, status: Status, message: String) -> Finding {
    Finding {
        id: id.to_owned(),
        status,
        message,
    }
}

fn verdict(ok: bool) -> Status {
    if ok { Status::Pass } else { Status::Fail }
}

/// The COFF machine name Go's linker writes for a GOARCH.
pub fn machine_for_goarch(goarch: &str) -> Option<&'static str> {
    Some(match goarch {
        "amd64" => "AMD64",
        "arm64" => "ARM64",
        "386" => "I386",
        "arm" => "ARMNT",
        _ => return None,
    })
}

/// Runs every cross-check.
pub fn check(summary: &PeSummary, info: &BuildInfo) -> Vec<Finding> {
    let mut out = Vec::new();
    match info.setting("GOOS") {
        Some(goos) => out.push(finding(
            "go.goos",
            verdict(goos == "windows"),
            format!("build info says GOOS={goos}, the file is a PE for Windows"),
        )),
        None => out.push(finding(
            "go.goos",
            Status::NotApplicable,
            "GOOS not recorded".into(),
        )),
    }
    match info.setting("GOARCH") {
        Some(goarch) => match machine_for_goarch(goarch) {
            Some(want) => out.push(finding(
                "go.goarch-machine",
                verdict(summary.machine == want),
                format!(
                    "GOARCH={goarch} wants machine {want}, the header says {}",
                    summary.machine
                ),
            )),
            None => out.push(finding(
                "go.goarch-machine",
                Status::Fail,
                format!(
                    "GOARCH={goarch} is not a windows port, the header says {}",
                    summary.machine
                ),
            )),
        },
        None => out.push(finding(
            "go.goarch-machine",
            Status::NotApplicable,
            "GOARCH not recorded".into(),
        )),
    }
    match info.setting("-ldflags") {
        Some(ldflags) => {
            let gui = ldflags
                .split_whitespace()
                .collect::<Vec<_>>()
                .windows(2)
                .any(|w| w.first() == Some(&"-H") && w.get(1) == Some(&"windowsgui"))
                || ldflags.split_whitespace().any(|f| f == "-H=windowsgui");
            let want = if gui { "WINDOWS_GUI" } else { "WINDOWS_CUI" };
            out.push(finding(
                "go.gui-subsystem",
                verdict(summary.subsystem == want),
                format!(
                    "-ldflags {} -H=windowsgui, so the subsystem must be {want}; it is {}",
                    if gui { "has" } else { "lacks" },
                    summary.subsystem
                ),
            ));
        }
        None => out.push(finding(
            "go.gui-subsystem",
            Status::NotApplicable,
            if info.setting("-trimpath") == Some("true") {
                "-ldflags is not recorded with -trimpath".into()
            } else {
                "no -ldflags recorded (a console build)".into()
            },
        )),
    }
    let dynamic = summary.dll_characteristics.has("DYNAMIC_BASE");
    let relocs = summary.directory("BASERELOC").is_some();
    let stripped = summary.characteristics.has("RELOCS_STRIPPED");
    let recorded = info.setting("-buildmode").unwrap_or("default");
    let aslr = dynamic && relocs && !stripped;
    out.push(finding(
        "go.aslr",
        verdict(aslr),
        if aslr {
            format!("DYNAMIC_BASE with base relocations (recorded -buildmode={recorded}; Go records exe for its default PIE build)")
        } else {
            format!(
                "no ASLR: DYNAMIC_BASE {}, base relocations {}, RELOCS_STRIPPED {} (built with -buildmode=exe or -race?)",
                if dynamic { "set" } else { "missing" },
                if relocs { "present" } else { "missing" },
                if stripped { "set" } else { "clear" },
            )
        },
    ));
    if summary.format == "PE32+" {
        let heva = summary.dll_characteristics.has("HIGH_ENTROPY_VA");
        out.push(finding(
            "go.high-entropy-va",
            if dynamic {
                verdict(heva)
            } else {
                Status::NotApplicable
            },
            if dynamic {
                format!(
                    "a 64-bit PIE gets HIGH_ENTROPY_VA from Go's linker: {}",
                    if heva { "set" } else { "missing" }
                )
            } else {
                "not a PIE".into()
            },
        ));
    }
    out
}
