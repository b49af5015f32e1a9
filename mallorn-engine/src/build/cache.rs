//! The incremental build cache: a file in the output directory recording the key of the build
//! that produced it, the SHA-256 of every file it wrote, and each bundle's own key.
//!
//! - When the build key (tool, inputs, manifest fields, keys, templates) is unchanged and every
//!   file still has its recorded hash, the build is up to date and touches nothing.
//! - Otherwise each bundle whose own key is unchanged is taken from the previous output (after
//!   checking its hash) instead of being encoded again; generated files are always re-rendered
//!   (it is cheap).
//!
//! Keys include a fingerprint of the running tool (its version and the SHA-256 of its
//! executable), so a rebuilt mallorn with a changed codec never reuses stale bundles.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use mallorn_runtime::hash::sha256;
use serde::{Deserialize, Serialize};

use crate::build::bundles::{Unit, UnitPlan};
use crate::signing::hex;

/// The cache file's name inside the output directory. Its presence also marks the directory
/// as written by mallorn (a build replaces only such directories).
pub const CACHE_FILE: &str = ".mallorn-cache.json";

/// Version of the cache file's layout.
const CACHE_FORMAT: u32 = 2;

/// What a previous build left.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Cache {
    /// Layout version.
    pub format: u32,
    /// Key of the whole build.
    pub build_key: String,
    /// Every file written (relative `/`-separated path -> SHA-256 hex), the cache excepted.
    pub files: BTreeMap<String, String>,
    /// Bundle key -> what that bundle job produced.
    pub units: BTreeMap<String, CachedUnit>,
}

/// The outcome of one bundle job.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CachedUnit {
    /// Where the bundle was published (relative path), or `None` when it was not (a delta
    /// replaced by the full image: only its size matters).
    pub path: Option<String>,
    /// Bundle size in bytes.
    pub size: u64,
    /// SHA-256 hex of the bundle.
    pub sha256: String,
    /// How its payload was planned.
    pub plan: UnitPlan,
}

impl CachedUnit {
    /// The record of `unit`, published at `path` (or not published: `None`).
    pub fn of(unit: &Unit, path: Option<&str>) -> Self {
        Self {
            path: path.map(str::to_owned),
            size: unit.bytes.len() as u64,
            sha256: hex(&sha256(&unit.bytes)),
            plan: unit.plan,
        }
    }
}

impl Cache {
    /// An empty cache for a build with `build_key`.
    pub fn new(build_key: String) -> Self {
        Self {
            format: CACHE_FORMAT,
            build_key,
            ..Self::default()
        }
    }

    /// The cache in `dir`, if there is a readable one of this layout.
    pub fn load(dir: &Path) -> Option<Self> {
        let text = std::fs::read(dir.join(CACHE_FILE)).ok()?;
        let cache: Self = serde_json::from_slice(&text).ok()?;
        (cache.format == CACHE_FORMAT).then_some(cache)
    }

    /// The cache file's bytes (sorted keys, so identical builds write identical caches).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_string_pretty(self).expect("plain data serializes");
        text.push('\n');
        text.into_bytes()
    }

    /// True when every recorded file in `dir` still has its recorded hash.
    pub fn files_intact(&self, dir: &Path) -> bool {
        self.files.iter().all(|(path, expected)| {
            std::fs::read(dir.join(path)).is_ok_and(|bytes| hex(&sha256(&bytes)) == *expected)
        })
    }

    /// What the job with `key` produced last time, with the bundle read back from `dir` when
    /// it was published there (and still has its recorded hash).
    pub fn reuse(&self, dir: &Path, key: &str) -> Option<Reused> {
        let cached = self.units.get(key)?;
        let Some(path) = &cached.path else {
            return Some(Reused::SizeOnly(cached.clone()));
        };
        let bytes = std::fs::read(dir.join(path)).ok()?;
        if hex(&sha256(&bytes)) != cached.sha256 {
            return None;
        }
        Unit::from_bytes(bytes, cached.plan).map(Reused::Bundle)
    }
}

/// A bundle job's result taken from the previous build.
#[derive(Debug, Clone)]
pub enum Reused {
    /// The bundle itself.
    Bundle(Unit),
    /// A delta that was not published: its size (to decide again), plan and hash.
    SizeOnly(CachedUnit),
}

/// Identifies the running tool: version plus the SHA-256 of its executable (computed once).
pub fn tool_fingerprint() -> &'static str {
    static FINGERPRINT: OnceLock<String> = OnceLock::new();
    FINGERPRINT.get_or_init(|| {
        let exe = std::env::current_exe()
            .and_then(std::fs::read)
            .map(|bytes| hex(&sha256(&bytes)))
            .unwrap_or_else(|_| "unknown-executable".into());
        format!("{} {exe}", crate::codegen::generator())
    })
}

/// SHA-256 hex of `parts`, each length-prefixed so that no two lists hash alike.
pub fn key_of(parts: &[&[u8]]) -> String {
    let mut data = Vec::new();
    for part in parts {
        data.extend_from_slice(&(part.len() as u64).to_le_bytes());
        data.extend_from_slice(part);
    }
    hex(&sha256(&data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_parts() {
        assert_ne!(key_of(&[b"ab", b"c"]), key_of(&[b"a", b"bc"]));
        assert_eq!(key_of(&[b"x"]), key_of(&[b"x"]));
    }

    #[test]
    fn round_trips_and_detects_changed_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.bin"), b"hello").unwrap();
        let mut cache = Cache::new("k".into());
        cache.files.insert("a.bin".into(), hex(&sha256(b"hello")));
        std::fs::write(dir.path().join(CACHE_FILE), cache.to_bytes()).unwrap();
        let loaded = Cache::load(dir.path()).unwrap();
        assert_eq!(loaded, cache);
        assert!(loaded.files_intact(dir.path()));
        std::fs::write(dir.path().join("a.bin"), b"hellO").unwrap();
        assert!(!loaded.files_intact(dir.path()));
        std::fs::write(dir.path().join(CACHE_FILE), b"{not json").unwrap();
        assert!(Cache::load(dir.path()).is_none());
    }
}
