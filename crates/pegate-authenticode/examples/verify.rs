//! Prints the signature report of each file: `cargo run -p pegate-authenticode --example verify -- [--trust CA.pem] FILE...`
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = pegate_authenticode::VerifyOptions::default();
    if args.first().map(String::as_str) == Some("--trust") {
        opts.trust =
            Some(pegate_authenticode::TrustStore::from_pem_file(args[1].as_ref()).unwrap());
        args.drain(..2);
    }
    for f in args {
        match pegate_authenticode::verify_path(f.as_ref(), &opts) {
            Ok(r) => println!(
                "{f}: {:?} sigs={} errors={:?} differ={} {}",
                r.status,
                r.signatures.len(),
                r.errors,
                r.methods_differ,
                r.signatures
                    .iter()
                    .map(|s| format!(
                        "[{} match={} err={:?} trust={:?} ts={}]",
                        s.digest_algorithm
                            .as_ref()
                            .map(ToString::to_string)
                            .unwrap_or_default(),
                        s.digest_matches,
                        s.error,
                        s.trust
                            .as_ref()
                            .map(|t| (t.trusted(), t.message().to_string())),
                        s.timestamps.len()
                    ))
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Err(e) => println!("{f}: ERR {e}"),
        }
    }
}
