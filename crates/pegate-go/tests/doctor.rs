//! Every doctor check, passing and failing, against fake GOROOT trees and environment maps.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::{Path, PathBuf};

use pegate_go::doctor::{self, Check, DoctorEnv, Status};
use pegate_go::toolchain::Port;

/// A fake, healthy machine: GOROOT with bin/go, separate GOPATH, both bins on PATH, a CA bundle.
struct Fake {
    dir: tempfile::TempDir,
    env: DoctorEnv,
}

fn touch(p: &Path) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, b"x").unwrap();
}

fn healthy() -> Fake {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let goroot = root.join("sdk/go1.27.3");
    let gopath = root.join("home/go");
    touch(&goroot.join("bin/go"));
    touch(&root.join("etc/ca.crt"));
    std::fs::create_dir_all(root.join("project")).unwrap();
    let mut env = DoctorEnv::empty(root.join("project"));
    env.go = Some(goroot.join("bin/go"));
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
    assert_eq!(checks.len(), 12);
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
    assert!(
        c.message.contains("sdk/go1.27.3/bin") && c.message.contains("home/go/bin"),
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
    f.env.targets.push(("windows".into(), "arm".into()));
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
    let bin = f.dir.path().join("usr/bin");
    touch(&bin.join("zig"));
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
