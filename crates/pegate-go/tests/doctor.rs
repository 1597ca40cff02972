//! Every doctor check, passing and failing, against fake GOROOT trees and environment maps.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::{Path, PathBuf};

use pegate_facts::{GoArch, GoOs};
use pegate_go::doctor::{self, Check, DoctorEnv, Platform, RegString, Status, WindowsFacts};
use pegate_go::matrix::Target;
use pegate_go::toolchain::Port;

/// The go command's file name on this OS (what goroot.layout looks for).
const GO: &str = if cfg!(windows) { "go.exe" } else { "go" };

/// A fake, healthy machine: GOROOT with bin/go, separate GOPATH, both bins on PATH, a CA bundle.
struct Fake {
    dir: tempfile::TempDir,
    env: DoctorEnv,
}

fn touch(p: &Path) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"x").unwrap();
}

/// An empty program file: executable by its mode on Unix, by its `.exe` name on Windows.
fn executable(p: &Path) {
    touch(p);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn healthy() -> Fake {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let goroot = root.join("sdk/go1.27.3");
    let gopath = root.join("home/go");
    touch(&goroot.join("bin").join(GO));
    touch(&root.join("etc/ca.crt"));
    std::fs::create_dir_all(root.join("project")).unwrap();
    let mut env = DoctorEnv::empty(root.join("project"));
    env.go = Some(goroot.join("bin").join(GO));
    env.go_version = Some("go1.27.3".into());
    env.cert_locations = vec![root.join("etc/ca.crt")];
    let path = std::env::join_paths([goroot.join("bin"), gopath.join("bin"), root.join("usr/bin")])
        .unwrap();
    env.vars
        .insert("PATH".into(), path.to_string_lossy().into_owned());
    for (k, v) in [
        ("GOROOT", goroot.display().to_string()),
        ("GOPATH", gopath.display().to_string()),
        ("GOMODCACHE", gopath.join("pkg/mod").display().to_string()),
        ("GOPROXY", "https://proxy.golang.org,direct".into()),
        ("GOSUMDB", "sum.golang.org".into()),
        ("GOFLAGS", String::new()),
        ("CGO_ENABLED", "0".into()),
    ] {
        env.go_env.insert(k.into(), v);
    }
    env.ports = Some(
        ["386", "amd64", "arm64"]
            .iter()
            .map(|a| Port {
                goos: "windows".into(),
                goarch: (*a).into(),
                cgo_supported: true,
                first_class: true,
                broken: false,
            })
            .collect(),
    );
    Fake { dir, env }
}

#[track_caller]
fn get(env: &DoctorEnv, id: &str) -> Check {
    let checks = doctor::run(env);
    checks
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

#[track_caller]
fn assert_check(env: &DoctorEnv, id: &str, status: Status, message_has: &str) {
    let c = get(env, id);
    assert_eq!(c.status, status, "{c:?}");
    assert!(
        c.message.contains(message_has),
        "{c:?} lacks `{message_has}`"
    );
    assert_eq!(
        c.fix.is_empty(),
        status == Status::Pass,
        "a fix line exactly when not passing: {c:?}"
    );
}

#[test]
fn a_healthy_environment_passes_everything() {
    let f = healthy();
    let checks = doctor::run(&f.env);
    assert_eq!(checks.len(), 13);
    for c in &checks {
        assert_eq!(c.status, Status::Pass, "{c:?}");
    }
}

#[test]
fn go_found() {
    let mut f = healthy();
    assert_check(&f.env, "go.found", Status::Pass, "go1.27.3 at");
    f.env.go = None;
    f.env.go_version = None;
    f.env.go_error = Some("no `go` on PATH".into());
    assert_check(
        &f.env,
        "go.found",
        Status::Fail,
        "no usable go: no `go` on PATH",
    );
}

#[test]
fn goroot_layout() {
    let mut f = healthy();
    let empty = f.dir.path().join("empty-root");
    std::fs::create_dir_all(&empty).unwrap();
    f.env
        .go_env
        .insert("GOROOT".into(), empty.display().to_string());
    assert_check(&f.env, "goroot.layout", Status::Fail, "has no bin/go");
}

#[test]
fn goroot_and_gopath_must_not_overlap() {
    let mut f = healthy();
    let goroot = f.env.go_env["GOROOT"].clone();
    f.env
        .go_env
        .insert("GOPATH".into(), format!("{goroot}/work"));
    assert_check(&f.env, "goroot.gopath", Status::Fail, "overlap");
    f.env.go_env.insert("GOPATH".into(), goroot);
    assert_check(&f.env, "goroot.gopath", Status::Fail, "overlap");
}

#[test]
fn go_bins_on_path() {
    let mut f = healthy();
    f.env.vars.insert("PATH".into(), "/usr/bin".into());
    let c = get(&f.env, "path.go-bins");
    assert_eq!(c.status, Status::Warn);
    // Built the way the check builds them, so the separators are the platform's.
    let bin = |dir: &str| Path::new(dir).join("bin").display().to_string();
    assert!(
        c.message.contains(&bin("sdk/go1.27.3")) && c.message.contains(&bin("home/go")),
        "{c:?}"
    );
}

#[test]
fn go_version_file() {
    let f = healthy();
    std::fs::write(f.env.project_dir.join(".go-version"), "1.27\n").unwrap();
    assert_check(
        &f.env,
        "go-version.file",
        Status::Pass,
        "asks for 1.27, in use",
    );
    std::fs::write(f.env.project_dir.join(".go-version"), "1.23.9\n").unwrap();
    assert_check(
        &f.env,
        "go-version.file",
        Status::Fail,
        "asks for 1.23.9, the toolchain is go1.27.3",
    );
}

#[test]
fn goproxy_needs_a_fallback() {
    let mut f = healthy();
    for ok in [
        "https://goproxy.cn,direct",
        "https://a|https://b|direct",
        "off",
        "direct",
    ] {
        f.env.go_env.insert("GOPROXY".into(), ok.into());
        assert_eq!(get(&f.env, "goproxy.fallback").status, Status::Pass, "{ok}");
    }
    f.env
        .go_env
        .insert("GOPROXY".into(), "https://goproxy.cn".into());
    assert_check(&f.env, "goproxy.fallback", Status::Warn, "has no fallback");
}

#[test]
fn gosumdb_off_needs_a_reason() {
    let mut f = healthy();
    f.env.go_env.insert("GOSUMDB".into(), "off".into());
    assert_check(
        &f.env,
        "gosumdb.enabled",
        Status::Fail,
        "not verified for any module",
    );
    f.env
        .go_env
        .insert("GOPRIVATE".into(), "corp.example.com/*".into());
    assert_check(
        &f.env,
        "gosumdb.enabled",
        Status::Warn,
        "GOPRIVATE=corp.example.com/*",
    );
}

#[test]
fn goflags_surprises() {
    let mut f = healthy();
    f.env
        .go_env
        .insert("GOFLAGS".into(), "-mod=mod -buildmode=exe -v".into());
    assert_check(
        &f.env,
        "goflags.clean",
        Status::Warn,
        "-mod=mod (lets builds rewrite go.mod), -buildmode=exe (drops ASLR",
    );
}

#[test]
fn targets_must_be_ports_of_this_go() {
    let mut f = healthy();
    f.env.targets.push(Target::windows(GoArch::Arm));
    assert_check(
        &f.env,
        "targets.supported",
        Status::Fail,
        "windows/arm (removed in Go 1.26)",
    );
    f.env.ports = None;
    assert_check(&f.env, "targets.supported", Status::Warn, "could not run");
}

#[test]
fn cgo_needs_a_cross_compiler() {
    let mut f = healthy();
    f.env.vars.insert("CGO_ENABLED".into(), "1".into());
    assert_check(
        &f.env,
        "cgo.cross-compiler",
        Status::Fail,
        "windows/amd64 (tried x86_64-w64-mingw32-gcc, zig, clang)",
    );
    // Found as the toolchain finds programs: an executable file, `zig.exe` on Windows.
    let bin = f.dir.path().join("usr/bin");
    touch(&bin.join("zig"));
    assert_check(
        &f.env,
        "cgo.cross-compiler",
        Status::Fail,
        "windows/amd64 (tried x86_64-w64-mingw32-gcc, zig, clang)",
    );
    executable(&bin.join(if cfg!(windows) { "zig.exe" } else { "zig" }));
    assert_check(
        &f.env,
        "cgo.cross-compiler",
        Status::Pass,
        "for every windows target",
    );
}

#[test]
fn windows_path_length() {
    let f = healthy();
    let deep: PathBuf = f.env.go_env["GOMODCACHE"].clone().into();
    let mut p = deep.join("github.com/some-organisation/a-rather-long-module-name@v1.2.3-0.20261125000000-abcdef123456");
    for i in 0..6 {
        p = p.join(format!("internal-package-directory-number-{i}"));
    }
    touch(&p.join("generated_file_with_a_long_name_test.go"));
    let c = get(&f.env, "windows.path-length");
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(
        c.message
            .contains(r"C:\Users\runneradmin\go\pkg\mod\github.com\some-organisation"),
        "{c:?}"
    );
}

#[test]
fn system_roots() {
    let mut f = healthy();
    f.env.cert_locations = vec![f.dir.path().join("nowhere.crt")];
    assert_check(
        &f.env,
        "certs.system-roots",
        Status::Fail,
        "x509: system root pool is not available",
    );
    let bundle = f.dir.path().join("etc/ca.crt");
    f.env
        .vars
        .insert("SSL_CERT_FILE".into(), bundle.display().to_string());
    assert_check(&f.env, "certs.system-roots", Status::Pass, "SSL_CERT_FILE=");
    f.env
        .vars
        .insert("SSL_CERT_FILE".into(), "/no/such/bundle.pem".into());
    assert_check(&f.env, "certs.system-roots", Status::Fail, "does not exist");
}

// ---- Windows-only checks: hand-made registry, ROOT store and PATH facts, judged on any OS. ----

const GOROOT_W: &str = r"C:\Program Files\Go";
const GOPATH_W: &str = r"C:\Users\李雷\go";

/// A healthy Windows machine: GOROOT saved machine-wide, GOPATH and its bin saved for the user
/// (as `setx` writes them, unexpanded), and this terminal started after both.
fn windows_healthy() -> Fake {
    let mut f = healthy();
    for (k, v) in [
        ("USERPROFILE", r"C:\Users\李雷".to_owned()),
        ("GOROOT", GOROOT_W.to_owned()),
        ("GOPATH", GOPATH_W.to_owned()),
        (
            "PATH",
            format!(r"C:\Windows\system32;{GOROOT_W}\bin;{GOPATH_W}\bin"),
        ),
    ] {
        f.env.vars.insert(k.into(), v);
    }
    let mut w = WindowsFacts::default();
    w.system_env
        .insert("GOROOT".into(), RegString::plain(GOROOT_W));
    w.system_env.insert(
        "PATH".into(),
        RegString::expandable(r"C:\Windows\system32;%GOROOT%\bin"),
    );
    w.user_env
        .insert("GOPATH".into(), RegString::expandable(r"%USERPROFILE%\go"));
    w.user_env.insert(
        "PATH".into(),
        RegString::expandable(r"%USERPROFILE%\go\bin"),
    );
    w.long_paths_enabled = Some(1);
    w.root_store = Some(vec!["ISRG Root X1".into(), "GTS Root R1".into()]);
    w.go_exe_on_path = vec![format!(r"{GOROOT_W}\bin")];
    f.env.windows = Some(w);
    f
}

fn facts(f: &mut Fake) -> &mut WindowsFacts {
    f.env.windows.as_mut().unwrap()
}

fn ids(checks: &[Check]) -> Vec<&str> {
    checks.iter().map(|c| c.id.as_str()).collect()
}

#[test]
fn the_catalog_says_which_checks_run_where() {
    let catalog = |skip: Platform| -> Vec<&str> {
        doctor::CATALOG
            .iter()
            .filter(|c| c.platform != skip)
            .map(|c| c.id)
            .collect()
    };
    let linux = doctor::run(&healthy().env);
    assert_eq!(ids(&linux), catalog(Platform::WindowsOnly));
    let windows = doctor::run(&windows_healthy().env);
    assert_eq!(ids(&windows), catalog(Platform::NotWindows));
    for id in ["env.persisted", "path.order", "windows.long-paths"] {
        let entry = doctor::CATALOG.iter().find(|c| c.id == id).unwrap();
        assert_eq!(entry.platform, Platform::WindowsOnly, "{id}");
    }
    let mut all: Vec<&str> = doctor::CATALOG.iter().map(|c| c.id).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), doctor::CATALOG.len(), "ids are unique");
}

