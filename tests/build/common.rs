//! What the build tests share: a private copy of the example repository (so tests can edit
//! it), a build of it with the engine's library (what `cargo mallorn build` runs), directory
//! snapshots, and the redaction of the tool version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mallorn_engine::build::{self, BuildError, BuildOptions, BuildReport, Quiet};
use mallorn_manifest::{LoadedManifest, Manifest};

/// The example firmware repository in the workspace.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/wakeword-device")
}

/// Copies the example's inputs and committed generated files into `dest`.
pub fn copy_example(dest: &Path) {
    let src = example_dir();
    for entry in ["Mallorn.toml", "mallorn.schema.json"] {
        std::fs::copy(src.join(entry), dest.join(entry)).unwrap();
    }
    for dir in [
        "models",
        "keys",
        "firmware/src/generated",
        "firmware/include",
        "firmware/link",
    ] {
        mallorn_tests::copy_dir(&src.join(dir), &dest.join(dir));
    }
}

/// A scratch copy of the example.
pub struct Example {
    /// Holds the copy alive.
    pub dir: tempfile::TempDir,
}

impl Example {
    /// Copies the example.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_example(dir.path());
        Self { dir }
    }

    /// The copy's root (where Mallorn.toml is).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Where builds write.
    pub fn out(&self) -> PathBuf {
        self.root().join("target/mallorn")
    }

    /// Loads its Mallorn.toml.
    pub fn load(&self) -> LoadedManifest {
        Manifest::load(self.root().join("Mallorn.toml")).expect("valid Mallorn.toml")
    }

    /// Edits Mallorn.toml (`from` must occur).
    pub fn edit_manifest(&self, from: &str, to: &str) {
        let path = self.root().join("Mallorn.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "Mallorn.toml has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// Builds it as `cargo mallorn build` would (source-tree copies included).
    pub fn build(&self) -> Result<BuildReport, BuildError> {
        self.build_with(&self.load(), &[], false)
    }

    /// Builds `loaded` for `targets`.
    pub fn build_with(
        &self,
        loaded: &LoadedManifest,
        targets: &[&str],
        allow_unsigned: bool,
    ) -> Result<BuildReport, BuildError> {
        build::build(
            loaded,
            &BuildOptions {
                targets: targets.iter().map(|s| (*s).to_owned()).collect(),
                allow_unsigned,
                output_dir: self.out(),
                threads: 2,
                write_source_tree: true,
                observer: &Quiet,
            },
        )
    }

    /// A file of the output directory as text.
    pub fn output_text(&self, relative: &str) -> String {
        std::fs::read_to_string(self.out().join(relative)).unwrap()
    }
}

pub use mallorn_tests::tree;

/// Modification times of every file under `dir`.
pub fn mtimes(dir: &Path) -> BTreeMap<String, std::time::SystemTime> {
    tree(dir)
        .keys()
        .map(|name| {
            let modified = std::fs::metadata(dir.join(name))
                .unwrap()
                .modified()
                .unwrap();
            (name.clone(), modified)
        })
        .collect()
}

/// Entries of `dir` whose name starts with `.mallorn-` (staging leftovers).
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".mallorn-build-") || name.starts_with(".mallorn-old-"))
        .collect()
}

/// `text` with the tool version replaced by `[version]` (the only thing that may change
/// between releases without a codec or template change).
pub fn redact(text: &str) -> String {
    text.replace(
        &format!("mallorn {}", env!("CARGO_PKG_VERSION")),
        "mallorn [version]",
    )
}
