//! crosscheck (in progress).
