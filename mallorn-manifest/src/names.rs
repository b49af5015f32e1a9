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

/// Whether tensor `name` matches `pattern`: `*` matches any run of characters (also none),
/// `?` exactly one, everything else itself.
pub fn matches_pattern(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Greedy match with backtracking to the last `*` (linear in practice, no recursion).
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
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

    #[test]
    fn patterns_match_whole_names() {
        assert!(matches_pattern("*norm*", "encoder.0.layernorm.weight"));
        assert!(matches_pattern("*.bias", "fc.bias"));
        assert!(!matches_pattern("*.bias", "fc.bias.scale"));
        assert!(matches_pattern("layer.?.w", "layer.3.w"));
        assert!(!matches_pattern("layer.?.w", "layer.13.w"));
        assert!(matches_pattern("*", ""));
        assert!(matches_pattern("a*b*c", "aXXbYYbZc"));
        assert!(!matches_pattern("a*b*c", "aXXbYY"));
        assert!(!matches_pattern("", "x"));
    }
}
