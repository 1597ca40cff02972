//! buildinfo (in progress).
