//! Everything a build (or a check) knows before any bundle is encoded: the plan, the keys, the
//! model files, and the rendered generated files of each target.

use mallorn_manifest::LoadedManifest;

use crate::build::error::BuildError;
use crate::build::inputs::Inputs;
use crate::build::keys::BuildKeys;
use crate::build::plan::{BuildPlan, PlannedFile, plan};
use crate::build::source_tree::SourceTreeFile;
use crate::codegen::{Renderer, TargetContext, TemplateSet, target_context};

/// Everything known before any bundle is encoded.
pub(crate) struct Prepared {
    pub(crate) plan: BuildPlan,
    pub(crate) keys: BuildKeys,
    pub(crate) inputs: Inputs,
    pub(crate) contexts: Vec<TargetContext>,
    /// Per target: the generated files' relative paths and contents.
    pub(crate) rendered: Vec<Vec<(PlannedFile, String)>>,
}

impl Prepared {
    pub(crate) fn new(
        loaded: &LoadedManifest,
        targets: &[String],
        allow_unsigned: bool,
        need_signer: bool,
    ) -> Result<Self, BuildError> {
        let plan = plan(loaded, targets)?;
        let keys = BuildKeys::load(loaded, allow_unsigned, need_signer)?;
        let inputs = Inputs::read(loaded, &plan)?;
        let templates = match &loaded.output.templates {
            Some(dir) => TemplateSet::with_user_dir(&dir.absolute)?,
            None => TemplateSet::built_in(),
        };
        let renderer = Renderer::new(&templates);
        let manifest_file = loaded.path().file_name().map_or_else(
            || "Mallorn.toml".into(),
            |n| n.to_string_lossy().into_owned(),
        );
        let mut contexts = Vec::new();
        let mut rendered = Vec::new();
        for target in &plan.targets {
            let context = target_context(
                loaded,
                &manifest_file,
                target,
                &inputs,
                &keys.trusted,
                !keys.unsigned,
            )?;
            let files = target
                .generated
                .iter()
                .map(|file| Ok((file.clone(), renderer.render(file.kind, &context)?)))
                .collect::<Result<Vec<_>, BuildError>>()?;
            contexts.push(context);
            rendered.push(files);
        }
        Ok(Self {
            plan,
            keys,
            inputs,
            contexts,
            rendered,
        })
    }

    /// The rendered files that have a place in the source tree.
    pub(crate) fn source_tree_files(&self) -> Vec<SourceTreeFile> {
        let mut out = Vec::new();
        for (target, files) in self.plan.targets.iter().zip(&self.rendered) {
            for (file, content) in files {
                if let Some(path) = &file.source_tree {
                    out.push(SourceTreeFile {
                        sku: target.sku.clone(),
                        kind: file.kind,
                        written: path.written.clone(),
                        absolute: path.absolute.clone(),
                        content: content.clone(),
                    });
                }
            }
        }
        out
    }
}
