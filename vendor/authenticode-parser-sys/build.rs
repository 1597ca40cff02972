// pegate's copy of authenticode-parser-sys 0.5.0's build script (see README.pegate.md): the C
// library is compiled against the headers of the OpenSSL that `openssl-sys` links (its
// `DEP_OPENSSL_INCLUDE`: the vendored build's include dir, or the system's), and linking libcrypto
// is left to `openssl-sys`. Upstream looked for headers only in OPENSSL_DIR / OPENSSL_INCLUDE_DIR
// or the C compiler's default path, so a cross build (x86_64-pc-windows-gnu) found none, and a
// native vendored build compiled against the system's headers while linking the vendored library.
use std::path::PathBuf;

fn main() {
    let libdir = PathBuf::from("authenticode-parser");
    let srcdir = libdir.join("src");

    let mut builder = cc::Build::new();

    #[cfg(target_endian = "big")]
    builder.define("WORDS_BIGENDIAN", "");

    builder
        .file(srcdir.join("authenticode.c"))
        .file(srcdir.join("helper.c"))
        .file(srcdir.join("structs.c"))
        .file(srcdir.join("countersignature.c"))
        .file(srcdir.join("certificate.c"))
        .include(libdir.join("include"))
        // The library still calls TS_VERIFY_CTX_set_* (deprecated since OpenSSL 3.4): no warnings.
        .define("OPENSSL_SUPPRESS_DEPRECATED", None)
        // pegate reads neither a certificate's public key nor its SHA-1 fingerprint: skip them
        // (see README.pegate.md).
        .define("PEGATE_LEAN_CERTIFICATES", None);
    println!("cargo:rerun-if-env-changed=DEP_OPENSSL_INCLUDE");
    // Any rerun-if line turns off cargo's default of rerunning on every change in the package:
    // name the C sources and this script, or a fix to the C would not be compiled.
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=authenticode-parser/src");
    println!("cargo:rerun-if-changed=authenticode-parser/include");
    if let Some(include) = std::env::var_os("DEP_OPENSSL_INCLUDE") {
        for dir in std::env::split_paths(&include) {
            builder.include(dir);
        }
    }
    builder.compile("authenticode-parser");
}
