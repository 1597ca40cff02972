//! `cargo xtask verify --sign-test`: sign the matrix with a throwaway certificate, then verify
//! every cell and gate it.
//!
//! A root CA and a code-signing leaf are made with `sign-fixtures`' PKI code (the `openssl`
//! command) in `<out>/sign-test/`; every artifact is signed in place right after the matrix is
//! built and before anything reads its SHA-256, through [`pegate::release::sign_matrix`], the
//! call `pegate build --sign` makes. Each cell is then inspected with pegate's verifier with the
//! throwaway CA as the only trust (it must be `signed-valid`) and judged by a policy whose
//! signature rules are on (`signature.required` with the signer's subject, `signature.digest`
//! forbidding SHA-1 and MD5) plus `checksum.match` against the image hashes
//! (`checksums.authenticode.txt`, which is written to `<out>/`): every rule must pass.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use pegate::authenticode::TrustStore;
use pegate::go::matrix::MatrixReport;
use pegate::policy::{self, Outcome, Policy};
use pegate::release::{MatrixSigning, SignedArtifact};
use pegate::sign::{FileSigner, SignOptions};
use serde::Serialize;

/// The subject (CN) of the throwaway leaf `sign_fixtures::make_pki` makes.
const SIGNER_CN: &str = "pegate test code signing";

/// The gate policy: the throwaway CA as the trust bundle (`signature.required` judges the chain
/// only when the policy names one) and the signature rules on for every artifact.
fn policy_text(ca: &Path) -> String {
    let trust = toml::Value::String(ca.display().to_string());
    format!(
        "trust = {trust}\n[[artifact]]\nglob = \"*\"\nsignature = \"required\"\n\
         signer_subject = \"{SIGNER_CN}\"\nforbid_signature_digests = [\"sha1\", \"md5\"]\n"
    )
}

/// The throwaway signer, its CA as the only trust, and the policy.
pub(crate) struct SignTest {
    /// Where the PKI lives (`ca.pem`, `leaf.pem`, `leaf.key`).
    pub(crate) dir: PathBuf,
    signer: FileSigner,
    opts: SignOptions,
    trust: TrustStore,
    policy: Policy,
}

/// What `--sign-test` found for one cell: it goes into the report as `signature`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SignCheck {
    /// The Authenticode image hash signed (also the line in `checksums.authenticode.txt`).
    pub(crate) image_hash: String,
    /// pegate's verdict with the throwaway CA as trust (`signed-valid`).
    pub(crate) status: String,
    /// The gate's results for this artifact.
    pub(crate) gate: Vec<policy::RuleResult>,
}

impl SignCheck {
    /// The gate's failures, `rule: message`, joined; empty when it passed.
    pub(crate) fn gate_failures(&self) -> String {
        let failed: Vec<String> = self
            .gate
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .map(|r| format!("{}: {}", r.rule.as_str(), r.message))
            .collect();
        failed.join("; ")
    }

    /// `signed-valid, gate 4/4` for the table.
    pub(crate) fn summary(&self) -> String {
        let applied = self
            .gate
            .iter()
            .filter(|r| r.outcome != Outcome::NotApplicable);
        let passed = applied
            .clone()
            .filter(|r| r.outcome == Outcome::Pass)
            .count();
        format!("{}, gate {passed}/{}", self.status, applied.count())
    }
}

impl SignTest {
    /// Makes the throwaway PKI in `dir` (emptied first) and opens its leaf as the signer.
    pub(crate) fn new(dir: &Path) -> anyhow::Result<SignTest> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("remove {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        crate::sign_fixtures::make_pki(dir)
            .context("make the throwaway CA and code-signing certificate (needs `openssl`)")?;
        let signer = FileSigner::open(&dir.join("leaf.key"), &[dir.join("leaf.pem")], None)
            .context("open the throwaway signer")?;
        let trust = TrustStore::from_pem_file(&dir.join("ca.pem"))
            .context("load the throwaway CA as trust")?;
        Ok(SignTest {
            dir: dir.to_path_buf(),
            signer,
            opts: SignOptions::default(),
            trust,
            policy: Policy::from_toml(&policy_text(&dir.join("ca.pem")))
                .context("the --sign-test policy")?,
        })
    }

    /// Signs every artifact of `report` in place (the report's SHA-256 and size become the
    /// signed files').
    pub(crate) fn sign(&self, report: &mut MatrixReport) -> anyhow::Result<MatrixSigning> {
        Ok(pegate::release::sign_matrix(
            report,
            &self.signer,
            &self.opts,
        )?)
    }

    /// Signs one file in place (the tests use it on fixtures).
    #[cfg(test)]
    fn sign_file(&self, path: &Path) -> anyhow::Result<SignedArtifact> {
        let outcome = pegate::release::sign_file(path, None, &self.signer, &self.opts)?;
        Ok(SignedArtifact::new(outcome.output, outcome.image_digest))
    }

