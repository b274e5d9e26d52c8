//! "Did you mean" hints.

/// The candidate closest to `name`, if it is close enough to be a plausible
/// typo (Jaro–Winkler similarity ≥ 0.8, the threshold cargo uses in spirit).
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Reads serde's "unknown field `x`, expected one of `a`, `b`" (and the
/// `variant` form) and suggests the closest expected name.
pub fn for_serde_message(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (got, expected) = rest.split_once('`')?;
    let names: Vec<&str> = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|n| !n.is_empty())
        .collect();
    closest(got, names.iter().copied()).map(|n| format!("did you mean `{n}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_from_serde_unknown_field() {
        let msg = "unknown field `strcit`, expected one of `strict`, `categories`, `aliases`";
        assert_eq!(
            for_serde_message(msg).as_deref(),
            Some("did you mean `strict`?")
        );
    }

    #[test]
    fn suggests_from_serde_unknown_variant() {
        let msg =
            "unknown variant `boolean`, expected one of `bool`, `string`, `int`, `float`, `enum`";
        assert_eq!(
            for_serde_message(msg).as_deref(),
            Some("did you mean `bool`?")
        );
    }

    #[test]
    fn no_suggestion_when_nothing_is_close() {
        let msg = "unknown field `zzz`, expected `strict`";
        assert_eq!(for_serde_message(msg), None);
        assert_eq!(for_serde_message("invalid type: string"), None);
    }
}
