//! The host checks a non-Windows machine gets in place of the registry-backed ones: the longest
//! path a Windows runner would see under the module cache, and the system root certificates.

use std::path::{Path, PathBuf};

use super::{Check, CheckId, DoctorEnv, MAX_PATH, Status, check};

pub(super) fn longest_relative(dir: &Path, budget: usize) -> Option<(usize, PathBuf)> {
    let mut best: Option<(usize, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen = seen.saturating_add(1);
            if seen > budget {
                return best;
            }
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap_or(&p).to_path_buf();
            let len = rel.as_os_str().len();
            if best.as_ref().is_none_or(|(l, _)| len > *l) {
                best = Some((len, rel));
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    best
}

pub(super) fn path_length(env: &DoctorEnv) -> Check {
    let modcache = env
        .setting("GOMODCACHE")
        .filter(|m| !m.is_empty())
        .map(PathBuf::from);
    let mut worst: Option<(usize, String)> = None;
    for (base, prefix) in [
        (modcache, env.windows_modcache_prefix.clone()),
        (
            Some(env.project_dir.clone()),
            r"D:\a\project\project\".to_owned(),
        ),
    ] {
        let Some(base) = base else { continue };
        if let Some((len, rel)) = longest_relative(&base, 50_000) {
            let total = prefix.len().saturating_add(len);
            if worst.as_ref().is_none_or(|(l, _)| total > *l) {
                worst = Some((
                    total,
                    format!("{prefix}{}", rel.display().to_string().replace('/', "\\")),
                ));
            }
        }
    }
    match worst {
        Some((len, example)) if len > MAX_PATH => check(
            CheckId::WindowsPathLength,
            Status::Warn,
            format!(
                "a Windows runner would see {len}-character paths (> {MAX_PATH}), e.g. {example}"
            ),
            "enable LongPathsEnabled on Windows runners, or set a short GOMODCACHE (e.g. C:\\m)",
        ),
        Some((len, _)) => check(
            CheckId::WindowsPathLength,
            Status::Pass,
            format!("longest path on a Windows runner: about {len} characters"),
            "",
        ),
        None => check(
            CheckId::WindowsPathLength,
            Status::Pass,
            "no module cache or project files to measure",
            "",
        ),
    }
}

pub(super) fn certs(env: &DoctorEnv) -> Check {
    // Go's crypto/x509 honours SSL_CERT_FILE first, then SSL_CERT_DIR.
    let explicit = ["SSL_CERT_FILE", "SSL_CERT_DIR"].iter().find_map(|k| {
        env.vars
            .get(*k)
            .filter(|v| !v.is_empty())
            .map(|v| (*k, PathBuf::from(v)))
    });
    if let Some((key, path)) = explicit {
        let usable = if key == "SSL_CERT_FILE" {
            path.is_file()
        } else {
            std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some())
        };
        return if usable {
            check(
                CheckId::CertsSystemRoots,
                Status::Pass,
                format!("{key}={}", path.display()),
                "",
            )
        } else {
            check(
                CheckId::CertsSystemRoots,
                Status::Fail,
                format!("{key}={} does not exist or is empty", path.display()),
                "point it at a CA bundle, or unset it so Go finds the system's",
            )
        };
    }
    match env.cert_locations.iter().find(|p| p.is_file()) {
        Some(p) => check(
            CheckId::CertsSystemRoots,
            Status::Pass,
            format!("system roots at {}", p.display()),
            "",
        ),
        None => check(
            CheckId::CertsSystemRoots,
            Status::Fail,
            "no system root certificates: go get fails with \"x509: system root pool is not available\"",
            "install the CA bundle (apt-get install ca-certificates) or set SSL_CERT_FILE",
        ),
    }
}
