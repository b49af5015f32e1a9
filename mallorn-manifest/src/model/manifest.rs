//! The validated manifest and the loaded file it came from.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostics;
use crate::model::{CodecPolicy, Model, ModelSlots, Output, Signing, Target};

/// A valid Mallorn.toml: models with resolved release files, targets with checked layouts.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// `schema-version` (currently always [`Manifest::SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Models in the order written.
    pub models: Vec<Model>,
    /// Workspace-wide codec policy (`[codec]` over the defaults). Targets carry their own
    /// effective policy in [`Target::codec`].
    pub codec: CodecPolicy,
    /// `[signing]`, if present.
    pub signing: Option<Signing>,
    /// `[output]` (all entries optional).
    pub output: Output,
    /// Targets in the order written.
    pub targets: Vec<Target>,
}

impl Manifest {
    /// The `schema-version` this crate reads.
    pub const SCHEMA_VERSION: u32 = 1;

    /// The model called `name`.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|model| model.name == name)
    }

    /// The target with this SKU.
    pub fn target(&self, sku: &str) -> Option<&Target> {
        self.targets.iter().find(|target| target.sku == sku)
    }

    /// The models `target` carries, each with its slot layout on that target.
    pub fn carried_models<'a>(
        &'a self,
        target: &'a Target,
    ) -> impl Iterator<Item = (&'a Model, &'a ModelSlots)> + 'a {
        target
            .models
            .iter()
            .filter_map(|slots| Some((self.model(&slots.model)?, slots)))
    }

    /// The targets that carry the model called `name`, each with the model's slot layout.
    pub fn targets_carrying<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a Target, &'a ModelSlots)> + 'a {
        self.targets
            .iter()
            .filter_map(move |target| Some((target, target.slots_for(name)?)))
    }
}

/// A Mallorn.toml that was read and validated, with its source kept for later diagnostics.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    pub(crate) path: PathBuf,
    pub(crate) base_dir: PathBuf,
    pub(crate) text: String,
    pub(crate) manifest: Manifest,
    pub(crate) warnings: Diagnostics,
}

impl LoadedManifest {
    /// Absolute path of the Mallorn.toml.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Absolute path of the directory holding it (relative paths in it resolve from here).
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// The file's text (diagnostic spans index into it).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The validated content.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Problems that do not make the manifest invalid (e.g. a trusted key file not yet created).
    pub fn warnings(&self) -> &Diagnostics {
        &self.warnings
    }

    /// Takes the validated content.
    pub fn into_manifest(self) -> Manifest {
        self.manifest
    }
}

impl std::ops::Deref for LoadedManifest {
    type Target = Manifest;

    fn deref(&self) -> &Manifest {
        &self.manifest
    }
}
