//! The policy file and its evaluation into findings.
