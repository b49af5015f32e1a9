//! Finds every unknown key in the document by walking it alongside the JSON schema.
//!
//! Using the schema (rather than serde's `deny_unknown_fields`) reports all unknown keys in one
//! pass, each with its span and the closest valid key. A key that is clearly a misspelling of
//! a valid key that is absent from the same table is renamed in the document after being
//! reported, so the rest of validation can still look at its value (and does not add a
//! confusing "missing key" error for the same slip).

use std::collections::HashSet;

use serde_json::{Map, Value};
use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::diagnostic::{Diagnostic, Diagnostics, Span};
use crate::suggest::closest;

/// Reports unknown keys anywhere in `root` (a whole Mallorn.toml) against `schema`.
pub(crate) fn check(root: &mut Spanned<DeTable<'_>>, schema: &Value, out: &mut Diagnostics) {
    let walker = Walker {
        definitions: schema.get("definitions").and_then(Value::as_object),
    };
    walker.table(root.get_mut(), schema, "", out);
}

struct Walker<'s> {
    definitions: Option<&'s Map<String, Value>>,
}

/// What a schema says about the keys of a table.
#[derive(Default)]
struct ObjectShape<'s> {
    properties: Vec<(&'s str, &'s Value)>,
    /// Schema of keys not in `properties`; `None` with `open` false means they are forbidden.
    additional: Option<&'s Value>,
    /// Any key is allowed and not checked further.
    open: bool,
    /// The schema describes a table at all.
    is_object: bool,
}

impl<'s> Walker<'s> {
    /// Follows `$ref` and flattens `allOf`/`anyOf`/`oneOf` into the plain alternatives.
    fn alternatives(&self, schema: &'s Value, into: &mut Vec<&'s Value>, depth: usize) {
        if depth > 32 {
            return;
        }
        if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            let name = target.rsplit('/').next().unwrap_or_default();
            if let Some(resolved) = self.definitions.and_then(|defs| defs.get(name)) {
                self.alternatives(resolved, into, depth + 1);
            }
        }
        let mut combined = false;
        for keyword in ["allOf", "anyOf", "oneOf"] {
            if let Some(list) = schema.get(keyword).and_then(Value::as_array) {
                combined = true;
                for alternative in list {
                    self.alternatives(alternative, into, depth + 1);
                }
            }
        }
        if !combined && schema.get("$ref").is_none() || schema.get("properties").is_some() {
            into.push(schema);
        }
    }

    fn object_shape(&self, schema: &'s Value) -> ObjectShape<'s> {
        let mut alternatives = Vec::new();
        self.alternatives(schema, &mut alternatives, 0);
        let mut shape = ObjectShape::default();
        for alternative in alternatives {
            let typed_object = alternative.get("type").is_some_and(|t| t == "object");
            let properties = alternative.get("properties").and_then(Value::as_object);
            if !typed_object && properties.is_none() {
                continue;
            }
            shape.is_object = true;
            if let Some(properties) = properties {
                shape
                    .properties
                    .extend(properties.iter().map(|(k, v)| (k.as_str(), v)));
            }
            match alternative.get("additionalProperties") {
                Some(Value::Bool(false)) => {}
                Some(Value::Object(_)) => {
                    shape.additional = alternative.get("additionalProperties");
                }
                _ => shape.open = true,
            }
        }
        shape
    }

    fn value(&self, value: &mut DeValue<'_>, schema: &'s Value, path: &str, out: &mut Diagnostics) {
        match value {
            DeValue::Table(table) => self.table(table, schema, path, out),
            DeValue::Array(array) => {
                let mut alternatives = Vec::new();
                self.alternatives(schema, &mut alternatives, 0);
                let Some(items) = alternatives.iter().find_map(|alt| alt.get("items")) else {
                    return;
                };
                for element in array.iter_mut() {
                    self.value(element.get_mut(), items, path, out);
                }
            }
            _ => {}
        }
    }

    fn table(&self, table: &mut DeTable<'_>, schema: &'s Value, path: &str, out: &mut Diagnostics) {
        let shape = self.object_shape(schema);
        if !shape.is_object || shape.open {
            return;
        }
        let valid: Vec<&str> = shape.properties.iter().map(|(name, _)| *name).collect();
        let mut renames = Vec::new();
        for (key, value) in table.iter_mut() {
            let name: &str = key.get_ref();
            let child_path = if path.is_empty() {
                name.to_owned()
            } else {
                format!("{path}.{name}")
            };
            let child_schema = shape
                .properties
                .iter()
                .find(|(property, _)| *property == name)
                .map(|(_, schema)| *schema)
                .or(shape.additional);
            if let Some(child_schema) = child_schema {
                self.value(value.get_mut(), child_schema, &child_path, out);
                continue;
            }
            let span = Span::from(key.span());
            let place = if path.is_empty() {
                "at the top level".to_owned()
            } else {
                format!("in `{path}`")
            };
            let mut diagnostic =
                Diagnostic::error("unknown-key", span, format!("unknown key `{name}` {place}"))
                    .with_label("unknown key");
            match closest(name, valid.iter().copied()) {
                Some(suggestion) => {
                    diagnostic = diagnostic.with_hint(format!("did you mean `{suggestion}`?"));
                    renames.push((name.to_owned(), suggestion));
                }
                None => {
                    let mut listed: Vec<&str> = valid.clone();
                    listed.sort_unstable();
                    diagnostic = diagnostic.with_hint(format!(
                        "valid keys here: {}",
                        listed
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
            }
            out.push(diagnostic);
        }
        if renames.is_empty() {
            return;
        }
        let mut present: HashSet<String> =
            table.keys().map(|key| key.get_ref().to_string()).collect();
        for (wrong, right) in renames {
            // Rename once: the first misspelling of a key stands in for it, later ones do not.
            if !present.insert(right.to_owned()) {
                continue;
            }
            let Some((old_key, mut value)) = table.remove_entry(wrong.as_str()) else {
                continue;
            };
            if let Some((_, schema)) = shape.properties.iter().find(|(p, _)| *p == right) {
                let child_path = if path.is_empty() {
                    right.to_owned()
                } else {
                    format!("{path}.{right}")
                };
                self.value(value.get_mut(), schema, &child_path, out);
            }
            let new_key = Spanned::new(old_key.span(), DeString::Owned(right.to_owned()));
            table.insert(new_key, value);
        }
    }
}
