//! matrix (in progress).
