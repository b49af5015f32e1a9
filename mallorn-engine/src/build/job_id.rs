//! The stable id of a build job (one published bundle), for CI matrices and job directories.
//!
//! Format: `<sku>~<model>~<from-version>` for the bundle from a historical release to the
//! latest, `<sku>~<model>~full` for the full image, e.g. `wakeword-m4-1mb~okay-nabu~2.1.0`.
//! It is made of the names alone, so adding a release or a target adds ids and changes none.
//! `~` appears in no SKU (letters, digits, `.`, `-`, `_`), model name (lower-case letters,
//! digits, `-`, `_`) or semantic version, and `full` is no version, so two jobs never share an
//! id. The id holds no `/`, `\`, `:`, whitespace or quotes: it is usable as a directory name, a
//! CI matrix value and a CI artefact name as it is.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Separates the SKU, the model and the base release in a [`JobId`].
pub const JOB_ID_SEPARATOR: char = '~';

/// The last part of the id of a full-image job.
pub const FULL_IMAGE_JOB: &str = "full";

/// The id of one build job (see the module documentation for the format).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(String);

impl JobId {
    /// The id of the job building the bundle of `model` on `sku` from release `from` (`None`:
    /// the full image).
    pub fn new(sku: &str, model: &str, from: Option<&semver::Version>) -> Self {
        let base = from.map_or_else(|| FULL_IMAGE_JOB.to_owned(), ToString::to_string);
        Self(format!(
            "{sku}{JOB_ID_SEPARATOR}{model}{JOB_ID_SEPARATOR}{base}"
        ))
    }

    /// An id as a user typed it (`--job`); whether it names a job is the plan's to say.
    pub fn parse(text: &str) -> Self {
        Self(text.to_owned())
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_made_of_the_names() {
        let v = semver::Version::parse("2.1.0-rc.1+build.5").unwrap();
        assert_eq!(
            JobId::new("wakeword-m4-1mb", "okay-nabu", Some(&v)).as_str(),
            "wakeword-m4-1mb~okay-nabu~2.1.0-rc.1+build.5"
        );
        assert_eq!(
            JobId::new("s3.rev_b", "micro-speech", None).as_str(),
            "s3.rev_b~micro-speech~full"
        );
    }

    #[test]
    fn ids_are_usable_as_directory_and_artefact_names() {
        let v = semver::Version::parse("1.0.0-alpha-1+x").unwrap();
        let id = JobId::new("a.b-c_D", "m_1-x", Some(&v));
        assert!(
            id.as_str()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-+~".contains(c)),
            "{id}"
        );
        assert_ne!(id, JobId::new("a.b-c_D", "m_1-x", None));
    }
}
