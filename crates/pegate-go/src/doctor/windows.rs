//! The doctor checks that only a Windows machine can answer: the `setx` trap, long paths, the
//! ROOT certificate store and a second `go.exe` on PATH.
//!
//! Judging is pure: every check reads a [`WindowsFacts`] (registry values, the ROOT store's
//! certificate names, PATH directories holding `go.exe`) and the process environment, so the
//! logic is tested on any OS with hand-made facts. Only `gather.rs` (cfg(windows)) reads the real
//! registry and certificate store.
//!
//! Windows facts the checks rely on:
//! - A new process gets the `Session Manager\Environment` (machine) values, then `HKCU\Environment`
//!   (user) values over them, except `Path`, where the user's entries are appended to the
//!   machine's. `REG_EXPAND_SZ` values have `%NAME%` expanded; an unknown name stays as written.
//!   `setx` writes only the registry: the terminal that ran it keeps its old environment.
//! - Without `LongPathsEnabled` = 1 under `HKLM\SYSTEM\CurrentControlSet\Control\FileSystem`,
//!   Win32 file APIs reject paths of MAX_PATH (260 UTF-16 units, the NUL included) or more.
//! - Go on Windows verifies TLS chains with the system verifier (the ROOT store), not with
//!   `SSL_CERT_FILE`. proxy.golang.org and sum.golang.org serve Google Trust Services chains,
//!   which end at GTS Root R1/R4, cross-signed by GlobalSign Root CA. Windows fetches a missing
//!   root from Windows Update on first use unless `DisableRootAutoUpdate` is set (LTSC and offline
//!   machines), which is when `go mod download` fails with "x509: certificate signed by unknown
//!   authority".
//!
//! ```
//! use pegate_go::doctor::{self, DoctorEnv, Status, WindowsFacts};
//!
//! let mut env = DoctorEnv::empty(r"C:\src\app");
//! let mut facts = WindowsFacts::default();
//! facts.user_env.insert("GOPATH".into(), doctor::RegString::plain(r"D:\go"));
//! env.windows = Some(facts);
//! let checks = doctor::run(&env);
//! let persisted = checks.iter().find(|c| c.id == "env.persisted").unwrap();
//! assert_eq!(persisted.status, Status::Fail); // setx GOPATH, but this terminal has none
//! assert!(persisted.fix.contains("open a new terminal"));
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use super::{Check, CheckId, MAX_PATH, Status, check};

/// A string value as stored in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegString {
    /// The value as written (`%USERPROFILE%\go` for an unexpanded `REG_EXPAND_SZ`).
    pub value: String,
    /// `REG_EXPAND_SZ`: `%NAME%` references are expanded when a process starts.
    pub expand: bool,
}

impl RegString {
    /// A `REG_SZ` value.
    pub fn plain(value: impl Into<String>) -> RegString {
        RegString {
            value: value.into(),
            expand: false,
        }
    }

    /// A `REG_EXPAND_SZ` value.
    pub fn expandable(value: impl Into<String>) -> RegString {
        RegString {
            value: value.into(),
            expand: true,
        }
    }
}

/// What the Windows-only checks look at; gathered on Windows, built by hand in tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WindowsFacts {
    /// `HKCU\Environment`, names upper-cased (GOROOT, GOPATH, GOPROXY, PATH).
    pub user_env: BTreeMap<String, RegString>,
    /// `HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment`, names upper-cased.
    pub system_env: BTreeMap<String, RegString>,
    /// `LongPathsEnabled` under `HKLM\SYSTEM\CurrentControlSet\Control\FileSystem`, if present.
    pub long_paths_enabled: Option<u32>,
    /// Simple display names (the CN) of the ROOT store's certificates; `None` if it could not be
    /// opened.
    pub root_store: Option<Vec<String>>,
    /// `DisableRootAutoUpdate` = 1 under
    /// `HKLM\SOFTWARE\Policies\Microsoft\SystemCertificates\AuthRoot`.
    pub root_auto_update_disabled: bool,
    /// The directories of this process's PATH that hold a `go.exe`, in PATH order, as written.
    pub go_exe_on_path: Vec<String>,
}

