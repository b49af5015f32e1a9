//! Rules for `[signing]`: one key source, at least one trusted key, never the key itself.

use std::path::Path;

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::located::Located;
use crate::model::{KeySource, ResolvedPath, Signing};
use crate::raw::RawSigning;
use crate::validate::non_empty_path;

/// Validates `[signing]`; `None` when it is unusable.
pub(super) fn signing(
    raw: &Located<RawSigning>,
    base_dir: &Path,
    out: &mut Diagnostics,
) -> Option<Signing> {
    let key = key_source(raw, base_dir, out);
    let trusted = trusted_keys(raw, base_dir, out);
    Some(Signing {
        key: key?,
        trusted_keys: trusted?,
    })
}

fn key_source(
    raw: &Located<RawSigning>,
    base_dir: &Path,
    out: &mut Diagnostics,
) -> Option<KeySource> {
    match (&raw.value.key_file, &raw.value.key_env) {
        (Some(file), Some(env)) => {
            out.push(
                Diagnostic::error(
                    "key-source-conflict",
                    env.span,
                    "both `key-file` and `key-env` are set",
                )
                .with_label("second key source")
                .with_related(file.span, "first key source")
                .with_hint("keep exactly one: `key-file` for local builds or `key-env` for CI"),
            );
            None
        }
        (None, None) => {
            out.push(
                Diagnostic::error(
                    "missing-key-source",
                    raw.span,
                    "`[signing]` names no private key",
                )
                .with_hint(
                    "add `key-file = \"keys/release.key\"` or `key-env = \"MALLORN_SIGNING_KEY\"`",
                ),
            );
            None
        }
        (Some(file), None) => {
            if !non_empty_path(file, "`key-file`", out) {
                return None;
            }
            let path = ResolvedPath::new(base_dir, &file.value);
            key_file_exists(file, &path.absolute, out);
            Some(KeySource::File(path))
        }
        (None, Some(env)) => env_name(env, out).then(|| KeySource::Env(env.value.clone())),
    }
}

/// Warns when `key-file` names no file. A warning, not an error: only signing needs the private
/// key, and it is kept out of version control, so `plan`, `build --check` and `check` itself
/// run in CI without it; `build` then fails, after this warning has pointed at the line.
fn key_file_exists(file: &Located<String>, absolute: &Path, out: &mut Diagnostics) {
    let (problem, label) = match std::fs::metadata(absolute) {
        Ok(metadata) if metadata.is_file() => return,
        Ok(_) => ("is not a file", "not a file"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            ("does not exist", "not found")
        }
        // Unreadable metadata: reading the key reports it, with the reason.
        Err(_) => return,
    };
    out.push(
        Diagnostic::warning(
            "missing-key-file",
            file.span,
            format!("signing key file `{}` {problem}", file.value),
        )
        .with_label(label)
        .with_hint(format!(
            "`cargo mallorn build` needs it to sign bundles: create it with `cargo mallorn keygen \
             -o {}` (paths are relative to Mallorn.toml), or use `key-env` where the key is a secret",
            file.value
        )),
    );
}

/// An environment variable name, and not a pasted key.
fn env_name(env: &Located<String>, out: &mut Diagnostics) -> bool {
    let name = env.value.as_str();
    let looks_like_key = name.len() >= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'))
        && name.chars().any(|c| c.is_ascii_digit())
        && !name.contains('_');
    if looks_like_key {
        out.push(
            Diagnostic::error("key-in-manifest", env.span, "`key-env` looks like a key, not a variable name")
                .with_label("a secret?")
                .with_hint("never put the private key in Mallorn.toml: store it in an environment variable and write that variable's name here, then rotate this key"),
        );
        return false;
    }
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        out.push(
            Diagnostic::error(
                "invalid-env-name",
                env.span,
                format!("`{name}` is not an environment variable name"),
            )
            .with_hint(
                "use letters, digits and `_`, not starting with a digit, e.g. MALLORN_SIGNING_KEY",
            ),
        );
    }
    valid
}

fn trusted_keys(
    raw: &Located<RawSigning>,
    base_dir: &Path,
    out: &mut Diagnostics,
) -> Option<Vec<ResolvedPath>> {
    let Some(list) = &raw.value.trusted_keys else {
        out.push(
            Diagnostic::error("missing-key", raw.span, "missing key `trusted-keys` in `signing`")
                .with_hint("list the public key files devices accept, e.g. `trusted-keys = [\"keys/release.pub\"]`"),
        );
        return None;
    };
    if list.value.is_empty() {
        out.push(
            Diagnostic::error("no-trusted-keys", list.span, "`trusted-keys` is empty")
                .with_label("empty list")
                .with_hint("devices need at least one public key to verify bundles"),
        );
        return None;
    }
    let mut keys: Vec<ResolvedPath> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut valid = true;
    for key in &list.value {
        if !non_empty_path(key, "trusted key path", out) {
            valid = false;
            continue;
        }
        let path = ResolvedPath::new(base_dir, &key.value);
        if !seen.insert(path.absolute.clone()) {
            out.push(
                Diagnostic::warning(
                    "duplicate-trusted-key",
                    key.span,
                    format!("`{}` is listed twice", key.value),
                )
                .with_hint("list each public key once"),
            );
            continue;
        }
        if !path.absolute.is_file() {
            out.push(
                Diagnostic::warning(
                    "missing-trusted-key",
                    key.span,
                    format!("trusted key file `{}` does not exist yet", key.value),
                )
                .with_hint("create the key pair before building bundles; paths are relative to Mallorn.toml"),
            );
        }
        keys.push(path);
    }
    valid.then_some(keys)
}
