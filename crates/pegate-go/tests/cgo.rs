//! CGO cells: `fixtures/hello-cgo` (Go → C → the Windows API and the C runtime, plus a C++
//! static initializer) built for windows/amd64, windows/386 and windows/arm64 with the C cross
//! compiler pegate picks per target (MinGW-w64 where Debian's is installed, else the pinned zig;
//! arm64 always zig), inspected and snapshotted per cell, the amd64 cell run under Wine, and a
//! dynamically linked cell whose missing `libstdc++-6.dll` stops it at start-up.
//!
//! Kept small on purpose (one zig cell): a zig cell compiles MinGW's CRT and libc++ the first
//! time (1–1.7 min on an idle two-core machine, far longer on a loaded one); Zig's cache and
//! GOCACHE live under `target/pegate-go`, so reruns take seconds.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pegate_facts::{GoArch, GoOs};
use pegate_go::cgo::{CompilerKind, Plan, plan};
use pegate_go::matrix::{self, Artifact, CellErrorKind, MatrixReport, MatrixSpec, Target, Variant};
use pegate_go::run::{self, RunOptions, RunStatus};
use pegate_go::toolchain::{self, Toolchain};
use serde::Serialize;

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
}

fn cache() -> PathBuf {
    workspace().join("target").join("pegate-go")
}

fn fixture() -> PathBuf {
    workspace().join("fixtures").join("hello-cgo")
}

/// Under Wine 8 `go build` writes the binary and then exits 1 removing its temp dir (`unlinkat
/// ... a.out.exe: Invalid function`), so tests of Go builds stop, saying so; real Windows runs them.
fn go_build_fails_here() -> bool {
    let wine = cfg!(windows) && Path::new(r"C:\windows\system32\winecfg.exe").exists();
    if wine {
        eprintln!(
            "skipped under Wine: Wine 8's go build writes the binary, then exits 1 (unlinkat ... a.out.exe: Invalid function)"
        );
    }
    wine
}

struct Built {
    report: MatrixReport,
    /// Holds the artifacts until the test binary exits.
    _out: tempfile::TempDir,
}

fn go() -> Toolchain {
    toolchain::provision(toolchain::DEFAULT_GO_VERSION, &cache()).unwrap()
}

fn spec(out: &Path) -> MatrixSpec {
    let mut spec = MatrixSpec::reference(fixture(), out, cache());
    spec.cgo = true;
    spec.variants = vec![Variant::Console];
    spec
}

/// The three reference targets, console variant, built once per test binary.
fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let tc = go();
        let out = tempfile::tempdir().unwrap();
        let spec = spec(out.path());
        let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
        for cell in &report.cells {
            eprintln!(
                "{}: {:.1} s ({:?})",
                cell.cell,
                cell.elapsed_ms as f64 / 1000.0,
                cell.artifact()
                    .and_then(|a| a.c_compiler.as_ref())
                    .map(|c| c.kind)
            );
        }
        assert_eq!(report.failures().count(), 0, "{report:#?}");
        Built { report, _out: out }
    })
}

fn artifact(goarch: GoArch) -> &'static Artifact {
    built()
        .report
        .artifacts()
        .find(|a| a.cell.goarch == goarch)
        .unwrap()
}

fn mingw_installed(goarch: GoArch) -> bool {
    matches!(
        plan(
            &Target::windows(goarch),
            &pegate_go::cgo::CgoOptions::default(),
            &cache()
        ),
        Plan::Mingw { .. }
    )
}

/// The DLLs `file` imports, by `llvm-readobj --coff-imports` (the differential test's oracle);
/// `None` when llvm-readobj is not installed (`.ci/setup` installs it).
fn imported_dlls(file: &Path) -> Option<Vec<String>> {
    let out = std::process::Command::new("llvm-readobj")
        .arg("--coff-imports")
        .arg(file)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut dlls: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Name: "))
        .map(str::to_owned)
        .collect();
    dlls.sort_unstable_by_key(|d| d.to_ascii_lowercase());
    dlls.dedup();
    Some(dlls)
}

/// Part of every Windows: the DLLs a program linked statically against its C runtime may import.
fn is_system_dll(dll: &str) -> bool {
    let dll = dll.to_ascii_lowercase();
    dll.starts_with("api-ms-win-")
        || [
            "kernel32.dll",
            "msvcrt.dll",
            "ucrtbase.dll",
            "ntdll.dll",
            "advapi32.dll",
            "user32.dll",
            "ws2_32.dll",
            "winmm.dll",
            "bcrypt.dll",
        ]
        .contains(&dll.as_str())
}