#[test]
fn a_healthy_windows_machine_passes_the_windows_checks() {
    let f = windows_healthy();
    for id in [
        "env.persisted",
        "path.order",
        "windows.long-paths",
        "certs.system-roots",
    ] {
        assert_eq!(
            get(&f.env, id).status,
            Status::Pass,
            "{:?}",
            get(&f.env, id)
        );
    }
    assert_check(&f.env, "certs.system-roots", Status::Pass, "GTS Root R1");
}

#[test]
fn env_persisted_catches_the_setx_trap() {
    type Edit = fn(&mut Fake);
    let cases: &[(&str, Edit, Status, &str, &str)] = &[
        (
            "setx GOPATH, then go in the same terminal",
            |f| {
                f.env.vars.remove("GOPATH");
            },
            Status::Fail,
            r"GOPATH is saved as C:\Users\李雷\go but this terminal has no GOPATH",
            "$env:GOPATH = [Environment]::GetEnvironmentVariable('GOPATH', 'User')",
        ),
        (
            "setx /M GOROOT, terminal has the old one",
            |f| {
                f.env.vars.insert("GOROOT".into(), r"C:\go1.16".into());
            },
            Status::Warn,
            r"GOROOT is saved as C:\Program Files\Go but this terminal has C:\go1.16",
            "$env:GOROOT = [Environment]::GetEnvironmentVariable('GOROOT', 'Machine')",
        ),
        (
            "setx GOPROXY, terminal has the default",
            |f| {
                facts(f).user_env.insert(
                    "GOPROXY".into(),
                    RegString::plain("https://goproxy.cn,direct"),
                );
                f.env
                    .vars
                    .insert("GOPROXY".into(), "https://proxy.golang.org,direct".into());
            },
            Status::Warn,
            "GOPROXY is saved as https://goproxy.cn,direct but this terminal has https://proxy.golang.org,direct",
            "open a new terminal",
        ),
        (
            "Go's bin saved in PATH, terminal's PATH predates it",
            |f| {
                f.env.vars.insert(
                    "PATH".into(),
                    format!(r"C:\Windows\system32;{GOPATH_W}\bin"),
                );
            },
            Status::Fail,
            r"PATH is saved with C:\Program Files\Go\bin but this terminal's PATH lacks it",
            "$env:Path = [Environment]::GetEnvironmentVariable('Path', 'Machine') + ';' + [Environment]::GetEnvironmentVariable('Path', 'User')",
        ),
        (
            "case, slashes and a trailing separator do not matter",
            |f| {
                f.env
                    .vars
                    .insert("GOROOT".into(), "c:/program files/go/".into());
            },
            Status::Pass,
            "this terminal has the saved",
            "",
        ),
        (
            "a variable set only in this terminal is no trap",
            |f| {
                f.env.vars.insert("GOPROXY".into(), "off".into());
            },
            Status::Pass,
            "this terminal has the saved",
            "",
        ),
    ];
    for (name, edit, status, message, fix) in cases {
        let mut f = windows_healthy();
        edit(&mut f);
        let c = get(&f.env, "env.persisted");
        assert_eq!(c.status, *status, "{name}: {c:?}");
        assert!(c.message.contains(message), "{name}: {c:?}");
        assert!(c.fix.contains(fix), "{name}: {c:?}");
        assert_eq!(c.fix.is_empty(), *status == Status::Pass, "{name}: {c:?}");
    }
}

