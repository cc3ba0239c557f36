//! What may leave the analyzer: values that look like a version or a name, nothing else.

const MAX_LEN: usize = 64;

/// A version: starts with a digit (or `v`/`go` then a digit), then `[A-Za-z0-9._+~-]`, at most 64 chars.
pub fn version(raw: &str) -> Option<String> {
    let v = raw.trim();
    let body = v
        .strip_prefix("go")
        .or_else(|| v.strip_prefix('v'))
        .unwrap_or(v);
    let ok = !v.is_empty()
        && v.len() <= MAX_LEN
        && body.starts_with(|c: char| c.is_ascii_digit())
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '~' | '-'));
    ok.then(|| v.to_owned())
}

/// A name (vendor, product): printable ASCII letters, digits, spaces and `.,-_()/&+'`, at most 64 chars,
/// starting with a letter or digit.
pub fn name(raw: &str) -> Option<String> {
    let v = raw.trim();
    let ok = !v.is_empty()
        && v.len() <= MAX_LEN
        && v.starts_with(|c: char| c.is_ascii_alphanumeric())
        && v.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    ' ' | '.' | ',' | '-' | '_' | '(' | ')' | '/' | '&' | '+' | '\''
                )
        });
    ok.then(|| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for good in [
            "17.0.15",
            "1.8.0_392",
            "go1.21.3",
            "v18.18.2",
            "2.13.8.Final-redhat-00004",
            "25.0.3+9-LTS",
        ] {
            assert_eq!(version(good).as_deref(), Some(good));
        }
        for bad in [
            "",
            "Final",
            "1.0 beta",
            "v",
            "1.0\u{0}",
            "<1.0>",
            &"1".repeat(65),
            "vx1",
        ] {
            assert_eq!(version(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn names() {
        for good in [
            "Red Hat, Inc.",
            "Eclipse Adoptium",
            "Oracle Corporation",
            "GraalVM CE 21.0.2+13.1",
        ] {
            assert_eq!(name(good).as_deref(), Some(good));
        }
        for bad in [
            "",
            "\u{1b}[31mx",
            "a\nb",
            "<script>",
            " ",
            &"a".repeat(65),
            "\"quoted\"",
        ] {
            assert_eq!(name(bad), None, "{bad:?}");
        }
    }
}