#[test]
fn every_cgo_cell_builds_with_the_compiler_pegate_chose_and_needs_no_runtime_dll() {
    if go_build_fails_here() {
        return;
    }
    for goarch in [GoArch::Amd64, GoArch::I386, GoArch::Arm64] {
        let a = artifact(goarch);
        let cc = a.c_compiler.as_ref().unwrap();
        let want = if goarch != GoArch::Arm64 && mingw_installed(goarch) {
            CompilerKind::Mingw
        } else {
            CompilerKind::Zig
        };
        assert_eq!(cc.kind, want, "{goarch}: {cc:?}");
        assert!(!cc.version.starts_with("unknown"), "{goarch}: {cc:?}");
        if cc.kind == CompilerKind::Zig {
            assert_eq!(cc.version, toolchain::DEFAULT_ZIG_VERSION);
            let triple = pegate_go::cgo::zig_triple(goarch).unwrap();
            assert!(cc.cc.ends_with(&format!(" cc -target {triple}")), "{cc:?}");
            assert!(
                cc.cxx.ends_with(&format!(" c++ -target {triple}")),
                "{cc:?}"
            );
        }
        // The cell's recorded environment says how to redo it, compiler included.
        assert!(a.env.contains(&"CGO_ENABLED=1".to_owned()), "{:?}", a.env);
        assert!(a.env.contains(&format!("CC={}", cc.cc)), "{:?}", a.env);
        assert!(
            a.command
                .iter()
                .any(|arg| arg == "-ldflags=-extldflags=-static"),
            "{:?}",
            a.command
        );
        // Statically linked C runtime: only Windows' own DLLs are imported.
        if let Some(dlls) = imported_dlls(&a.path) {
            assert!(dlls.iter().any(|d| d.eq_ignore_ascii_case("kernel32.dll")));
            let foreign: Vec<_> = dlls.iter().filter(|d| !is_system_dll(d)).collect();
            assert!(
                foreign.is_empty(),
                "{goarch} imports {foreign:?} (all: {dlls:?})"
            );
        } else {
            eprintln!("llvm-readobj not installed: import tables not checked");
        }
    }
}

#[derive(Serialize)]
struct CgoSnapshot {
    cell: String,
    compiler: String,
    describe: String,
    summary: pegate_pe::PeSummary,
    build_info: Option<pegate_go::buildinfo::BuildInfo>,
    findings: Vec<pegate_go::crosscheck::Finding>,
}

/// One YAML file per cell and compiler kind, redacted like the pure-Go matrix snapshots (what
/// depends on code size and layout) plus the timestamp a MinGW or zig link may write.
#[test]
fn every_cgo_cell_snapshot() {
    if go_build_fails_here() {
        return;
    }
    insta::with_settings!({ snapshot_path => "cgo_snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        for a in built().report.artifacts() {
            let data = std::fs::read(&a.path).unwrap();
            let view = pegate_pe::PeView::parse(&data).unwrap();
            let summary = pegate_pe::summarize(&view);
            let build_info = pegate_go::buildinfo::read(&view).unwrap();
            let findings = pegate_go::crosscheck::check(&summary, build_info.as_ref().unwrap());
            assert!(
                findings.iter().all(|f| f.status != pegate_go::crosscheck::Outcome::Fail),
                "{findings:#?}"
            );
            let cc = a.c_compiler.as_ref().unwrap();
            let kind = format!("{:?}", cc.kind).to_lowercase();
            let snap = CgoSnapshot {
                cell: a.cell.name(),
                compiler: format!("{kind} {}", cc.version),
                describe: pegate_pe::describe(&summary),
                summary,
                build_info,
                findings,
            };
            // lld (zig) writes a hash of the output as the COFF timestamp (/Brepro), and zig
            // cells are not byte-reproducible (see the README's CGO section); MinGW writes 0.
            let mut settings = insta::Settings::clone_current();
            if cc.kind == CompilerKind::Zig {
                settings.add_redaction(".summary.timestamp", "[lld /Brepro hash]");
            }
            let _guard = settings.bind_to_scope();
            insta::assert_yaml_snapshot!(format!("{}-{kind}", a.cell.name()), snap, {
                ".summary.overlay.offset" => "[offset]",
                ".summary.overlay.size" => "[size]",
                ".summary.file_size" => "[size]",
                ".summary.size_of_image" => "[size]",
                ".summary.entry_point" => "[rva]",
                ".summary.number_of_symbols" => "[count]",
                ".summary.checksum.computed" => "[checksum]",
                ".summary.sections[].virtual_address" => "[rva]",
                ".summary.sections[].virtual_size" => "[size]",
                ".summary.sections[].raw_offset" => "[offset]",
                ".summary.sections[].raw_size" => "[size]",
                ".summary.data_directories[].virtual_address" => "[rva]",
                ".summary.data_directories[].size" => "[size]",
                ".build_info.build_id" => "[build id]",
                ".build_info.offset" => "[offset]",
            });
        }
    });
}

