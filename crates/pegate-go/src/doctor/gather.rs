//! Reads the [`WindowsFacts`] from the live machine: the registry (`RegGetValueW`) and the ROOT
//! certificate store (crypt32). Windows only; all of pegate-go's `unsafe` is here.
//!
//! Every call is checked and a failure leaves the fact empty (a missing value, an unopenable
//! store), which the checks report as such instead of failing the whole doctor run.
#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::windows::ffi::OsStringExt;

use windows_sys::Win32::Foundation::{ERROR_MORE_DATA, ERROR_SUCCESS};
use windows_sys::Win32::Security::Cryptography::{
    CERT_CONTEXT, CERT_NAME_SIMPLE_DISPLAY_TYPE, CertCloseStore, CertEnumCertificatesInStore,
    CertGetNameStringW, CertOpenSystemStoreW,
};
use windows_sys::Win32::System::Registry::{
    HKEY, HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE, REG_EXPAND_SZ, REG_VALUE_TYPE, RRF_NOEXPAND,
    RRF_RT_REG_DWORD, RRF_RT_REG_EXPAND_SZ, RRF_RT_REG_SZ, RegGetValueW,
};

use super::windows::{RegString, WindowsFacts, go_exe_dirs};

const USER_ENV: &str = "Environment";
const SYSTEM_ENV: &str = r"SYSTEM\CurrentControlSet\Control\Session Manager\Environment";
const FILE_SYSTEM: &str = r"SYSTEM\CurrentControlSet\Control\FileSystem";
const AUTH_ROOT_POLICY: &str = r"SOFTWARE\Policies\Microsoft\SystemCertificates\AuthRoot";
const NAMES: [&str; 4] = ["GOROOT", "GOPATH", "GOPROXY", "Path"];

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

fn from_wide(buf: &[u16]) -> String {
    let end = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
    OsString::from_wide(buf.get(..end).unwrap_or_default())
        .to_string_lossy()
        .into_owned()
}

/// A `REG_SZ` / `REG_EXPAND_SZ` value, unexpanded.
fn reg_string(root: HKEY, key: &str, name: &str) -> Option<RegString> {
    let (key, name) = (wide(key), wide(name));
    let flags = RRF_RT_REG_SZ | RRF_RT_REG_EXPAND_SZ | RRF_NOEXPAND;
    let mut len_bytes = 0u32;
    let mut kind: REG_VALUE_TYPE = 0;
    // Safety: both names are NUL-terminated UTF-16 buffers alive for the call; a null data
    // pointer asks only for the size.
    let status = unsafe {
        RegGetValueW(
            root,
            key.as_ptr(),
            name.as_ptr(),
            flags,
            &mut kind,
            std::ptr::null_mut(),
            &mut len_bytes,
        )
    };
    if status != ERROR_SUCCESS {
        return None;
    }
    // The value can grow between the two calls; retry a few times on ERROR_MORE_DATA.
    for _ in 0..4 {
        let units = usize::try_from(len_bytes)
            .ok()?
            .div_ceil(2)
            .checked_add(1)?;
        let mut buf = vec![0u16; units];
        let mut size = u32::try_from(units.checked_mul(2)?).ok()?;
        // Safety: `buf` holds `size` bytes and outlives the call; the names are as above.
        let status = unsafe {
            RegGetValueW(
                root,
                key.as_ptr(),
                name.as_ptr(),
                flags,
                &mut kind,
                buf.as_mut_ptr().cast(),
                &mut size,
            )
        };
        if status == ERROR_MORE_DATA {
            len_bytes = size;
            continue;
        }
        if status != ERROR_SUCCESS {
            return None;
        }
        return Some(RegString {
            value: from_wide(&buf),
            expand: kind == REG_EXPAND_SZ,
        });
    }
    None
}

fn reg_dword(root: HKEY, key: &str, name: &str) -> Option<u32> {
    let (key, name) = (wide(key), wide(name));
    let mut value = 0u32;
    let mut size = 4u32;
    // Safety: `value` is 4 writable bytes as `size` says; the names are NUL-terminated.
    let status = unsafe {
        RegGetValueW(
            root,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_REG_DWORD,
            std::ptr::null_mut(),
            (&raw mut value).cast(),
            &mut size,
        )
    };
    (status == ERROR_SUCCESS).then_some(value)
}

/// The simple display names of the current user's ROOT store, which also shows the machine's.
fn root_store_names() -> Option<Vec<String>> {
    let store_name = wide("ROOT");
    // Safety: a NUL-terminated name; 0 is the documented "default provider".
    let store = unsafe { CertOpenSystemStoreW(0, store_name.as_ptr()) };
    if store.is_null() {
        return None;
    }
    let mut names = Vec::new();
    let mut cert: *const CERT_CONTEXT = std::ptr::null();
    loop {
        // Safety: `store` is open; `cert` is null or the context the previous call returned,
        // which this call frees.
        cert = unsafe { CertEnumCertificatesInStore(store, cert) };
        if cert.is_null() {
            break;
        }
        let mut buf = [0u16; 512];
        // Safety: `cert` is a live context from the store; `buf` holds 512 UTF-16 units.
        let len = unsafe {
            CertGetNameStringW(
                cert,
                CERT_NAME_SIMPLE_DISPLAY_TYPE,
                0,
                std::ptr::null(),
                buf.as_mut_ptr(),
                512,
            )
        };
        if len > 1 {
            names.push(from_wide(&buf));
        }
    }
    // Safety: `store` is open and closed once; the enumeration freed its last context.
    unsafe { CertCloseStore(store, 0) };
    Some(names)
}

/// Gathers every fact the Windows checks need; `vars` is the process environment (names
/// upper-cased).
pub(crate) fn gather(vars: &BTreeMap<String, String>) -> WindowsFacts {
    let env = |root, key| {
        NAMES
            .iter()
            .filter_map(|n| reg_string(root, key, n).map(|v| (n.to_uppercase(), v)))
            .collect::<BTreeMap<_, _>>()
    };
    WindowsFacts {
        user_env: env(HKEY_CURRENT_USER, USER_ENV),
        system_env: env(HKEY_LOCAL_MACHINE, SYSTEM_ENV),
        long_paths_enabled: reg_dword(HKEY_LOCAL_MACHINE, FILE_SYSTEM, "LongPathsEnabled"),
        root_auto_update_disabled: reg_dword(
            HKEY_LOCAL_MACHINE,
            AUTH_ROOT_POLICY,
            "DisableRootAutoUpdate",
        ) == Some(1),
        root_store: root_store_names(),
        go_exe_on_path: go_exe_dirs(vars.get("PATH").map(String::as_str).unwrap_or("")),
    }
}