/// The variables whose persisted value `env.persisted` compares (PATH is handled apart).
const PERSISTED_VARS: [&str; 3] = ["GOROOT", "GOPATH", "GOPROXY"];

/// The roots a Google Trust Services chain (proxy.golang.org, sum.golang.org) can end at.
pub const GO_PROXY_ROOTS: [&str; 3] = ["GTS Root R1", "GTS Root R4", "GlobalSign Root CA"];

/// The fix for a stale ROOT store (LTSC, no Windows Update): fetch Microsoft's root list and add
/// it to the machine's store.
const CERTUTIL_FIX: &str =
    "as administrator: certutil -generateSSTFromWU roots.sst && certutil -addstore Root roots.sst";

/// A path as Windows compares it: case-insensitive, either slash, no trailing separator or quotes.
fn norm(path: &str) -> String {
    path.trim()
        .trim_matches('"')
        .replace('/', "\\")
        .trim_end_matches('\\')
        .to_lowercase()
}

fn split_windows_path(list: &str) -> impl Iterator<Item = &str> {
    list.split(';').map(str::trim).filter(|e| !e.is_empty())
}

/// Expands `%NAME%` from `vars` (upper-cased names) the way Windows expands `REG_EXPAND_SZ`:
/// an unknown name is left as written.
pub(crate) fn expand(value: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find('%') {
        let (before, after) = rest.split_at(start);
        out.push_str(before);
        let after = after.get(1..).unwrap_or_default();
        match after.find('%') {
            Some(end) => {
                let name = after.get(..end).unwrap_or_default();
                match vars.get(&name.to_uppercase()).filter(|_| !name.is_empty()) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('%');
                        out.push_str(name);
                        out.push('%');
                    }
                }
                rest = after.get(end.saturating_add(1)..).unwrap_or_default();
            }
            None => {
                out.push('%');
                out.push_str(after);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

impl WindowsFacts {
    fn value(
        map: &BTreeMap<String, RegString>,
        name: &str,
        vars: &BTreeMap<String, String>,
    ) -> Option<String> {
        map.get(name).map(|v| {
            if v.expand {
                expand(&v.value, vars)
            } else {
                v.value.clone()
            }
        })
    }

    /// What a new terminal would get for `name` (not PATH): the user value over the machine's,
    /// and which of the two it came from (`User` or `Machine`, as PowerShell names them).
    pub(crate) fn persisted(
        &self,
        name: &str,
        vars: &BTreeMap<String, String>,
    ) -> Option<(String, &'static str)> {
        Self::value(&self.user_env, name, vars)
            .map(|v| (v, "User"))
            .or_else(|| Self::value(&self.system_env, name, vars).map(|v| (v, "Machine")))
    }

    /// The names a new terminal's `%NAME%` references see: this process's (USERPROFILE, ...),
    /// overridden by the saved machine values, then the saved user values, as logon builds them.
    fn expansion_env(&self, vars: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut env = vars.clone();
        for map in [&self.system_env, &self.user_env] {
            for (name, v) in map {
                if name != "PATH" {
                    let value = if v.expand {
                        expand(&v.value, &env)
                    } else {
                        v.value.clone()
                    };
                    env.insert(name.clone(), value);
                }
            }
        }
        env
    }

    /// A new terminal's PATH entries: the machine's, then the user's.
    fn persisted_path(&self, vars: &BTreeMap<String, String>) -> Vec<String> {
        [&self.system_env, &self.user_env]
            .into_iter()
            .filter_map(|m| Self::value(m, "PATH", vars))
            .flat_map(|p| {
                split_windows_path(&p)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

/// Whether a PATH entry is a Go bin directory: `<GOROOT>\bin`, `<GOPATH>\bin`, or a `bin`
/// directory whose parent is named like a Go install (`C:\Go\bin`, `C:\go1.21\bin`).
fn is_go_entry(entry: &str, go_bins: &[String]) -> bool {
    let n = norm(entry);
    if go_bins.contains(&n) {
        return true;
    }
    let Some(parent) = n.strip_suffix("\\bin") else {
        return false;
    };
    let name = parent.rsplit('\\').next().unwrap_or(parent);
    name == "go" || name.starts_with("go1") || name == "golang"
}

/// `env.persisted`: the values saved for new terminals against this one (the `setx` trap).
pub(crate) fn env_persisted(facts: &WindowsFacts, vars: &BTreeMap<String, String>) -> Check {
    let saved_env = facts.expansion_env(vars);
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    let mut refresh = None;
    for name in PERSISTED_VARS {
        let Some((saved, scope)) = facts.persisted(name, &saved_env) else {
            continue;
        };
        let here = vars.get(name).filter(|v| !v.is_empty());
        let same = match here {
            Some(h) if name == "GOPROXY" => h.trim() == saved.trim(),
            Some(h) => norm(h) == norm(&saved),
            None => false,
        };
        if same {
            continue;
        }
        refresh.get_or_insert_with(|| {
            format!("$env:{name} = [Environment]::GetEnvironmentVariable('{name}', '{scope}')")
        });
        match here {
            None => missing.push(format!(
                "{name} is saved as {saved} but this terminal has no {name}"
            )),
            Some(h) => differ.push(format!(
                "{name} is saved as {saved} but this terminal has {h}"
            )),
        }
    }
    let go_bins: Vec<String> = ["GOROOT", "GOPATH"]
        .iter()
        .filter_map(|n| facts.persisted(n, &saved_env))
        .filter_map(|(v, _)| {
            split_windows_path(&v)
                .next()
                .map(|first| norm(&format!("{first}\\bin")))
        })
        .collect();
    let here_path: Vec<String> = vars
        .get("PATH")
        .map(|p| split_windows_path(p).map(norm).collect())
        .unwrap_or_default();
    let path_missing: Vec<String> = facts
        .persisted_path(&saved_env)
        .into_iter()
        .filter(|e| is_go_entry(e, &go_bins) && !here_path.contains(&norm(e)))
        .collect();
    if !path_missing.is_empty() {
        missing.push(format!(
            "PATH is saved with {} but this terminal's PATH lacks it",
            path_missing.join(", ")
        ));
        refresh.get_or_insert_with(|| {
            "$env:Path = [Environment]::GetEnvironmentVariable('Path', 'Machine') + ';' + [Environment]::GetEnvironmentVariable('Path', 'User')".to_owned()
        });
    }
    let fix = format!(
        "open a new terminal (setx changes only terminals started after it), or in PowerShell: {}",
        refresh.unwrap_or_default()
    );
    let found: Vec<String> = missing.iter().chain(&differ).cloned().collect();
    let status = if !missing.is_empty() {
        Status::Fail
    } else if !differ.is_empty() {
        Status::Warn
    } else {
        Status::Pass
    };
    let message = if found.is_empty() {
        "this terminal has the saved GOROOT, GOPATH, GOPROXY and Go PATH entries".to_owned()
    } else {
        found.join("; ")
    };
    check(CheckId::EnvPersisted, status, message, &fix)
}

/// `path.order`: the first `go.exe` on PATH should be `%GOROOT%\bin\go.exe`.
pub(crate) fn path_order(facts: &WindowsFacts, vars: &BTreeMap<String, String>) -> Check {
    const FIX: &str = "put %GOROOT%\\bin before other Go directories in PATH (System Properties > Environment Variables), or uninstall the older Go";
    let goroot = vars
        .get("GOROOT")
        .filter(|g| !g.is_empty())
        .cloned()
        .or_else(|| {
            facts
                .persisted("GOROOT", &facts.expansion_env(vars))
                .map(|(v, _)| v)
        });
    let Some(first) = facts.go_exe_on_path.first() else {
        return check(
            CheckId::PathOrder,
            Status::Warn,
            "no go.exe on PATH",
            "add %GOROOT%\\bin to PATH",
        );
    };
    match goroot {
        Some(root) => {
            let bin = norm(&format!("{root}\\bin"));
            if norm(first) == bin {
                check(
                    CheckId::PathOrder,
                    Status::Pass,
                    format!("{first}\\go.exe (GOROOT's) comes first on PATH"),
                    "",
                )
            } else {
                let later = if facts.go_exe_on_path.iter().any(|d| norm(d) == bin) {
                    "before"
                } else {
                    "and GOROOT's go.exe is not on PATH at all:"
                };
                check(
                    CheckId::PathOrder,
                    Status::Fail,
                    format!(
                        "{first}\\go.exe comes first on PATH, {later} {root}\\bin (GOROOT): `go` runs a different Go"
                    ),
                    FIX,
                )
            }
        }
        None if facts.go_exe_on_path.len() > 1 => check(
            CheckId::PathOrder,
            Status::Warn,
            format!(
                "go.exe is in {} PATH directories ({}); the first one wins",
                facts.go_exe_on_path.len(),
                facts.go_exe_on_path.join(", ")
            ),
            FIX,
        ),
        None => check(
            CheckId::PathOrder,
            Status::Pass,
            format!("one go.exe on PATH: {first}\\go.exe"),
            "",
        ),
    }
}

/// `windows.long-paths`: `LongPathsEnabled` judged against the deepest path under GOPATH and
/// GOMODCACHE (`deepest`: its length in UTF-16 units, and the path).
pub(crate) fn long_paths(enabled: Option<u32>, deepest: Option<(usize, String)>) -> Check {
    const FIX: &str = "as administrator in PowerShell: Set-ItemProperty -Path \"HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem\" -Name LongPathsEnabled -Value 1 -Type DWord (or set a short GOMODCACHE such as C:\\m)";
    let limit = MAX_PATH.saturating_sub(1);
    let deepest_text = deepest
        .as_ref()
        .map(|(len, path)| {
            format!("the deepest path under GOPATH/GOMODCACHE is {len} characters ({path})")
        })
        .unwrap_or_else(|| "GOPATH/GOMODCACHE hold no files yet".to_owned());
    if enabled == Some(1) {
        return check(
            CheckId::WindowsLongPaths,
            Status::Pass,
            format!("LongPathsEnabled=1; {deepest_text}"),
            "",
        );
    }
    let state = match enabled {
        Some(v) => format!("LongPathsEnabled={v}"),
        None => "LongPathsEnabled is not set".to_owned(),
    };
    match deepest {
        Some((len, _)) if len > limit => check(
            CheckId::WindowsLongPaths,
            Status::Fail,
            format!("{state} and {deepest_text}, over the {limit}-character limit"),
            FIX,
        ),
        Some((len, _)) if len > limit.saturating_sub(40) => check(
            CheckId::WindowsLongPaths,
            Status::Warn,
            format!("{state} and {deepest_text}, close to the {limit}-character limit"),
            FIX,
        ),
        _ => check(
            CheckId::WindowsLongPaths,
            Status::Pass,
            format!("{state}; {deepest_text}"),
            "",
        ),
    }
}

/// `certs.system-roots` on Windows: the ROOT store holds a root the Go proxy chains to.
pub(crate) fn system_roots(facts: &WindowsFacts) -> Check {
    let Some(store) = &facts.root_store else {
        return check(
            CheckId::CertsSystemRoots,
            Status::Warn,
            "could not open the Windows ROOT certificate store",
            CERTUTIL_FIX,
        );
    };
    let found: Vec<&str> = GO_PROXY_ROOTS
        .iter()
        .copied()
        .filter(|root| store.iter().any(|name| name.trim() == *root))
        .collect();
    if !found.is_empty() {
        return check(
            CheckId::CertsSystemRoots,
            Status::Pass,
            format!(
                "the ROOT store has {} (proxy.golang.org and sum.golang.org chain to it)",
                found.join(", ")
            ),
            "",
        );
    }
    let wanted = GO_PROXY_ROOTS.join(", ");
    if facts.root_auto_update_disabled {
        check(
            CheckId::CertsSystemRoots,
            Status::Fail,
            format!(
                "the ROOT store ({} certificates) lacks {wanted} and DisableRootAutoUpdate is set: \
                 go mod download fails with \"x509: certificate signed by unknown authority\"",
                store.len()
            ),
            CERTUTIL_FIX,
        )
    } else {
        check(
            CheckId::CertsSystemRoots,
            Status::Warn,
            format!(
                "the ROOT store ({} certificates) lacks {wanted}; Windows fetches it on first use \
                 only when it can reach Windows Update",
                store.len()
            ),
            CERTUTIL_FIX,
        )
    }
}

/// The directories of a Windows PATH value that hold `go.exe`, in order.
// Only gather.rs (Windows) calls it; the tests call it everywhere.
#[cfg_attr(not(windows), allow(dead_code))]
pub(crate) fn go_exe_dirs(path: &str) -> Vec<String> {
    path.split(';')
        .map(|d| d.trim().trim_matches('"'))
        .filter(|d| !d.is_empty() && Path::new(d).join("go.exe").is_file())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_follows_windows() {
        let vars: BTreeMap<String, String> = [("USERPROFILE", r"C:\Users\李雷"), ("X", "x")]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (input, want) in [
            (r"%USERPROFILE%\go", r"C:\Users\李雷\go"),
            (r"%userprofile%\go", r"C:\Users\李雷\go"),
            ("%NOPE%;%X%", "%NOPE%;x"),
            ("100%", "100%"),
            ("%%", "%%"),
            ("a%X%b%X%c", "axbxc"),
        ] {
            assert_eq!(expand(input, &vars), want, "{input}");
        }
    }

    #[test]
    fn go_entries_are_recognised() {
        let bins = vec![norm(r"D:\work\gopath\bin")];
        for (entry, want) in [
            (r"C:\Go\bin", true),
            (r"C:\Program Files\Go\bin\", true),
            (r"c:\go1.21.0\bin", true),
            (r"D:\work\gopath\bin", true),
            (r"C:\Windows\system32", false),
            (r"C:\cargo\bin", false),
        ] {
            assert_eq!(is_go_entry(entry, &bins), want, "{entry}");
        }
    }

    #[test]
    fn long_path_limits() {
        let at = |len: usize| Some((len, r"C:\m\x".to_owned()));
        for (enabled, deepest, want) in [
            (Some(1), at(400), Status::Pass),
            (None, at(260), Status::Fail),
            (Some(0), at(260), Status::Fail),
            (None, at(259), Status::Warn),
            (None, at(220), Status::Warn),
            (None, at(219), Status::Pass),
            (None, None, Status::Pass),
        ] {
            let c = long_paths(enabled, deepest.clone());
            assert_eq!(c.status, want, "{enabled:?} {deepest:?}: {c:?}");
        }
    }

    #[test]
    fn go_exe_dirs_keeps_path_order() {
        #![allow(clippy::unwrap_used)]
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (
            dir.path().join("a"),
            dir.path().join("b"),
            dir.path().join("c"),
        );
        for d in [&a, &b, &c] {
            std::fs::create_dir_all(d).unwrap();
        }
        std::fs::write(c.join("go.exe"), b"").unwrap();
        std::fs::write(a.join("go.exe"), b"").unwrap();
        let path = format!("{};\"{}\";;{}", a.display(), b.display(), c.display());
        assert_eq!(
            go_exe_dirs(&path),
            [a.display().to_string(), c.display().to_string()]
        );
    }
}