/// The Wine prefix to run in: `WINEPREFIX`, else the one `cargo xtask wine-prefix` made under
/// the target directory (with the bcryptprimitives stub every Go >= 1.22 program needs on Wine 8).
fn wine_prefix() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WINEPREFIX").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let prefix = target.join("wine-prefix");
    prefix
        .join("drive_c/windows/system32/bcryptprimitives.dll")
        .is_file()
        .then_some(prefix)
}

/// Run options for this host, in the test prefix when running under Wine; `None` (and why on
/// stderr) when the amd64 cell cannot run here.
fn run_options() -> Option<RunOptions> {
    let mut opts = RunOptions::detect();
    // Linux/x86_64 is where `.ci/setup` installs Wine and `.ci/run` makes the prefix: there a
    // missing one fails the test, so a CI that lost it cannot pass without running the cell.
    let required = cfg!(target_os = "linux") && cfg!(target_arch = "x86_64");
    if let Err(reason) = run::select_runner(&opts.host, &Target::windows(GoArch::Amd64)) {
        assert!(!required, "{reason}: run .ci/setup");
        eprintln!("skipped: {reason}");
        return None;
    }
    if cfg!(unix) {
        let Some(prefix) = wine_prefix() else {
            let why = "no Wine prefix with the bcryptprimitives stub; run `cargo xtask wine-prefix` or set WINEPREFIX";
            assert!(!required, "{why}");
            eprintln!("skipped: {why}");
            return None;
        };
        opts.env
            .push(("WINEPREFIX".to_owned(), prefix.display().to_string()));
        opts.env
            .push(("WINEDEBUG".to_owned(), "-all,err+module".to_owned()));
    }
    Some(opts)
}

#[test]
fn the_amd64_cgo_cell_starts_and_its_c_and_cxx_parts_answer() {
    if go_build_fails_here() {
        return;
    }
    let Some(opts) = run_options() else { return };
    let a = artifact(GoArch::Amd64);
    let result = run::run_target(&a.path, &Target::windows(GoArch::Amd64), &opts);
    assert_eq!(result.status, RunStatus::Passed, "{result:#?}");
    assert_eq!(
        result.stdout.replace("\r\n", "\n"),
        "Hello, Windows, from Go and C!\n\
         Hello from C (printf, 64-bit)\n\
         C: GetTickCount64, GetVersionExW and the C++ static initializer all answered\n",
        "{result:#?}"
    );
}

