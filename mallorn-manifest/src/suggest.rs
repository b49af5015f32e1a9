//! "Did you mean …?": the closest valid name to a misspelt one.

/// Levenshtein distance between `a` and `b`, counted in characters.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

/// Lower-cases and turns `_` into `-`, the two slips the kebab-case keys invite.
fn normalise(name: &str) -> String {
    name.to_lowercase().replace('_', "-")
}

/// The candidate closest to `wrong`, if it is close enough to be a plausible typo.
///
/// Case and `_`/`-` differences cost nothing; otherwise up to one edit per four characters
/// (at least one) is accepted. Ties go to the earlier candidate, so results are stable.
pub fn closest<'a, I>(wrong: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let wrong = normalise(wrong);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let distance = edit_distance(&wrong, &normalise(candidate));
        let allowed = (candidate.chars().count() / 4).max(1);
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_insertions_deletions_substitutions() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("erase-sise", "erase-size"), 1);
    }

    #[test]
    fn suggests_the_closest_plausible_key() {
        let keys = ["erase-size", "write-size", "base", "size"];
        assert_eq!(closest("erase-sise", keys), Some("erase-size"));
        assert_eq!(closest("erase_size", keys), Some("erase-size"));
        assert_eq!(closest("Write-Size", keys), Some("write-size"));
        assert_eq!(
            closest("bsae", keys),
            None,
            "two edits on a 4-letter key is a guess"
        );
        assert_eq!(closest("page-size", keys), None);
        assert_eq!(closest("sizes", keys), Some("size"));
    }
}
