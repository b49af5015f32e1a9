//! The JSON schema of Mallorn.toml, generated from the `raw` types with schemars.
//!
//! Draft-07, because that is what Taplo (Even Better TOML) and most editors understand. TOML has
//! no `null`, so the `null` alternatives schemars adds for optional keys are stripped.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};
use serde_json::Value;

use crate::raw::RawManifest;

/// The JSON schema (draft-07) describing Mallorn.toml, for editors and `cargo mallorn schema`.
pub fn json_schema() -> Value {
    schema().clone()
}

/// The schema, generated once per process (the unknown-key check walks it).
pub(crate) fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut settings = SchemaSettings::draft07();
        settings.transforms.insert(0, Box::new(StripNull));
        let schema = settings
            .into_generator()
            .into_root_schema_for::<RawManifest>();
        schema.to_value()
    })
}

/// Removes `null` from `type` lists and `{"type": "null"}` from `anyOf`/`oneOf`.
#[derive(Debug, Clone)]
struct StripNull;

impl Transform for StripNull {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        transform_subschemas(self, schema);
        let Some(object) = schema.as_object_mut() else {
            return;
        };
        if let Some(Value::Array(types)) = object.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let single = types.remove(0);
                object.insert("type".into(), single);
            }
        }
        for keyword in ["anyOf", "oneOf"] {
            let Some(Value::Array(alternatives)) = object.get_mut(keyword) else {
                continue;
            };
            alternatives.retain(|alt| alt.get("type").is_none_or(|t| t != "null"));
            if alternatives.len() == 1 {
                let Some(Value::Object(only)) = alternatives.pop() else {
                    continue;
                };
                object.remove(keyword);
                for (key, value) in only {
                    object.entry(key).or_insert(value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_draft07_without_nulls() {
        let schema = json_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert!(!schema.to_string().contains("\"null\""));
        assert_eq!(schema["required"], serde_json::json!(["schema-version"]));
    }
}
