//! Release versions as bundle headers carry them: semantic versions reduced to u32
//! major/minor/patch (pre-release and build metadata stay in file names and the index only).

use mallorn_runtime::format::ModelVersion;

use crate::build::error::BuildError;

/// The header version of `version` of `model`; refuses numbers above `u32::MAX`.
pub fn header_version(model: &str, version: &semver::Version) -> Result<ModelVersion, BuildError> {
    let part = |part: &'static str, value: u64| {
        u32::try_from(value).map_err(|_| BuildError::VersionTooLarge {
            model: model.into(),
            version: version.to_string(),
            part,
            value,
        })
    };
    Ok(ModelVersion::new(
        part("major", version.major)?,
        part("minor", version.minor)?,
        part("patch", version.patch)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_numbers_and_refuses_overflow() {
        let v = semver::Version::parse("1.2.3-rc.1").unwrap();
        assert_eq!(header_version("m", &v).unwrap(), ModelVersion::new(1, 2, 3));
        let big = semver::Version::new(1, 1 << 33, 0);
        let err = header_version("m", &big).unwrap_err();
        assert!(err.to_string().contains("minor 8589934592"), "{err}");
    }
}
