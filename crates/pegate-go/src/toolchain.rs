//! toolchain (in progress).
