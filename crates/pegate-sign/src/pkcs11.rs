//! Keys on hardware tokens through PKCS#11 (`cryptoki`), named by an RFC 7512 `pkcs11:` URI.
//!
//! The URI's path attributes choose the token (`token`, `serial`, `slot-id`) and the private
//! key (`object` = its label, `id`, percent-encoded bytes); its query gives the module
//! (`module-path`, else the `PEGATE_PKCS11_MODULE` environment variable) and the PIN
//! (`pin-value`, `pin-source` = a file, else the password given to [`Pkcs11Signer::open`]).
//! The key never leaves the token: pegate sends it the DigestInfo (RSA, `CKM_RSA_PKCS`) or the
//! digest (ECDSA, `CKM_ECDSA`, whose `r || s` answer is re-encoded as DER). The certificates
//! come from files; the signer's is the one whose public key verifies a test signature made by
//! the token. A session is not shared between threads: signing goes through one lock.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cryptoki::context::{CInitializeArgs, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use openssl::x509::X509;
use zeroize::Zeroizing;

use crate::{Algorithm, Error, KeyKind, Password, Signer, SignerError, der, pkcs7};

/// The environment variable naming the PKCS#11 module when the URI has no `module-path`.
pub const MODULE_ENV: &str = "PEGATE_PKCS11_MODULE";

/// A signer whose private key stays on a PKCS#11 token.
pub struct Pkcs11Signer {
    session: Mutex<Session>,
    key: ObjectHandle,
    kind: KeyKind,
    certs: Vec<Vec<u8>>,
    // Kept alive (and finalized last) for the session's sake.
    _context: Pkcs11,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("kind", &self.kind)
            .field("certificates", &self.certs.len())
            .finish_non_exhaustive()
    }
}

/// An RFC 7512 URI, the parts pegate reads.
#[derive(Debug, Default)]
struct Uri {
    token: Option<String>,
    serial: Option<String>,
    slot_id: Option<u64>,
    object: Option<Vec<u8>>,
    id: Option<Vec<u8>>,
    module: Option<PathBuf>,
    pin_value: Option<Zeroizing<Vec<u8>>>,
    pin_source: Option<PathBuf>,
}

fn pct_decode(s: &str) -> Result<Vec<u8>, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0usize;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = b
                .get(i.saturating_add(1)..i.saturating_add(3))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-encoding in {s:?}"))?;
            out.push(hex);
            i = i.saturating_add(3);
        } else {
            out.push(c);
            i = i.saturating_add(1);
        }
    }
    Ok(out)
}

fn text(v: &str) -> Result<String, String> {
    String::from_utf8(pct_decode(v)?).map_err(|_| format!("{v:?} is not UTF-8"))
}

fn parse_uri(uri: &str) -> Result<Uri, String> {
    let rest = uri
        .strip_prefix("pkcs11:")
        .ok_or_else(|| "not a pkcs11: URI".to_owned())?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let mut u = Uri::default();
    for attr in path.split(';').filter(|a| !a.is_empty()) {
        let (k, v) = attr
            .split_once('=')
            .ok_or_else(|| format!("{attr:?} is not name=value"))?;
        match k {
            "token" => u.token = Some(text(v)?),
            "serial" => u.serial = Some(text(v)?),
            "slot-id" => {
                u.slot_id = Some(
                    v.parse()
                        .map_err(|_| format!("slot-id {v:?} is not a number"))?,
                )
            }
            "object" => u.object = Some(pct_decode(v)?),
            "id" => u.id = Some(pct_decode(v)?),
            "type" if v == "private" => {}
            "type" => return Err(format!("type={v}: pegate signs with a private key")),
            // Other path attributes (manufacturer, model, library-*) only narrow the choice.
            _ => {}
        }
    }
    for attr in query.split('&').filter(|a| !a.is_empty()) {
        let (k, v) = attr
            .split_once('=')
            .ok_or_else(|| format!("{attr:?} is not name=value"))?;
        match k {
            "module-path" => u.module = Some(PathBuf::from(text(v)?)),
            "pin-value" => u.pin_value = Some(Zeroizing::new(pct_decode(v)?)),
            "pin-source" => {
                let s = text(v)?;
                u.pin_source = Some(PathBuf::from(s.strip_prefix("file:").unwrap_or(&s)));
            }
            _ => {}
        }
    }
    Ok(u)
}

