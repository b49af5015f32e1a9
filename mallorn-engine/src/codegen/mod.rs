//! Code generation: the firmware-side files of a target (a Rust include, a C header and a
//! linker script fragment) rendered from minijinja templates with strict undefined values, so a
//! misspelt field is an error, never an empty string.

pub mod context;
pub mod filters;
pub mod kind;
pub mod templates;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value, value::Serde};

pub use context::{TargetContext, generator, target_context};
pub use kind::GeneratedKind;
pub use templates::TemplateSet;

use crate::build::error::BuildError;

/// Renders the generated files of targets from one template set.
pub struct Renderer {
    env: Environment<'static>,
}

impl Renderer {
    /// A renderer over `templates` (sources are compiled when first used).
    pub fn new(templates: &TemplateSet) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        filters::register(&mut env);
        let sources = templates.sources().clone();
        env.set_loader(move |name| Ok(sources.get(name).cloned()));
        Self { env }
    }

    /// Renders the `kind` file for a target.
    pub fn render(
        &self,
        kind: GeneratedKind,
        context: &TargetContext,
    ) -> Result<String, BuildError> {
        let name = kind.template();
        let template_error = |error: minijinja::Error| BuildError::Template {
            name: name.into(),
            detail: describe(&error),
        };
        let template = self.env.get_template(name).map_err(template_error)?;
        template
            .render(Value::from(Serde(context)))
            .map_err(template_error)
    }
}

/// minijinja's message with its place (template and line) and cause chain.
fn describe(error: &minijinja::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
