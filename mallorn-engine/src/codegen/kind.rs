//! The three generated firmware files: what each is called, which template renders it and
//! which `[output]` key copies it into the source tree.

/// One kind of generated file (serialized as its `[output]` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratedKind {
    /// Rust include (`include!`): constants, trusted keys, a `FlashLayout` per model.
    Rust,
    /// C header: the same facts as macros, with `_Static_assert` checks.
    CHeader,
    /// Linker script fragment: MEMORY regions, symbols and `ASSERT`s for the slots.
    Linker,
}

impl GeneratedKind {
    /// Every kind, in the order files are reported.
    pub const ALL: [GeneratedKind; 3] = [Self::Rust, Self::CHeader, Self::Linker];

    /// File name inside `<output dir>/<sku>/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Rust => "mallorn.rs",
            Self::CHeader => "mallorn.h",
            Self::Linker => "mallorn-memory.x",
        }
    }

    /// Template file name (built into mallorn, or overridden in `[output] templates`).
    pub fn template(self) -> &'static str {
        match self {
            Self::Rust => "mallorn.rs.j2",
            Self::CHeader => "mallorn.h.j2",
            Self::Linker => "mallorn-memory.x.j2",
        }
    }

    /// The `[output]` key that names its copy in the source tree.
    pub fn output_key(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::CHeader => "c-header",
            Self::Linker => "linker",
        }
    }
}
