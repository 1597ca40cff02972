//! `imports.system-only` and `imports.deny`: whether every DLL an artifact imports is part of
//! Windows, and that none is one a release must never link.
//!
//! "Part of Windows" is one table, [`SYSTEM_DLLS`], plus the API set contracts (`api-ms-win-*`,
//! `ext-ms-*`), which the loader resolves to system DLLs itself. A DLL outside both must ship
//! with the artifact: the classic failure is a MinGW-built cgo program that imports
//! `libwinpthread-1.dll` or `libstdc++-6.dll` from the build machine and dies on a clean
//! Windows with "The code execution cannot proceed because libwinpthread-1.dll was not found".
//!
//! ```
//! use pegate_policy::imports::is_system_dll;
//!
//! assert!(is_system_dll("KERNEL32.dll"));
//! assert!(is_system_dll("api-ms-win-crt-runtime-l1-1-0.dll"));
//! assert!(!is_system_dll("libwinpthread-1.dll"));
//! assert!(!is_system_dll("VCRUNTIME140.dll")); // the Visual C++ redistributable, not Windows
//! ```

use crate::eval::Out;
use crate::{ArtifactFacts, Outcome, RuleId};

/// The DLLs of a clean Windows installation that programs import, lowercase, sorted.
///
/// Source: each is a DLL of `%SystemRoot%\System32` on a fresh Windows 10 (1809 and later) and
/// Windows 11 installation, as Microsoft's Windows API index names them as the DLL of the
/// documented APIs (<https://learn.microsoft.com/windows/win32/apiindex/windows-api-list>, each
/// function's "Requirements: DLL" row). Deliberately absent: the Visual C++ runtime
/// (`vcruntime140.dll`, `msvcp140.dll`: the redistributable, not Windows), old versioned CRTs
/// (`msvcr100.dll` ...), the DirectX SDK redistributables (`d3dx9_43.dll`, `xinput1_3.dll`,
/// `d3dcompiler_43.dll`), and every MinGW runtime DLL. `msvcrt.dll` and `ucrtbase.dll` are part of
/// Windows (the Universal CRT since Windows 10).
pub const SYSTEM_DLLS: &[&str] = &[
    "activeds.dll",
    "advapi32.dll",
    "advpack.dll",
    "amsi.dll",
    "authz.dll",
    "avrt.dll",
    "bcrypt.dll",
    "bcryptprimitives.dll",
    "bluetoothapis.dll",
    "cabinet.dll",
    "cfgmgr32.dll",
    "clusapi.dll",
    "combase.dll",
    "comctl32.dll",
    "comdlg32.dll",
    "credui.dll",
    "crypt32.dll",
    "cryptbase.dll",
    "cryptnet.dll",
    "cryptui.dll",
    "d2d1.dll",
    "d3d10.dll",
    "d3d10_1.dll",
    "d3d11.dll",
    "d3d12.dll",
    "d3d9.dll",
    "d3dcompiler_47.dll",
    "davclnt.dll",
    "dbgeng.dll",
    "dbghelp.dll",
    "dcomp.dll",
    "ddraw.dll",
    "devobj.dll",
    "dhcpcsvc.dll",
    "dinput8.dll",
    "dnsapi.dll",
    "dsound.dll",
    "dwmapi.dll",
    "dwrite.dll",
    "dxgi.dll",
    "dxva2.dll",
    "esent.dll",
    "evr.dll",
    "fltlib.dll",
    "fwpuclnt.dll",
    "gdi32.dll",
    "gdiplus.dll",
    "glu32.dll",
    "hid.dll",
    "httpapi.dll",
    "iertutil.dll",
    "imagehlp.dll",
    "imm32.dll",
    "iphlpapi.dll",
    "kernel32.dll",
    "kernelbase.dll",
    "ksuser.dll",
    "ktmw32.dll",
    "logoncli.dll",
    "mf.dll",
    "mfplat.dll",
    "mfreadwrite.dll",
    "mgmtapi.dll",
    "mlang.dll",
    "mpr.dll",
    "msacm32.dll",
    "mscms.dll",
    "mscoree.dll",
    "msctf.dll",
    "msdmo.dll",
    "msi.dll",
    "msimg32.dll",
    "msvcp_win.dll",
    "msvcrt.dll",
    "mswsock.dll",
    "ncrypt.dll",
    "netapi32.dll",
    "netutils.dll",
    "newdev.dll",
    "normaliz.dll",
    "ntdll.dll",
    "ntdsapi.dll",
    "odbc32.dll",
    "ole32.dll",
    "oleacc.dll",
    "oleaut32.dll",
    "opengl32.dll",
    "pdh.dll",
    "powrprof.dll",
    "profapi.dll",
    "propsys.dll",
    "psapi.dll",
    "rasapi32.dll",
    "rpcrt4.dll",
    "rstrtmgr.dll",
    "samcli.dll",
    "sechost.dll",
    "secur32.dll",
    "sensapi.dll",
    "setupapi.dll",
    "shcore.dll",
    "shell32.dll",
    "shlwapi.dll",
    "slc.dll",
    "srvcli.dll",
    "sspicli.dll",
    "tbs.dll",
    "ucrtbase.dll",
    "urlmon.dll",
    "user32.dll",
    "userenv.dll",
    "usp10.dll",
    "uxtheme.dll",
    "version.dll",
    "virtdisk.dll",
    "wer.dll",
    "wevtapi.dll",
    "windowscodecs.dll",
    "winhttp.dll",
    "wininet.dll",
    "winmm.dll",
    "winscard.dll",
    "winspool.drv",
    "wintrust.dll",
    "winusb.dll",
    "wkscli.dll",
    "wlanapi.dll",
    "wldap32.dll",
    "wmvcore.dll",
    "ws2_32.dll",
    "wsock32.dll",
    "wtsapi32.dll",
    "xinput1_4.dll",
    "xinput9_1_0.dll",
    "xmllite.dll",
];

