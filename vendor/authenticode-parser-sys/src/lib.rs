//! Native bindings for the
//! [authenticode parser library](https://github.com/avast/authenticode-parser) from Avast.
//!
//! For Rust bindings on top of those types, see the
//! [authenticode-parser crate](https://crates.io/cartes/authenticode-parser).

#![allow(non_upper_case_globals)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]

pub mod bindings;
pub use bindings::*;

// Links libcrypto, which the C library calls.
use openssl_sys as _;
