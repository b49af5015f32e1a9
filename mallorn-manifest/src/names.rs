//! The naming rules of Mallorn.toml, in one place: `cargo mallorn diff` checks its `--model`
//! and `--sku` with the same functions the manifest validation uses.

/// `[a-z0-9][a-z0-9_-]*`: a model name, safe in file names and generated identifiers.
pub fn is_valid_model_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Letters, digits, `.`, `-` and `_`, and not `.` or `..`: a SKU, used as a folder name in
/// the output directory.
pub fn is_valid_sku(sku: &str) -> bool {
    sku != "."
        && sku != ".."
        && !sku.is_empty()
        && sku
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rules() {
        assert!(is_valid_model_name("okay-nabu_2"));
        assert!(!is_valid_model_name("Okay"));
        assert!(!is_valid_model_name("-x"));
        assert!(!is_valid_model_name(""));
        assert!(is_valid_sku("Board.v2_a-1"));
        assert!(!is_valid_sku("my board"));
        assert!(!is_valid_sku(""));
        assert!(!is_valid_sku(".."));
    }
}
