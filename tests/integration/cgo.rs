//! `pegate build --cgo`: the C compiler each cell gets is in the report (from `--cc` or a
//! `--config` file's `[cgo.cc]`), and a bad `--cc` or configuration is refused before anything
//! is built.

use super::{pegate, root, transcript};

fn build_cgo(out: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = pegate();
    cmd.args([
        "build",
        "--go",
        "1.27.3",
        "--source",
        "fixtures/hello-cgo",
        "--cgo",
        "--cache",
    ])
    .arg(root().join("target").join("pegate-go"))
    .arg("--out")
    .arg(out);
    cmd
}

#[test]
fn build_cgo_records_each_cell_s_compiler_and_links_the_runtime_statically() {
    if super::go_build_fails_here() {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    // An explicit compiler for the target: no zig download, and the override is what the
    // report must name. MinGW-w64 is what `.ci/setup` installs.
    let Some(gcc) = mingw_gcc() else {
        return;
    };
    let out = build_cgo(out_dir.path())
        .args([
            "--target",
            "windows/amd64",
            "--variant",
            "console",
            "--json",
        ])
        .arg("--cc")
        .arg(format!("windows/amd64={}", gcc.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let artifact = &report["cells"][0]["artifact"];
    let cc = &artifact["c_compiler"];
    assert_eq!(cc["kind"], "override", "{cc}");
    assert_eq!(cc["cc"], gcc.display().to_string().as_str(), "{cc}");
    assert_eq!(
        cc["cxx"],
        gcc.display().to_string().replace("gcc", "g++").as_str()
    );
    assert_eq!(cc["source"], "--cc for windows/amd64", "{cc}");
    assert!(cc["version"].as_str().unwrap().contains("GCC"), "{cc}");
    let command: Vec<&str> = artifact["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        command.contains(&"-ldflags=-extldflags=-static"),
        "{command:?}"
    );
    let env: Vec<&str> = artifact["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(env[2], "CGO_ENABLED=1");
    assert_eq!(env[3], format!("CC={}", gcc.display()));
}

#[test]
fn build_refuses_a_malformed_cc_and_cc_without_cgo() {
    let out_dir = tempfile::tempdir().unwrap();
    let out = build_cgo(out_dir.path())
        .args(["--cc", "windows/arm64"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--cc windows/arm64: `windows/arm64` is not GOOS/GOARCH=COMPILER"),
        "{stderr}"
    );
    let out = pegate()
        .args(["build", "--cc", "windows/arm64=clang"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--cgo"),
        "{}",
        transcript(&out)
    );
}

/// A compiler pinned in the build configuration's `[cgo.cc]` is used and named in the report;
/// `--cc` for the same target wins over it.
#[test]
fn build_cgo_takes_the_compiler_from_the_config_file_and_cc_wins_over_it() {
    if super::go_build_fails_here() {
        return;
    }
    let Some(gcc) = mingw_gcc() else {
        return;
    };
    let out_dir = tempfile::tempdir().unwrap();
    let config = out_dir.path().join("pegate-build.toml");
    std::fs::write(
        &config,
        format!(
            "[cgo.cc]\n\"windows/amd64\" = '{}'\n\"windows/arm64\" = \"/nonexistent/clang\"\n",
            gcc.display()
        ),
    )
    .unwrap();
    let dist = out_dir.path().join("dist");
    let out = build_cgo(&dist)
        .args([
            "--target",
            "windows/amd64",
            "--variant",
            "console",
            "--json",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let cc = &report["cells"][0]["artifact"]["c_compiler"];
    assert_eq!(cc["kind"], "override", "{cc}");
    assert_eq!(cc["cc"], gcc.display().to_string().as_str(), "{cc}");
    assert_eq!(
        cc["source"],
        format!("{} [cgo.cc] for windows/amd64", config.display()).as_str(),
        "{cc}"
    );
    // The flag wins over the file: a compiler that does not exist fails the cell, naming it.
    let out = build_cgo(&dist)
        .args([
            "--target",
            "windows/amd64",
            "--variant",
            "console",
            "--json",
            "--cc",
            "windows/amd64=/nonexistent/flag-gcc",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let text = report["cells"][0].to_string();
    assert_ne!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(text.contains("/nonexistent/flag-gcc"), "{text}");
}

#[test]
fn build_refuses_a_bad_config_file_naming_it() {
    let out_dir = tempfile::tempdir().unwrap();
    let config = out_dir.path().join("pegate-build.toml");
    for (text, want) in [
        (
            "[cgo.cc]\n\"amd64\" = \"gcc\"\n",
            "[cgo.cc] \"amd64\": invalid matrix: target `amd64` is not GOOS/GOARCH",
        ),
        ("[cgo.c]\n", "not a build configuration"),
        (
            "[cgo.cxx]\n\"windows/386\" = \"g++\"\n",
            "has no [cgo.cc] entry",
        ),
    ] {
        std::fs::write(&config, text).unwrap();
        let out = build_cgo(&out_dir.path().join("dist"))
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&config.display().to_string()), "{stderr}");
        assert!(stderr.contains(want), "{text}: {stderr}");
    }
}

/// MinGW-w64's gcc for windows/amd64 on PATH. Linux/x86_64 is where `.ci/setup` installs it,
/// so there its absence fails the test rather than skipping it (a CI that lost the package
/// would otherwise pass without a cgo build); elsewhere the test says why it skips.
fn mingw_gcc() -> Option<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("x86_64-w64-mingw32-gcc"))
            .find(|gcc| gcc.is_file())
    });
    if on_path.is_none() {
        if cfg!(target_os = "linux") && cfg!(target_arch = "x86_64") {
            panic!(
                "no x86_64-w64-mingw32-gcc on PATH: run .ci/setup (apt-get install gcc-mingw-w64-x86-64)"
            );
        }
        eprintln!("skipped: no x86_64-w64-mingw32-gcc (apt-get install gcc-mingw-w64-x86-64)");
    }
    on_path
}
