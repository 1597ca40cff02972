//! Every input a fuzz target failed on, replayed through that target's own check
//! (`fuzz/fuzz_targets/checks.rs`, the code the libFuzzer binaries run): a file in
//! `fixtures/fuzz-regressions/<target>/` is a minimized reproducer of a finding, named after
//! what it found (see `fuzz/README.md`). Adding a case is adding a file.

#[path = "../../fuzz/fuzz_targets/checks.rs"]
mod checks;

use crate::root;

/// A target's name (its directory of reproducers) and its check.
type Target = (&'static str, fn(&[u8]));

#[test]
fn fuzz_reproducers_pass_their_target_check() {
    let targets: [Target; 4] = [
        ("pe_view", checks::pe_view),
        ("authenticode", checks::authenticode),
        ("buildinfo", checks::buildinfo),
        ("summary", checks::summary),
    ];
    let mut replayed = 0;
    for (target, check) in targets {
        let dir = root().join("fixtures/fuzz-regressions").join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        files.sort();
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(
                outcome.is_ok(),
                "{target} check fails on {}",
                file.display()
            );
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no reproducer found under fixtures/fuzz-regressions"
    );
}
