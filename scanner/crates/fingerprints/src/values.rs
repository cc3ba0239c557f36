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

/// The upstream version of a version as a distribution built it (docs/fingerprints.md, "Upstream versions"):
/// the distribution's packaging revision is dropped, a vendor qualifier that is part of the product's own
/// version stays.
/// - An epoch `N:` is dropped (`1:10.11.19-0+deb12u1` -> `10.11.19`).
/// - The packaging revision starts at the first `-` that sits between two digits (`2.6.12-1+deb12u4` ->
///   `2.6.12`, `9.7.4-2` -> `9.7.4`) or right after a Debian repack mark (`+dfsg1`, `+ds`), which is
///   dropped with it (`8.1.1+dfsg1-3+deb13u3` -> `8.1.1`, `11.8.9+ds-0+deb13u1` -> `11.8.9`).
/// - A qualifier glued by a letter stays whole: `24.0.10.redhat-00005`, `2.13.8.Final-redhat-00004`,
///   `30.0.0.Final`, `16beta1`.
pub fn upstream_version(raw: &str) -> &str {
    let v = match raw.split_once(':') {
        Some((epoch, rest)) if !epoch.is_empty() && epoch.bytes().all(|c| c.is_ascii_digit()) => {
            rest
        }
        _ => raw,
    };
    let without_repack = |head: &str| -> usize {
        ["+dfsg", "+ds"]
            .iter()
            .filter_map(|mark| {
                let at = head.rfind(mark)?;
                let rest = &head[at + mark.len()..];
                rest.bytes().all(|c| c.is_ascii_digit()).then_some(at)
            })
            .min()
            .unwrap_or(head.len())
    };
    for (i, _) in v.match_indices('-') {
        let head = &v[..i];
        let upstream = &head[..without_repack(head)];
        let revision_starts = v[i + 1..].starts_with(|c: char| c.is_ascii_digit())
            && (upstream.len() < head.len() || head.ends_with(|c: char| c.is_ascii_digit()));
        if revision_starts {
            return upstream;
        }
    }
    &v[..without_repack(v)]
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

    #[test]
    fn upstream_versions_drop_the_distribution_revision() {
        // Strings taken from the real Debian artifacts: the bytes of haproxy 2.6.12 and 3.0.11, the
        // `.note.package` of trixie's mariadbd, and the packages' own `Version` fields.
        for (raw, upstream) in [
            ("2.6.12-1+deb12u4", "2.6.12"),
            ("3.0.11-1+deb13u4", "3.0.11"),
            ("1:11.8.9+ds-0+deb13u1", "11.8.9"),
            ("1:10.11.19-0+deb12u1", "10.11.19"),
            ("5:7.0.15-1~deb12u10", "7.0.15"),
            ("8.1.1+dfsg1-3+deb13u3", "8.1.1"),
            ("2.4.71-1~deb12u1", "2.4.71"),
            ("1.22.1-9+deb12u11", "1.22.1"),
            ("9.7.4-2", "9.7.4"),
            ("15.18", "15.18"),
        ] {
            assert_eq!(upstream_version(raw), upstream, "{raw:?}");
        }
        // A vendor qualifier is part of the product version: Red Hat builds, JBoss-style finals, pre-releases.
        for kept in [
            "24.0.10.redhat-00005",
            "2.13.8.Final-redhat-00004",
            "30.0.0.Final",
            "16beta1",
            "3.13.0rc2",
            "1.0~rc1",
        ] {
            assert_eq!(upstream_version(kept), kept);
        }
        for odd in ["", "-", ":", "1:", "a:1.0-1", "1.0-", "+ds-1"] {
            let _ = upstream_version(odd);
        }
        assert_eq!(upstream_version("a:1.0-1"), "a:1.0");
        assert_eq!(upstream_version("+ds-1"), "");
    }
}