impl Pkcs11Signer {
    /// Opens the token and key `uri` names, logs in, and finds the signer's certificate among
    /// those of `cert_paths`.
    pub fn open(
        uri: &str,
        cert_paths: &[PathBuf],
        password: Option<&Password>,
    ) -> Result<Pkcs11Signer, Error> {
        let shown = redact(uri);
        let err = |reason: String| Error::Key {
            path: PathBuf::from(&shown),
            reason,
        };
        let u = parse_uri(uri).map_err(err)?;
        let module = u
            .module
            .clone()
            .or_else(|| std::env::var_os(MODULE_ENV).map(PathBuf::from))
            .ok_or_else(|| {
                err(format!(
                    "no PKCS#11 module: add module-path=... to the URI or set {MODULE_ENV}"
                ))
            })?;
        let ctx = Pkcs11::new(&module).map_err(|e| {
            err(format!(
                "cannot load the PKCS#11 module {}: {e}",
                module.display()
            ))
        })?;
        ctx.initialize(CInitializeArgs::OsThreads)
            .map_err(|e| err(format!("C_Initialize: {e}")))?;
        let slot = find_slot(&ctx, &u).map_err(err)?;
        let session = ctx
            .open_ro_session(slot)
            .map_err(|e| err(format!("C_OpenSession: {e}")))?;
        login(&session, &u, password, &err)?;
        let (key, kind) = find_key(&session, &u).map_err(err)?;
        let mut signer = Pkcs11Signer {
            session: Mutex::new(session),
            key,
            kind,
            certs: Vec::new(),
            _context: ctx,
        };
        signer.certs = signer.chain(&shown, cert_paths)?;
        Ok(signer)
    }

