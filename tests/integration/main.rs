//! pegate's integration tests: one binary, data-driven, snapshots beside each module.