    /// Verifies `signed` with the throwaway CA as trust and gates it, its checksum looked up in
    /// `image_hashes` (`checksums.authenticode.txt`, parsed).
    pub(crate) fn check(
        &self,
        signed: &SignedArtifact,
        image_hashes: &policy::ChecksumList,
    ) -> SignCheck {
        let opts = pegate::artifact::Options::default()
            .with_trust(Some(self.trust.clone()))
            .with_sha256(true);
        let report = pegate::artifact::inspect(&signed.path, &opts);
        let mut facts = report.facts();
        facts.path = signed
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // What `pegate gate` adds for a file whose SHA-256 is not its checksum line.
        if let Ok(Some(h)) = pegate::release::presigning_hashes(&signed.path) {
            facts.image_sha256 = Some(h.image_sha256);
            facts.unsigned_sha256 = h.unsigned_sha256;
        }
        let status = facts
            .signature_status
            .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let context = policy::Context::new().with_now(now);
        let gate = self
            .policy
            .evaluate_with(std::slice::from_ref(&facts), Some(image_hashes), &context)
            .results;
        SignCheck {
            image_hash: signed.image_digest.clone(),
            status,
            gate,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/authenticode")
            .join(name)
    }

    /// The PKI is made with the `openssl` command, which `.ci/setup` installs on Linux; the
    /// Windows suite (under Wine) has none, so there the test says so and skips.
    pub(crate) fn no_openssl_here() -> bool {
        let missing = cfg!(windows)
            && std::process::Command::new("openssl")
                .arg("version")
                .output()
                .is_err();
        if missing {
            eprintln!("skipped: no `openssl` command on this Windows host to make the test CA");
        }
        missing
    }

    fn rule<'a>(check: &'a SignCheck, id: &str) -> &'a policy::RuleResult {
        check
            .gate
            .iter()
            .find(|r| r.rule.as_str() == id)
            .unwrap_or_else(|| panic!("no {id} in {:?}", check.gate))
    }

    /// The pieces of `--sign-test` on a Go fixture: signed with the throwaway certificate it is
    /// signed-valid and every gate rule passes; the same file unsigned, or signed by a CA the
    /// test does not trust, fails `signature.required`.
    #[test]
    fn signed_cells_verify_and_pass_the_gate_and_others_do_not() {
        if no_openssl_here() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let test = SignTest::new(&dir.path().join("pki")).unwrap();

        let exe = dir.path().join("hello-windows-amd64.exe");
        std::fs::copy(fixture("amd64-unsigned.exe"), &exe).unwrap();
        let signed = test.sign_file(&exe).unwrap();
        let text = pegate::release::image_hash_lines(std::slice::from_ref(&signed));
        let hashes = policy::parse_checksums(&text).unwrap();
        let check = test.check(&signed, &hashes);
        assert_eq!(check.status, "signed-valid", "{check:?}");
        assert_eq!(check.gate_failures(), "", "{check:?}");
        assert_eq!(
            rule(&check, "signature.required").outcome,
            Outcome::Pass,
            "{check:?}"
        );
        assert_eq!(
            rule(&check, "signature.signer").outcome,
            Outcome::Pass,
            "{check:?}"
        );
        let checksum = rule(&check, "checksum.match");
        assert_eq!(checksum.outcome, Outcome::Pass, "{check:?}");
        assert!(checksum.message.contains("image hash"), "{checksum:?}");
        let applied: Vec<&str> = check
            .gate
            .iter()
            .filter(|r| r.outcome != Outcome::NotApplicable)
            .map(|r| r.rule.as_str())
            .collect();
        assert_eq!(
            applied,
            [
                "artifact.readable",
                "signature.required",
                "signature.signer",
                "signature.digest",
                "checksum.match"
            ],
            "{check:?}"
        );
        assert_eq!(check.summary(), "signed-valid, gate 5/5");

        // The unsigned fixture: no signature, and its SHA-256 is not the signed file's image hash.
        let unsigned = SignedArtifact::new(fixture("amd64-unsigned.exe"), signed.image_digest);
        let names = text.replace("hello-windows-amd64.exe", "amd64-unsigned.exe");
        let check = test.check(&unsigned, &policy::parse_checksums(&names).unwrap());
        assert_eq!(check.status, "unsigned");
        assert_eq!(
            rule(&check, "signature.required").outcome,
            Outcome::Fail,
            "{check:?}"
        );

        // Signed by sign-fixtures' CA, which this run does not trust.
        let other = SignedArtifact::new(fixture("amd64-signed.exe"), String::new());
        let check = test.check(&other, &policy::ChecksumList::default());
        assert_eq!(check.status, "signed-untrusted", "{check:?}");
        assert_eq!(
            rule(&check, "signature.required").outcome,
            Outcome::Fail,
            "{check:?}"
        );
        assert_eq!(
            rule(&check, "checksum.match").outcome,
            Outcome::Fail,
            "{check:?}"
        );
    }
}
