//! `[signing]`, as written.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::located::Located;

/// Where the private signing key comes from (exactly one of `key-file`, `key-env`) and which
/// public keys devices trust. The key itself never goes in Mallorn.toml.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(deny_unknown_fields, rename = "Signing")]
pub(crate) struct RawSigning {
    /// File holding the ed25519 private key, relative to Mallorn.toml. Keep it out of git.
    pub key_file: Option<Located<String>>,
    /// Name of the environment variable holding the private key (e.g. in CI).
    pub key_env: Option<Located<String>>,
    /// Public key files devices accept, relative to Mallorn.toml. Several allow key rotation.
    #[schemars(required, length(min = 1))]
    pub trusted_keys: Option<Located<Vec<Located<String>>>>,
}
