//! A one-line description of a PE file in the words of `file` (libmagic's msdos magic).
//!
//! ```
//! let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
//! let summary = pegate_pe::summarize(&pegate_pe::PeView::parse(&data).unwrap());
//! assert_eq!(pegate_pe::describe(&summary), "PE32+ executable (console) x86-64, for MS Windows, 3 sections");
//! ```

use crate::PeSummary;

/// libmagic's word for a COFF machine.
fn machine_words(raw: u16) -> String {
    match raw {
        0x014c => "Intel 80386".into(),
        0x0166 => "MIPS R4000".into(),
        0x0168 => "MIPS R10000".into(),
        0x0184 => "Alpha".into(),
        0x01a2 => "Hitachi SH3".into(),
        0x01a6 => "Hitachi SH4".into(),
        0x01c0 => "ARM".into(),
        0x01c2 => "ARM Thumb".into(),
        0x01c4 => "ARMv7 Thumb".into(),
        0x01f0 => "PowerPC".into(),
        0x0200 => "Intel Itanium".into(),
        0x0ebc => "EFI byte code".into(),
        0x5032 => "RISC-V 32-bit".into(),
        0x5064 => "RISC-V 64-bit".into(),
        0x5128 => "RISC-V 128-bit".into(),
        0x8664 => "x86-64".into(),
        0xa641 => "ARM64EC".into(),
        0xaa64 => "Aarch64".into(),
        // libmagic prints no machine word for values it does not know.
        _ => String::new(),
    }
}

/// libmagic's words for a subsystem.
fn subsystem_words(raw: u16) -> Option<&'static str> {
    Some(match raw {
        1 => "(native)",
        2 => "(GUI)",
        3 => "(console)",
        7 => "(POSIX)",
        9 => "(Windows CE)",
        10 => "(EFI application)",
        11 => "(EFI boot service driver)",
        12 => "(EFI runtime driver)",
        13 => "(EFI ROM)",
        14 => "(XBOX)",
        16 => "(Boot application)",
        _ => return None,
    })
}

/// One line such as `PE32+ executable (console) x86-64, for MS Windows, 14 sections`.
pub fn describe(s: &PeSummary) -> String {
    let mut out = format!("{} executable", s.headers.format());
    let chars = s.headers.characteristics.raw;
    if chars & 0x2000 != 0 {
        out.push_str(" (DLL)");
    }
    if let Some(words) = subsystem_words(s.headers.subsystem.0) {
        out.push(' ');
        out.push_str(words);
    }
    if chars & 0x0200 != 0 {
        out.push_str(" (stripped to external PDB)");
    }
    let machine = machine_words(s.headers.machine.0);
    if !machine.is_empty() {
        out.push(' ');
        out.push_str(&machine);
    }
    if chars & 0x1000 != 0 {
        out.push_str(" system file");
    }
    out.push_str(", for MS Windows");
    out.push_str(&format!(", {} sections", s.sections.len()));
    // `file` does not look at the load config; pegate says what it found there, last.
    if let Some(h) = &s.hybrid {
        out.push_str(&format!(", {h} hybrid"));
    }
    out
}
