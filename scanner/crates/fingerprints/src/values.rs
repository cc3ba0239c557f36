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

/// A Red Hat product version: a plain [`version`], or the "X.Y Update N" form that JBoss EAP 8 states in
/// `version.txt` and its product manifest ("8.0 Update 6.1"), kept whole: cutting it to "8.0" would claim the
/// unpatched release.
pub fn product_version(raw: &str) -> Option<String> {
    let v = raw.trim();
    let numeric = |s: &str, max_parts: usize| {
        let parts: Vec<&str> = s.split('.').collect();
        parts.len() <= max_parts
            && parts
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 6 && p.bytes().all(|c| c.is_ascii_digit()))
    };
    if let Some((release, update)) = v.split_once(" Update ") {
        let ok = v.len() <= MAX_LEN
            && release.contains('.')
            && numeric(release, 2)
            && numeric(update, 2);
        return ok.then(|| v.to_owned());
    }
    version(v)
}

/// A name (vendor, product): printable ASCII letters, digits, spaces and `.,-_()/&+'`, at most 64 chars,
/// starting with a letter or digit.
/// A Go toolchain version as the build info records it, e.g. `go1.21.3`, or with the experiments the
/// binary was built with, e.g. `go1.20.12 X:strictfipsruntime` (kept whole: the workloads gatherer's
/// existing data hashes that exact string).
pub fn go_version(raw: &str) -> Option<String> {
    let v = raw.trim();
    let (base, experiments) = match v.split_once(' ') {
        Some((base, rest)) => (base, Some(rest.strip_prefix("X:")?)),
        None => (v, None),
    };
    let experiments_ok = experiments.is_none_or(|x| {
        !x.is_empty()
            && x.len() <= MAX_LEN
            && x.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, ',' | '_'))
    });
    (base.starts_with("go") && version(base).as_deref() == Some(base) && experiments_ok)
        .then(|| v.to_owned())
}

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
    fn product_versions() {
        assert_eq!(product_version("7.4.19.GA").as_deref(), Some("7.4.19.GA"));
        assert_eq!(
            product_version(" 8.0 Update 6.1 ").as_deref(),
            Some("8.0 Update 6.1")
        );
        assert_eq!(
            product_version("8.1 Update 3.0").as_deref(),
            Some("8.1 Update 3.0")
        );
        assert_eq!(
            product_version("8.0 Update 6").as_deref(),
            Some("8.0 Update 6")
        );
        for bad in [
            "8.0 Update",
            "Update 6.1",
            "8 Update 6",
            "8.0 Update 6.1.2.3",
            "8.0 Update x",
            "8.0 Update 6.1 GA",
            "8.0  Update 6",
            "8.0 Update -1",
        ] {
            assert_eq!(product_version(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn go_versions_keep_their_experiments() {
        for good in [
            "go1.21.3",
            "go1.20.12 X:strictfipsruntime",
            "go1.22.0 X:boringcrypto,nocoverageredesign",
        ] {
            assert_eq!(go_version(good).as_deref(), Some(good));
        }
        for bad in [
            "1.21.3",
            "go1.21.3  X:a",
            "go1.21.3 X:",
            "go1.21.3 Y:x",
            "go1.21.3 X:Evil Stuff",
            "gox",
        ] {
            assert_eq!(go_version(bad), None, "{bad:?}");
        }
    }

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