#[test]
fn path_order_finds_a_second_go_first() {
    let cases: &[(&[&str], Option<&str>, Status, &str)] = &[
        (
            &[r"C:\go1.16\bin", r"C:\Program Files\Go\bin"],
            Some(GOROOT_W),
            Status::Fail,
            r"C:\go1.16\bin\go.exe comes first on PATH, before C:\Program Files\Go\bin (GOROOT)",
        ),
        (
            &[r"C:\go1.16\bin"],
            Some(GOROOT_W),
            Status::Fail,
            "GOROOT's go.exe is not on PATH at all",
        ),
        (
            &[r"c:\program files\go\bin\", r"C:\go1.16\bin"],
            Some(GOROOT_W),
            Status::Pass,
            "(GOROOT's) comes first",
        ),
        (
            &[r"C:\go1.16\bin", r"C:\Program Files\Go\bin"],
            None,
            Status::Warn,
            "go.exe is in 2 PATH directories",
        ),
        (&[r"C:\Go\bin"], None, Status::Pass, "one go.exe on PATH"),
        (&[], Some(GOROOT_W), Status::Warn, "no go.exe on PATH"),
    ];
    for (dirs, goroot, status, message) in cases {
        let mut f = windows_healthy();
        facts(&mut f).go_exe_on_path = dirs.iter().map(|d| (*d).to_owned()).collect();
        match goroot {
            Some(g) => {
                f.env.vars.insert("GOROOT".into(), (*g).to_owned());
            }
            None => {
                f.env.vars.remove("GOROOT");
                facts(&mut f).system_env.remove("GOROOT");
            }
        }
        assert_check(&f.env, "path.order", *status, message);
    }
}

#[test]
fn long_paths_are_judged_against_the_deepest_module_path() {
    let mut f = windows_healthy();
    let modcache: PathBuf = f.env.go_env["GOMODCACHE"].clone().into();
    let mut deep = modcache.join("github.com/some-organisation/a-rather-long-module-name@v1.2.3");
    for i in 0..5 {
        deep = deep.join(format!("internal-package-directory-number-{i}"));
    }
    let file = deep.join("generated_file_with_a_long_name_test.go");
    touch(&file);
    let len = file.display().to_string().encode_utf16().count();
    assert!(len > 259, "the fixture is deep enough ({len})");
    assert_check(
        &f.env,
        "windows.long-paths",
        Status::Pass,
        "LongPathsEnabled=1",
    );
    facts(&mut f).long_paths_enabled = None;
    assert_check(
        &f.env,
        "windows.long-paths",
        Status::Fail,
        &format!(
            "LongPathsEnabled is not set and the deepest path under GOPATH/GOMODCACHE is {len} characters"
        ),
    );
    facts(&mut f).long_paths_enabled = Some(0);
    std::fs::remove_dir_all(&modcache).unwrap();
    touch(&modcache.join("m@v1/a.go"));
    assert_check(
        &f.env,
        "windows.long-paths",
        Status::Pass,
        "LongPathsEnabled=0;",
    );
}

#[test]
fn windows_roots_for_the_go_proxy() {
    let mut f = windows_healthy();
    facts(&mut f).root_store = Some(vec!["GlobalSign Root CA".into()]);
    assert_check(
        &f.env,
        "certs.system-roots",
        Status::Pass,
        "GlobalSign Root CA",
    );
    facts(&mut f).root_store = Some(vec!["ISRG Root X1".into()]);
    assert_check(
        &f.env,
        "certs.system-roots",
        Status::Warn,
        "lacks GTS Root R1, GTS Root R4, GlobalSign Root CA",
    );
    facts(&mut f).root_auto_update_disabled = true;
    assert_check(
        &f.env,
        "certs.system-roots",
        Status::Fail,
        "x509: certificate signed by unknown authority",
    );
    let c = get(&f.env, "certs.system-roots");
    assert!(
        c.fix.contains("certutil -generateSSTFromWU roots.sst"),
        "{c:?}"
    );
    facts(&mut f).root_store = None;
    assert_check(&f.env, "certs.system-roots", Status::Warn, "could not open");
}

/// `reg.exe` with arguments; panics with its output if it fails.
#[cfg(windows)]
#[track_caller]
fn reg(args: &[&str]) {
    let out = std::process::Command::new("reg")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "reg {args:?}: {out:?}");
}