/// API set contract prefixes: names the loader maps to system DLLs through the API set schema
/// (<https://learn.microsoft.com/windows/win32/apiindex/windows-apisets>).
pub const API_SET_PREFIXES: &[&str] = &["api-ms-win-", "ext-ms-"];

/// Whether `name` is a DLL of Windows itself: in [`SYSTEM_DLLS`] or an API set (ASCII case
/// ignored, as the loader ignores it).
pub fn is_system_dll(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    API_SET_PREFIXES.iter().any(|p| lower.starts_with(p))
        || SYSTEM_DLLS.binary_search(&lower.as_str()).is_ok()
}

/// The usual fix for importing `dll`, by which toolchain put it there.
pub fn fix_for(dll: &str) -> &'static str {
    let lower = dll.to_ascii_lowercase();
    if lower.starts_with("libstdc++") {
        "link the C++ runtime statically: -static-libstdc++ -static-libgcc (for cgo: CGO_LDFLAGS=\"-static-libstdc++ -static-libgcc\", or -ldflags '-extldflags \"-static\"'), or ship the DLL"
    } else if lower.starts_with("libgcc_s") || lower.starts_with("libwinpthread") {
        "link the MinGW runtime statically: -static (for cgo: -ldflags '-extldflags \"-static\"'; -static-libgcc covers libgcc only), or ship the DLL"
    } else if lower.starts_with("vcruntime")
        || lower.starts_with("msvcp")
        || lower.starts_with("concrt")
    {
        "link the CRT statically (/MT), or ship the Visual C++ redistributable with the release"
    } else {
        "link it statically, or ship the DLL with the release and list it in the rule's imports.allow"
    }
}

/// An `[[artifact]]` rule's `imports` table, compiled: its globs, ASCII case ignored.
#[derive(Debug, Clone)]
pub(crate) struct CompiledImports {
    pub(crate) system_only: bool,
    pub(crate) allow: Vec<(String, globset::GlobMatcher)>,
    pub(crate) deny: Vec<(String, globset::GlobMatcher)>,
}

