//! Cross-checks between what Go recorded (build info) and what the PE headers say.
//!
//! The header is the truth: cmd/go records `-buildmode=exe` for a default build even though the
//! go command builds a PIE for Windows by default (the reference matrix's snapshots show both),
//! so ASLR is judged from `DYNAMIC_BASE`, the base relocation directory and `RELOCS_STRIPPED`,
//! never from the recorded flag.
//!
//! ```
//! use pegate_gobin::crosscheck::{Outcome, check};
//! # fn demo(summary: &pegate_pe::PeSummary, info: &pegate_gobin::buildinfo::BuildInfo) {
//! let failures: Vec<_> = check(summary, info).into_iter().filter(|f| f.status == Outcome::Fail).collect();
//! # let _ = failures; }
//! ```

pub use pegate_facts::Outcome;
use pegate_facts::{GoArch, GoOs};
use pegate_pe::{Characteristics, DllCharacteristics, PeSummary};
use serde::{Deserialize, Serialize};

use crate::buildinfo::BuildInfo;

/// One cross-check result with a stable id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Finding {
    /// Stable id: `go.goos`, `go.goarch-machine`, `go.gui-subsystem`, `go.aslr`, `go.high-entropy-va`.
    pub id: String,
    /// Pass, fail or not applicable.
    pub status: Outcome,
    /// What was compared.
    pub message: String,
}

/// `IMAGE_FILE_RELOCS_STRIPPED`: the file has no base relocations and loads only at its base.
const RELOCS_STRIPPED: Characteristics =
    Characteristics::new(object::pe::IMAGE_FILE_RELOCS_STRIPPED.0 as u32);

fn finding(id: &str, status: Outcome, message: String) -> Finding {
    Finding {
        id: id.to_owned(),
        status,
        message,
    }
}

fn verdict(ok: bool) -> Outcome {
    if ok { Outcome::Pass } else { Outcome::Fail }
}

/// Runs every cross-check.
pub fn check(summary: &PeSummary, info: &BuildInfo) -> Vec<Finding> {
    let mut out = vec![
        goos(info),
        goarch_machine(summary, info),
        gui_subsystem(summary, info),
        aslr(summary, info),
    ];
    out.extend(high_entropy_va(summary));
    out
}

/// `go.goos`: a PE file is for Windows.
fn goos(info: &BuildInfo) -> Finding {
    match info.setting("GOOS") {
        Some(goos) => finding(
            "go.goos",
            verdict(goos.parse() == Ok(GoOs::Windows)),
            format!("build info says GOOS={goos}, the file is a PE for Windows"),
        ),
        None => finding(
            "go.goos",
            Outcome::NotApplicable,
            "GOOS not recorded".into(),
        ),
    }
}

/// `go.goarch-machine`: the COFF machine is the one Go's linker writes for the GOARCH
/// ([`GoArch::machine`]).
fn goarch_machine(summary: &PeSummary, info: &BuildInfo) -> Finding {
    let Some(goarch) = info.setting("GOARCH") else {
        return finding(
            "go.goarch-machine",
            Outcome::NotApplicable,
            "GOARCH not recorded".into(),
        );
    };
    match goarch.parse().ok().and_then(GoArch::machine) {
        Some(want) => finding(
            "go.goarch-machine",
            verdict(summary.headers.machine == want),
            format!(
                "GOARCH={goarch} wants machine {want}, the header says {}",
                summary.headers.machine
            ),
        ),
        None => finding(
            "go.goarch-machine",
            Outcome::Fail,
            format!(
                "GOARCH={goarch} is not a windows port, the header says {}",
                summary.headers.machine
            ),
        ),
    }
}

/// Whether `-ldflags` asks for a GUI program (`-H windowsgui` or `-H=windowsgui`).
fn asks_for_gui(ldflags: &str) -> bool {
    ldflags
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w.first() == Some(&"-H") && w.get(1) == Some(&"windowsgui"))
        || ldflags.split_whitespace().any(|f| f == "-H=windowsgui")
}

/// `go.gui-subsystem`: `-H=windowsgui` makes a WINDOWS_GUI program, its absence a WINDOWS_CUI one.
fn gui_subsystem(summary: &PeSummary, info: &BuildInfo) -> Finding {
    let Some(ldflags) = info.setting("-ldflags") else {
        return finding(
            "go.gui-subsystem",
            Outcome::NotApplicable,
            if info.setting("-trimpath") == Some("true") {
                "-ldflags is not recorded with -trimpath".into()
            } else {
                "no -ldflags recorded (a console build)".into()
            },
        );
    };
    let gui = asks_for_gui(ldflags);
    let want = if gui { "WINDOWS_GUI" } else { "WINDOWS_CUI" };
    finding(
        "go.gui-subsystem",
        verdict(summary.headers.subsystem == want),
        format!(
            "-ldflags {} -H=windowsgui, so the subsystem must be {want}; it is {}",
            if gui { "has" } else { "lacks" },
            summary.headers.subsystem
        ),
    )
}

/// `go.aslr`: judged from the header (see the module docs), whatever `-buildmode` recorded.
fn aslr(summary: &PeSummary, info: &BuildInfo) -> Finding {
    let dynamic = summary
        .headers
        .dll_characteristics
        .contains(DllCharacteristics::DYNAMIC_BASE);
    let relocs = summary.directory("BASERELOC").is_some();
    let stripped = summary.headers.characteristics.contains(RELOCS_STRIPPED);
    let recorded = info.setting("-buildmode").unwrap_or("default");
    let aslr = dynamic && relocs && !stripped;
    finding(
        "go.aslr",
        verdict(aslr),
        if aslr {
            format!(
                "DYNAMIC_BASE with base relocations (recorded -buildmode={recorded}; Go records exe for its default PIE build)"
            )
        } else {
            format!(
                "no ASLR: DYNAMIC_BASE {}, base relocations {}, RELOCS_STRIPPED {} (built with -buildmode=exe or -race?)",
                if dynamic { "set" } else { "missing" },
                if relocs { "present" } else { "missing" },
                if stripped { "set" } else { "clear" },
            )
        },
    )
}

/// `go.high-entropy-va`, for PE32+ only: Go's linker sets it on every 64-bit PIE.
fn high_entropy_va(summary: &PeSummary) -> Option<Finding> {
    if !summary.headers.pe32_plus {
        return None;
    }
    let dynamic = summary
        .headers
        .dll_characteristics
        .contains(DllCharacteristics::DYNAMIC_BASE);
    if !dynamic {
        return Some(finding(
            "go.high-entropy-va",
            Outcome::NotApplicable,
            "not a PIE".into(),
        ));
    }
    let heva = summary
        .headers
        .dll_characteristics
        .contains(DllCharacteristics::HIGH_ENTROPY_VA);
    Some(finding(
        "go.high-entropy-va",
        verdict(heva),
        format!(
            "a 64-bit PIE gets HIGH_ENTROPY_VA from Go's linker: {}",
            if heva { "set" } else { "missing" }
        ),
    ))
}
