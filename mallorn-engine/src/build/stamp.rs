//! The fingerprint of a build that a job directory carries, so that the merge assembles only
//! bundles built from the same Mallorn.toml, inputs and tool as the output it writes.

use serde::{Deserialize, Serialize};

use crate::build::cache::tool_fingerprint;

/// What a job was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildStamp {
    /// The key of the whole build (tool, plan, model files, keys, templates, policies; see
    /// `build::cache`), the same for every job of one build and for its merge.
    pub build_key: String,
    /// The tool that built it: version and the SHA-256 of its executable.
    pub tool: String,
}

/// Why a job directory does not belong to the build being merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampMismatch {
    /// Another mallorn executable built it.
    Tool,
    /// The same tool, but another Mallorn.toml, model file, key or template.
    Inputs,
}

impl BuildStamp {
    /// The stamp of a build with `build_key` by the running tool.
    pub fn new(build_key: String) -> Self {
        Self {
            build_key,
            tool: tool_fingerprint().to_owned(),
        }
    }

    /// Why `other` (a job's stamp) is not this build's, if it is not.
    pub fn mismatch(&self, other: &Self) -> Option<StampMismatch> {
        if self.tool != other.tool {
            Some(StampMismatch::Tool)
        } else if self.build_key != other.build_key {
            Some(StampMismatch::Inputs)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_differs() {
        let this = BuildStamp::new("k".into());
        assert_eq!(this.mismatch(&this.clone()), None);
        let inputs = BuildStamp::new("other".into());
        assert_eq!(this.mismatch(&inputs), Some(StampMismatch::Inputs));
        let tool = BuildStamp {
            tool: "mallorn 0.0.0 0000".into(),
            ..this.clone()
        };
        assert_eq!(this.mismatch(&tool), Some(StampMismatch::Tool));
    }
}