impl CompiledImports {
    pub(crate) fn new(
        index: usize,
        rule: &crate::ImportsRule,
    ) -> Result<CompiledImports, crate::Error> {
        let compile = |globs: &[String]| {
            globs
                .iter()
                .map(|g| {
                    globset::GlobBuilder::new(g)
                        .case_insensitive(true)
                        .build()
                        .map(|m| (g.clone(), m.compile_matcher()))
                        .map_err(|e| crate::Error::Glob {
                            index,
                            glob: g.clone(),
                            message: e.kind().to_string(),
                        })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(CompiledImports {
            system_only: rule.system_only,
            allow: compile(&rule.allow)?,
            deny: compile(&rule.deny)?,
        })
    }

    fn denied(&self, dll: &str) -> Option<&str> {
        self.deny
            .iter()
            .find(|(_, m)| m.is_match(dll))
            .map(|(g, _)| g.as_str())
    }

    fn allowed(&self, dll: &str) -> bool {
        self.allow.iter().any(|(_, m)| m.is_match(dll))
    }
}

/// `(delay-loaded)` after a DLL name when it is.
fn label(name: &str, delay: bool) -> String {
    if delay {
        format!("{name} (delay-loaded)")
    } else {
        name.to_owned()
    }
}

/// Whether the import facts can be judged; pushes `id`'s result when not.
fn readable<'a>(
    a: &'a ArtifactFacts,
    id: RuleId,
    out: &mut Out<'_>,
) -> Option<&'a crate::ImportFacts> {
    let Some(imports) = &a.imports else {
        out.push(id, Outcome::NotApplicable, "the import table was not read");
        return None;
    };
    if !imports.errors.is_empty() {
        out.push(
            id,
            Outcome::Fail,
            format!(
                "the import table cannot be read, so Windows may not load the file: {}",
                imports.errors.join("; ")
            ),
        );
        return None;
    }
    Some(imports)
}

/// `imports.system-only`.
pub(crate) fn system_only(rule: &CompiledImports, a: &ArtifactFacts, out: &mut Out<'_>) {
    if !rule.system_only {
        return;
    }
    let Some(imports) = readable(a, RuleId::ImportsSystemOnly, out) else {
        return;
    };
    let foreign: Vec<_> = imports
        .dlls
        .iter()
        .filter(|d| !is_system_dll(&d.name) && !rule.allowed(&d.name))
        .collect();
    if foreign.is_empty() {
        let allowed = imports
            .dlls
            .iter()
            .filter(|d| !is_system_dll(&d.name))
            .count();
        let mut msg = format!(
            "{} imported DLL(s), all part of Windows",
            imports.dlls.len()
        );
        if allowed > 0 {
            msg = format!(
                "{} imported DLL(s): part of Windows, or allowed by the policy ({allowed})",
                imports.dlls.len()
            );
        }
        out.push(RuleId::ImportsSystemOnly, Outcome::Pass, msg);
        return;
    }
    let problems: Vec<String> = foreign
        .iter()
        .map(|d| {
            format!(
                "{} imports {}, which is not part of Windows: {}",
                a.path,
                label(&d.name, d.delay),
                fix_for(&d.name)
            )
        })
        .collect();
    out.push(
        RuleId::ImportsSystemOnly,
        Outcome::Fail,
        problems.join("; "),
    );
}

/// `imports.deny`.
pub(crate) fn deny(rule: &CompiledImports, a: &ArtifactFacts, out: &mut Out<'_>) {
    if rule.deny.is_empty() {
        return;
    }
    let Some(imports) = readable(a, RuleId::ImportsDeny, out) else {
        return;
    };
    let problems: Vec<String> = imports
        .dlls
        .iter()
        .filter_map(|d| {
            rule.denied(&d.name).map(|glob| {
                format!(
                    "{} imports {}, which the policy denies (`{glob}`){}",
                    a.path,
                    label(&d.name, d.delay),
                    if is_debug_crt(&d.name) {
                        ": a debug C runtime, which only a machine with Visual Studio has; build the release configuration (/MD or /MT, not /MDd or /MTd)"
                    } else {
                        ""
                    }
                )
            })
        })
        .collect();
    out.check(
        RuleId::ImportsDeny,
        problems.is_empty(),
        format!("none of {} imported DLL(s) is denied", imports.dlls.len()),
        problems.join("; "),
    );
}

/// Whether `name` is one of Visual C++'s debug runtimes (`ucrtbased.dll`, `vcruntime140d.dll`,
/// `msvcp140d.dll`, `msvcr120d.dll`).
fn is_debug_crt(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let stem = lower.strip_suffix(".dll").unwrap_or(&lower);
    stem == "ucrtbased"
        || stem == "msvcrtd"
        || (["vcruntime", "msvcp", "msvcr", "concrt"]
            .iter()
            .any(|p| stem.starts_with(p))
            && stem.ends_with('d')
            && stem
                .chars()
                .rev()
                .nth(1)
                .is_some_and(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn the_table_is_sorted_lowercase_and_without_redistributables() {
        assert!(
            SYSTEM_DLLS.windows(2).all(|w| w[0] < w[1]),
            "sorted, no duplicates"
        );
        assert!(SYSTEM_DLLS.iter().all(|d| *d == d.to_ascii_lowercase()));
        for not_windows in [
            "vcruntime140.dll",
            "msvcp140.dll",
            "msvcr100.dll",
            "d3dx9_43.dll",
            "libwinpthread-1.dll",
            "libstdc++-6.dll",
            "libgcc_s_seh-1.dll",
            "ucrtbased.dll",
        ] {
            assert!(!is_system_dll(not_windows), "{not_windows}");
        }
        for windows in [
            "KERNEL32.dll",
            "msvcrt.dll",
            "ext-ms-win-ntuser-window-l1-1-0.dll",
        ] {
            assert!(is_system_dll(windows), "{windows}");
        }
    }

    #[test]
    fn debug_crts_are_recognised() {
        for (name, debug) in [
            ("ucrtbased.dll", true),
            ("VCRUNTIME140D.dll", true),
            ("msvcp140d.dll", true),
            ("msvcr120d.dll", true),
            ("vcruntime140.dll", false),
            ("msvcrt.dll", false),
            ("ucrtbase.dll", false),
        ] {
            assert_eq!(is_debug_crt(name), debug, "{name}");
        }
    }
}