/// Linked against the C++ runtime's DLL (`--cgo-dynamic`) and run where that DLL is not: the
/// loader refuses to start it, naming the DLL, as a clean Windows does.
#[test]
fn a_dynamically_linked_cell_fails_at_start_naming_the_missing_dll() {
    if go_build_fails_here() {
        return;
    }
    if !mingw_installed(GoArch::Amd64) {
        if cfg!(target_os = "linux") && cfg!(target_arch = "x86_64") {
            panic!("Debian's MinGW-w64 (g++-mingw-w64-x86-64) is missing: run .ci/setup");
        }
        eprintln!(
            "skipped: needs Debian's MinGW-w64 (g++-mingw-w64-x86-64), whose libstdc++-6.dll a dynamic link imports"
        );
        return;
    }
    let tc = go();
    let out = tempfile::tempdir().unwrap();
    let mut spec = spec(out.path());
    spec.targets = vec![Target::windows(GoArch::Amd64)];
    spec.cgo_options.static_runtime = false;
    // An explicit compiler, as `--cc windows/amd64=x86_64-w64-mingw32-gcc` gives it.
    spec.cgo_options
        .add_override("windows/amd64=x86_64-w64-mingw32-gcc", "--cc")
        .unwrap();
    spec.run = run_options();
    let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
    let cell = &report.cells[0];
    let a = cell.artifact().unwrap_or_else(|| panic!("{cell:#?}"));
    let cc = a.c_compiler.as_ref().unwrap();
    assert_eq!(cc.kind, CompilerKind::Override);
    assert_eq!(cc.cxx, "x86_64-w64-mingw32-g++");
    assert_eq!(cc.source, "--cc for windows/amd64");
    assert!(
        !a.command.iter().any(|arg| arg.contains("-static")),
        "{:?}",
        a.command
    );
    if let Some(dlls) = imported_dlls(&a.path) {
        assert!(dlls.iter().any(|d| d == "libstdc++-6.dll"), "{dlls:?}");
    }
    let Some(run) = &cell.run else { return };
    assert_eq!(run.status, RunStatus::Failed, "{run:#?}");
    let reason = run.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("libstdc++-6.dll was not found"),
        "{run:#?}"
    );
    assert!(
        run.summary().contains("libstdc++-6.dll"),
        "{}",
        run.summary()
    );
    assert!(!report.all_ok());
}

#[test]
fn a_target_no_compiler_serves_fails_its_cell_saying_what_to_install() {
    if go_build_fails_here() {
        return;
    }
    let tc = go();
    let out = tempfile::tempdir().unwrap();
    let mut spec = spec(out.path());
    spec.targets = vec![
        Target::windows(GoArch::Arm64),
        Target::windows(GoArch::I386),
    ];
    spec.cgo_options.zig = false;
    spec.cgo_options.mingw = false;
    let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
    for cell in &report.cells {
        let error = cell.error().unwrap();
        assert_eq!(error.kind, CellErrorKind::NoCCompiler, "{error:?}");
        assert!(
            error
                .message
                .contains(&format!("no C compiler for windows/{}", cell.cell.goarch)),
            "{}",
            error.message
        );
        assert!(error.message.contains("--cc windows/"), "{}", error.message);
    }
    let i686 = report
        .cells
        .iter()
        .find(|c| c.cell.goarch == GoArch::I386)
        .unwrap();
    assert!(
        i686.error()
            .unwrap()
            .message
            .contains("apt-get install gcc-mingw-w64-i686 g++-mingw-w64-i686")
    );
    // Nothing was left in the output directory.
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

/// The linker flags of cgo cells: the C runtime static unless asked otherwise, and a GUI cell's
/// subsystem given to the external linker too (`zig cc` drops Go's `-mwindows`; the arm64 GUI
/// cell came out WINDOWS_CUI without it).
#[test]
fn cgo_cells_pass_static_and_the_gui_subsystem_to_the_external_linker() {
    let out = Path::new("/out/x.exe");
    let cell = |variant| pegate_go::matrix::Cell {
        go_version: "go1.27.3".to_owned(),
        goos: GoOs::Windows,
        goarch: GoArch::Arm64,
        variant,
    };
    let ldflags = |spec: &MatrixSpec, variant| {
        spec.go_args(&cell(variant), out)
            .into_iter()
            .find(|a| a.starts_with("-ldflags="))
    };
    let mut spec = spec(Path::new("/out"));
    let cases = [
        (Variant::Console, Some("-ldflags=-extldflags=-static")),
        (
            Variant::Gui,
            Some("-ldflags=-H=windowsgui '-extldflags=-static -Wl,--subsystem,windows'"),
        ),
        (
            Variant::Stripped,
            Some("-ldflags=-s -w -extldflags=-static"),
        ),
    ];
    for (variant, want) in cases {
        assert_eq!(ldflags(&spec, variant).as_deref(), want, "{variant}");
    }
    spec.cgo_options.static_runtime = false;
    assert_eq!(ldflags(&spec, Variant::Console), None);
    assert_eq!(
        ldflags(&spec, Variant::Gui).as_deref(),
        Some("-ldflags=-H=windowsgui -extldflags=-Wl,--subsystem,windows")
    );
    // Pure-Go cells keep their flags as they always were.
    spec.cgo = false;
    assert_eq!(
        ldflags(&spec, Variant::Gui).as_deref(),
        Some("-ldflags=-H=windowsgui")
    );
    assert_eq!(ldflags(&spec, Variant::Console), None);
}
