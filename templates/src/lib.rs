//! The built-in templates of the files `cargo mallorn build` generates, as `(file name,
//! source)` pairs. They live as plain `.j2` files in this crate's folder (the repository's
//! top-level `templates/`) so they are reviewed as templates, and ship inside the crate so
//! `mallorn-engine` packages and installs from a registry. A firmware repository overrides any
//! of them with a file of the same name in `[output] templates`.
#![forbid(unsafe_code)]

/// The built-in templates, by file name.
pub const BUILT_IN: [(&str, &str); 3] = [
    ("mallorn.rs.j2", include_str!("../mallorn.rs.j2")),
    ("mallorn.h.j2", include_str!("../mallorn.h.j2")),
    (
        "mallorn-memory.x.j2",
        include_str!("../mallorn-memory.x.j2"),
    ),
];
