//! Go toolchains, Windows matrix builds and the Go build-info reader.