/// The gathering half on a live Windows: the registry and ROOT store are read. Under Wine (as in
/// CI, in pegate's own throwaway prefix) the test also edits the registry with `reg add`, the way
/// `setx` would, and checks that the doctor sees each change; on a real Windows it leaves the
/// user's registry alone and checks only that the facts can be read.
#[cfg(windows)]
#[test]
fn windows_facts_come_from_the_registry() {
    let gather = |drop: &[&str]| {
        let mut env = DoctorEnv::from_system(None, Path::new("."));
        for name in drop {
            env.vars.remove(*name);
        }
        env
    };
    let env = gather(&[]);
    let facts = env
        .windows
        .clone()
        .expect("Windows facts are gathered on Windows");
    let store = facts.root_store.expect("the ROOT store opens");
    assert!(!store.is_empty(), "the ROOT store has certificates");
    let wine = std::process::Command::new("reg")
        .args(["query", r"HKLM\Software\Wine"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !wine {
        return;
    }
    const USER_ENV: &str = r"HKCU\Environment";
    const FS: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\FileSystem";
    reg(&[
        "add",
        USER_ENV,
        "/v",
        "GOPROXY",
        "/t",
        "REG_SZ",
        "/d",
        "https://goproxy.cn,direct",
        "/f",
    ]);
    reg(&[
        "add",
        FS,
        "/v",
        "LongPathsEnabled",
        "/t",
        "REG_DWORD",
        "/d",
        "0",
        "/f",
    ]);
    let env = gather(&["GOPROXY"]);
    let facts = env.windows.clone().unwrap();
    assert_eq!(facts.long_paths_enabled, Some(0));
    assert_eq!(
        facts.user_env["GOPROXY"],
        RegString::plain("https://goproxy.cn,direct")
    );
    assert_check(
        &env,
        "env.persisted",
        Status::Fail,
        "GOPROXY is saved as https://goproxy.cn,direct but this terminal has no GOPROXY",
    );
    let c = get(&env, "env.persisted");
    assert!(
        c.fix.contains("GetEnvironmentVariable('GOPROXY', 'User')"),
        "{c:?}"
    );

    reg(&["delete", USER_ENV, "/v", "GOPROXY", "/f"]);
    reg(&[
        "add",
        FS,
        "/v",
        "LongPathsEnabled",
        "/t",
        "REG_DWORD",
        "/d",
        "1",
        "/f",
    ]);
    let env = gather(&["GOPROXY"]);
    assert_eq!(env.windows.as_ref().unwrap().long_paths_enabled, Some(1));
    assert!(
        !env.windows
            .as_ref()
            .unwrap()
            .user_env
            .contains_key("GOPROXY")
    );
    assert_check(
        &env,
        "windows.long-paths",
        Status::Pass,
        "LongPathsEnabled=1",
    );
    // Wine fills its ROOT store from the host's CA bundle, which has the Go proxy's roots.
    assert_check(&env, "certs.system-roots", Status::Pass, "GTS Root R1");
    const POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\SystemCertificates\AuthRoot";
    reg(&[
        "add",
        POLICY,
        "/v",
        "DisableRootAutoUpdate",
        "/t",
        "REG_DWORD",
        "/d",
        "1",
        "/f",
    ]);
    assert!(gather(&[]).windows.unwrap().root_auto_update_disabled);
    reg(&["delete", POLICY, "/v", "DisableRootAutoUpdate", "/f"]);
    assert!(!gather(&[]).windows.unwrap().root_auto_update_disabled);
}

#[test]
fn the_doctor_names_the_c_compiler_pegate_build_cgo_uses_per_target() {
    let mut f = healthy();
    executable(&f.dir.path().join("usr/bin").join(format!(
        "x86_64-w64-mingw32-gcc{}",
        std::env::consts::EXE_SUFFIX
    )));
    f.env.cache = Some(f.dir.path().join("cache"));
    let c = get(&f.env, "cgo.pegate-compiler");
    let zig_pinned_here = pegate_go::toolchain::zig_pin_for_platform(
        pegate_go::toolchain::DEFAULT_ZIG_VERSION,
        &pegate_go::toolchain::host_platform(),
    )
    .is_some();
    if zig_pinned_here && std::env::var_os("PEGATE_ZIG").is_none() {
        assert_eq!(c.status, Status::Pass, "{c:?}");
        // MinGW where it is installed (amd64 here), zig for the rest, with why.
        assert!(c.message.contains("windows/amd64: MinGW-w64 "), "{c:?}");
        assert!(
            c.message.contains(
                "windows/386: zig cc -target x86-windows-gnu, after fetching the pinned ziglang"
            ),
            "{c:?}"
        );
        assert!(
            c.message
                .contains("windows/arm64: zig cc -target aarch64-windows-gnu"),
            "{c:?}"
        );
    }
    // Pinned compilers: the environment's PEGATE_CC_* over a build configuration file's
    // [cgo.cc], each named with where it came from.
    let mut pinned = pegate_go::cgo::CgoOptions::default();
    let config: pegate_go::cgo::CgoConfig = serde_json::from_value(serde_json::json!({
        "cc": { "windows/386": "config-cc", "windows/arm64": "clang --target=aarch64-w64-mingw32" }
    }))
    .unwrap();
    pinned.apply_config(&config, "b.toml [cgo.cc]").unwrap();
    f.env.cgo_configured = pinned.configured;
    f.env
        .vars
        .insert("PEGATE_CC_WINDOWS_386".into(), "env-cc".into());
    let c = get(&f.env, "cgo.pegate-compiler");
    assert!(
        c.message
            .contains("windows/386: env-cc (given by PEGATE_CC_WINDOWS_386)"),
        "{c:?}"
    );
    assert!(
        c.message.contains(
            "windows/arm64: clang --target=aarch64-w64-mingw32 (given by b.toml [cgo.cc])"
        ),
        "{c:?}"
    );
    // A target pegate picks no compiler for is a warning naming what to do.
    f.env.targets.push(Target {
        goos: GoOs::Linux,
        goarch: GoArch::Amd64,
    });
    let c = get(&f.env, "cgo.pegate-compiler");
    assert_eq!(c.status, Status::Warn, "{c:?}");
    assert!(
        c.message
            .contains("linux/amd64: pegate chooses C compilers for Windows targets only"),
        "{c:?}"
    );
    assert!(c.fix.contains("--cc GOOS/GOARCH=COMPILER"), "{c:?}");
}
