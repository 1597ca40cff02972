//! Zero-copy, bounds-checked view over PE bytes and the owned summary built from it.