    /// The certificates of `cert_paths`, the one whose key is the token's first.
    fn chain(&self, shown: &str, cert_paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, Error> {
        let mut certs: Vec<X509> = Vec::new();
        for path in cert_paths {
            let data = std::fs::read(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            certs.extend(
                crate::key::read_certs(&data).map_err(|reason| Error::Certificate {
                    path: path.clone(),
                    reason,
                })?,
            );
        }
        if certs.is_empty() {
            return Err(Error::Certificate {
                path: PathBuf::from(shown),
                reason: "no certificate: a token key needs its certificate with --cert".to_owned(),
            });
        }
        let probe = [0x5au8; 32];
        let sig = self
            .sign_digest(Algorithm::Sha256, &probe)
            .map_err(|e| Error::Key {
                path: PathBuf::from(shown),
                reason: e.to_string(),
            })?;
        let at = certs
            .iter()
            .position(|c| verifies(c, &probe, &sig))
            .ok_or_else(|| Error::KeyMismatch {
                key: PathBuf::from(shown),
                certificates: cert_paths.to_vec(),
            })?;
        let leaf = certs.remove(at);
        let mut out: Vec<Vec<u8>> = Vec::new();
        for c in std::iter::once(&leaf).chain(certs.iter()) {
            let d = c.to_der().map_err(|e| Error::Certificate {
                path: PathBuf::from(shown),
                reason: e.to_string(),
            })?;
            if !out.contains(&d) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// Whether `cert`'s public key verifies `sig` over the SHA-256 digest `digest`.
fn verifies(cert: &X509, digest: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = cert.public_key() else {
        return false;
    };
    let check = || -> Result<bool, openssl::error::ErrorStack> {
        let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&key)?;
        ctx.verify_init()?;
        if key.id() == openssl::pkey::Id::RSA {
            ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1)?;
        }
        ctx.set_signature_md(openssl::md::Md::sha256())?;
        ctx.verify(digest, sig)
    };
    check().unwrap_or(false)
}

/// Logs in with the URI's PIN (`pin-value`, `pin-source`) or the password given, if any.
fn login(
    session: &Session,
    u: &Uri,
    password: Option<&Password>,
    err: &dyn Fn(String) -> Error,
) -> Result<(), Error> {
    let pin: Option<Zeroizing<Vec<u8>>> = match (&u.pin_value, &u.pin_source, password) {
        (Some(v), _, _) => Some(v.clone()),
        (None, Some(p), _) => Some(Zeroizing::new(Password::from_file(p)?.bytes().to_vec())),
        (None, None, Some(p)) => Some(Zeroizing::new(p.bytes().to_vec())),
        (None, None, None) => None,
    };
    if let Some(pin) = pin {
        let pin =
            String::from_utf8(pin.to_vec()).map_err(|_| err("the PIN is not UTF-8".into()))?;
        session
            .login(UserType::User, Some(&AuthPin::from(pin)))
            .map_err(|e| err(format!("login failed (wrong PIN?): {e}")))?;
    }
    Ok(())
}

/// The one private key the URI's `object` and `id` select, and its kind (RSA or EC).
fn find_key(session: &Session, u: &Uri) -> Result<(ObjectHandle, KeyKind), String> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if let Some(l) = &u.object {
        template.push(Attribute::Label(l.clone()));
    }
    if let Some(id) = &u.id {
        template.push(Attribute::Id(id.clone()));
    }
    let keys = session
        .find_objects(&template)
        .map_err(|e| format!("C_FindObjects: {e}"))?;
    let key = match keys.as_slice() {
        [k] => *k,
        [] => {
            return Err("no private key on the token matches the URI (is the PIN given?)".into());
        }
        _ => {
            return Err(format!(
                "{} private keys match the URI: add object= or id=",
                keys.len()
            ));
        }
    };
    let kind = match session
        .get_attributes(key, &[AttributeType::KeyType])
        .map_err(|e| format!("C_GetAttributeValue: {e}"))?
        .first()
    {
        Some(Attribute::KeyType(t)) if *t == KeyType::RSA => KeyKind::Rsa,
        Some(Attribute::KeyType(t)) if *t == KeyType::EC => KeyKind::Ecdsa,
        other => return Err(format!("the key is neither RSA nor EC ({other:?})")),
    };
    Ok((key, kind))
}

fn find_slot(ctx: &Pkcs11, u: &Uri) -> Result<cryptoki::slot::Slot, String> {
    let slots = ctx
        .get_slots_with_token()
        .map_err(|e| format!("C_GetSlotList: {e}"))?;
    let mut found = Vec::new();
    for slot in slots {
        if u.slot_id.is_some_and(|id| id != slot.id()) {
            continue;
        }
        let info = ctx
            .get_token_info(slot)
            .map_err(|e| format!("C_GetTokenInfo: {e}"))?;
        if u.token
            .as_deref()
            .is_some_and(|t| t != info.label().trim_end())
        {
            continue;
        }
        if u.serial
            .as_deref()
            .is_some_and(|s| s != info.serial_number().trim_end())
        {
            continue;
        }
        found.push(slot);
    }
    match found.as_slice() {
        [s] => Ok(*s),
        [] => Err("no token matches the URI".to_owned()),
        _ => Err(format!(
            "{} tokens match the URI: add token= or serial=",
            found.len()
        )),
    }
}

/// The URI without its PIN, for messages.
fn redact(uri: &str) -> String {
    match uri.split_once('?') {
        None => uri.to_owned(),
        Some((path, query)) => {
            let q: Vec<String> = query
                .split('&')
                .map(|a| {
                    if a.starts_with("pin-value=") {
                        "pin-value=***".to_owned()
                    } else {
                        a.to_owned()
                    }
                })
                .collect();
            format!("{path}?{}", q.join("&"))
        }
    }
}

impl Signer for Pkcs11Signer {
    fn certificates(&self) -> &[Vec<u8>] {
        &self.certs
    }

    fn key_kind(&self) -> KeyKind {
        self.kind
    }

    fn sign_digest(&self, alg: Algorithm, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        let session = self
            .session
            .lock()
            .map_err(|_| SignerError::new("the PKCS#11 session lock is poisoned"))?;
        match self.kind {
            KeyKind::Rsa => {
                let info = der::seq(&[&pkcs7::digest_algorithm(alg), &der::octets(digest)]);
                session
                    .sign(&Mechanism::RsaPkcs, self.key, &info)
                    .map_err(|e| SignerError::new(format!("C_Sign (CKM_RSA_PKCS): {e}")))
            }
            KeyKind::Ecdsa => {
                let rs = session
                    .sign(&Mechanism::Ecdsa, self.key, digest)
                    .map_err(|e| SignerError::new(format!("C_Sign (CKM_ECDSA): {e}")))?;
                Ok(ecdsa_der(&rs))
            }
        }
    }
}

/// `r || s` (PKCS#11's ECDSA signature) as a DER `Ecdsa-Sig-Value`.
fn ecdsa_der(rs: &[u8]) -> Vec<u8> {
    let (r, s) = rs.split_at(rs.len() / 2);
    der::seq(&[&der::unsigned_integer(r), &der::unsigned_integer(s)])
}

/// Whether `key` (a `--key` argument) is a `pkcs11:` URI rather than a file.
pub fn is_uri(key: &Path) -> bool {
    key.to_str().is_some_and(|s| s.starts_with("pkcs11:"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn uris_parse_as_rfc_7512_says() {
        let u = parse_uri(
            "pkcs11:token=My%20Token;object=signer;id=%01%02;type=private?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234",
        )
        .unwrap();
        assert_eq!(u.token.as_deref(), Some("My Token"));
        assert_eq!(u.object.as_deref(), Some(&b"signer"[..]));
        assert_eq!(u.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(
            u.module.as_deref(),
            Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert_eq!(
            u.pin_value.as_deref().map(Vec::as_slice),
            Some(&b"1234"[..])
        );
        assert!(parse_uri("pkcs11:type=public").is_err());
        assert!(parse_uri("file:x").is_err());
        assert_eq!(
            redact("pkcs11:token=t?pin-value=1234&module-path=/m.so"),
            "pkcs11:token=t?pin-value=***&module-path=/m.so"
        );
    }

    #[test]
    fn ecdsa_signatures_become_der() {
        // r = 0x80 (needs a leading zero), s = 0x01 (leading zeros dropped).
        let mut rs = vec![0u8; 64];
        rs[31] = 0x80;
        rs[63] = 0x01;
        assert_eq!(
            ecdsa_der(&rs),
            [0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01]
        );
    }
}
