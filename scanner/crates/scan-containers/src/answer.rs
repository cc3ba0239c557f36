//! Validating what an analyzer answered. The analyzer runs with a container's identity, so a hostile
//! container may control it: its answer is size-capped by the reader and parsed here as hostile input.
//!
//! Format: ASCII lines `key=value`, then a last line `done`. Only known keys with short printable values
//! are kept; anything else is dropped and counted. A missing `done` (a crash or a cut answer) rejects the
//! whole answer.
//!
//! The ordered runtimes come as `runtimes.<i>.name` / `runtimes.<i>.version` (`i` from 0, below
//! [`MAX_RUNTIMES`]); the list must be gapless and its first entry must equal `runtime-name` /
//! `runtime-version`, otherwise the whole list is dropped (the seven keys stay).

use std::collections::BTreeMap;

/// The `/scan-containers` contract keys, in output order.
pub const CONTRACT_KEYS: [&str; 7] = [
    "os-release-id",
    "os-release-version-id",
    "runtime-kind",
    "runtime-kind-version",
    "runtime-kind-implementer",
    "runtime-name",
    "runtime-version",
];

/// Keys of the analyzer's self-description (`--report-identity`), kept only in the run report.
pub const IDENTITY_KEYS: [&str; 9] = [
    "analyzer-uid",
    "analyzer-gid",
    "analyzer-groups",
    "analyzer-cap-effective",
    "analyzer-cap-permitted",
    "analyzer-cap-bounding",
    "analyzer-no-new-privs",
    "analyzer-seccomp",
    "analyzer-dumpable",
];

pub const MAX_VALUE_LEN: usize = 200;
/// Most runtimes kept per container (the framework and the servers it embeds).
pub const MAX_RUNTIMES: usize = 4;
const MAX_LINES: usize = 64;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Contract key -> value.
    pub fields: BTreeMap<String, String>,
    /// Identity key -> value (only when asked for).
    pub identity: BTreeMap<String, String>,
    /// Every framework and server, in the analyzer's order: `(name, version)`.
    pub runtimes: Vec<(String, Option<String>)>,
    /// Lines that were dropped, described without echoing their content.
    pub dropped: Vec<String>,
}

impl Answer {
    /// Contract fields in the contract's order.
    pub fn ordered_fields(&self) -> Vec<(&'static str, &str)> {
        CONTRACT_KEYS
            .iter()
            .filter_map(|k| self.fields.get(*k).map(|v| (*k, v.as_str())))
            .collect()
    }
}

pub fn parse(bytes: &[u8], with_identity: bool) -> Result<Answer, String> {
    let body = bytes
        .strip_suffix(b"done\n")
        .ok_or("the answer is incomplete (no final `done` line)")?;
    if !body.is_empty() && !body.ends_with(b"\n") {
        return Err("the answer is incomplete (no final `done` line)".into());
    }
    let mut answer = Answer::default();
    let mut runtimes: BTreeMap<usize, (Option<String>, Option<String>)> = BTreeMap::new();
    for (number, line) in body
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if number >= MAX_LINES {
            answer
                .dropped
                .push(format!("lines after the first {MAX_LINES}"));
            break;
        }
        let Some(eq) = line.iter().position(|b| *b == b'=') else {
            answer
                .dropped
                .push(format!("line {}: not key=value", number + 1));
            continue;
        };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        if let Some((index, part)) = runtime_key(key) {
            if !valid_value(value) {
                answer.dropped.push(format!(
                    "runtimes.{index}.{part}: value is empty, too long or not printable ASCII"
                ));
                continue;
            }
            let slot = runtimes.entry(index).or_default();
            let target = if part == "name" {
                &mut slot.0
            } else {
                &mut slot.1
            };
            if target.is_some() {
                answer
                    .dropped
                    .push(format!("runtimes.{index}.{part}: repeated"));
                continue;
            }
            *target = Some(String::from_utf8_lossy(value).into_owned());
            continue;
        }
        let known = CONTRACT_KEYS
            .iter()
            .chain(IDENTITY_KEYS.iter())
            .find(|k| k.as_bytes() == key);
        let Some(&key) = known else {
            answer
                .dropped
                .push(format!("line {}: unknown key", number + 1));
            continue;
        };
        let target = if CONTRACT_KEYS.contains(&key) {
            &mut answer.fields
        } else if with_identity {
            &mut answer.identity
        } else {
            answer.dropped.push(format!("{key}: not asked for"));
            continue;
        };
        if !valid_value(value) {
            answer.dropped.push(format!(
                "{key}: value is empty, too long or not printable ASCII"
            ));
            continue;
        }
        if target.contains_key(key) {
            answer.dropped.push(format!("{key}: repeated"));
            continue;
        }
        // Checked to be printable ASCII above.
        target.insert(key.to_string(), String::from_utf8_lossy(value).into_owned());
    }
    answer.runtimes = runtime_list(runtimes, &answer.fields, &mut answer.dropped);
    Ok(answer)
}

fn valid_value(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_VALUE_LEN
        && value.iter().all(|b| (0x20..=0x7e).contains(b))
}

/// `runtimes.<i>.name` / `runtimes.<i>.version` with `i < MAX_RUNTIMES` (one digit, no leading zeros).
fn runtime_key(key: &[u8]) -> Option<(usize, &'static str)> {
    let rest = key.strip_prefix(b"runtimes.")?;
    let (&digit, part) = rest.split_first()?;
    let index = usize::from(digit.checked_sub(b'0')?);
    if index >= MAX_RUNTIMES {
        return None;
    }
    match part {
        b".name" => Some((index, "name")),
        b".version" => Some((index, "version")),
        _ => None,
    }
}

/// The gapless list from index 0; dropped whole when it contradicts `runtime-name`/`runtime-version`.
fn runtime_list(
    slots: BTreeMap<usize, (Option<String>, Option<String>)>,
    fields: &BTreeMap<String, String>,
    dropped: &mut Vec<String>,
) -> Vec<(String, Option<String>)> {
    let mut list = Vec::new();
    for (index, (name, version)) in slots {
        match name {
            Some(name) if index == list.len() => list.push((name, version)),
            _ => dropped.push(format!("runtimes.{index}: no name, or a gap before it")),
        }
    }
    let first_agrees = list.first().is_none_or(|(name, version)| {
        fields.get("runtime-name") == Some(name)
            && fields.get("runtime-version") == version.as_ref()
    });
    if !first_agrees {
        dropped.push("runtimes: the first does not match runtime-name/runtime-version".into());
        return Vec::new();
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_answer() {
        let a = parse(b"os-release-id=rhel\nruntime-kind=Java\nruntime-kind-implementer=Red Hat, Inc.\ndone\n", false)
            .expect("valid");
        assert_eq!(
            a.ordered_fields(),
            vec![
                ("os-release-id", "rhel"),
                ("runtime-kind", "Java"),
                ("runtime-kind-implementer", "Red Hat, Inc.")
            ]
        );
        assert!(a.dropped.is_empty());
    }

    #[test]
    fn empty_answer_is_valid() {
        assert_eq!(parse(b"done\n", false), Ok(Answer::default()));
    }

    #[test]
    fn cut_or_missing_done_is_rejected() {
        assert!(parse(b"", false).is_err());
        assert!(parse(b"os-release-id=rhel\n", false).is_err());
        assert!(parse(b"os-release-id=rhel\ndone", false).is_err());
        assert!(parse(b"os-release-id=rheldone\n", false).is_err());
        assert!(parse(b"done\nextra\n", false).is_err());
    }

    #[test]
    fn hostile_lines_are_dropped_not_echoed() {
        let long = format!("runtime-version={}\n", "9".repeat(MAX_VALUE_LEN + 1));
        let input = format!(
            "os-release-id=rhel\nos-release-id=fedora\nsecret=hunter2\nno equals sign\nruntime-kind=Ja\u{1b}[0mva\nruntime-name=\n{long}analyzer-uid=0\ndone\n"
        );
        let a = parse(input.as_bytes(), false).expect("parsed");
        assert_eq!(a.ordered_fields(), vec![("os-release-id", "rhel")]);
        assert_eq!(a.dropped.len(), 7);
        assert!(a
            .dropped
            .iter()
            .all(|d| !d.contains("hunter2") && !d.contains("fedora")));
        assert!(a.identity.is_empty());
    }

    #[test]
    fn identity_only_when_asked() {
        let a = parse(b"analyzer-uid=1000\ndone\n", true).expect("parsed");
        assert_eq!(
            a.identity.get("analyzer-uid").map(String::as_str),
            Some("1000")
        );
        assert!(a.fields.is_empty());
    }

    #[test]
    fn runtimes_in_order() {
        let a = parse(b"runtime-name=Spring Boot\nruntime-version=3.5.13\nruntimes.0.name=Spring Boot\nruntimes.0.version=3.5.13\nruntimes.1.name=Apache Tomcat\nruntimes.1.version=10.1.54\ndone\n", false)
            .expect("valid");
        assert_eq!(
            a.runtimes,
            vec![
                ("Spring Boot".into(), Some("3.5.13".into())),
                ("Apache Tomcat".into(), Some("10.1.54".into()))
            ]
        );
        assert!(a.dropped.is_empty());
        let no_version = parse(
            b"runtime-name=Quarkus\nruntimes.0.name=Quarkus\ndone\n",
            false,
        )
        .expect("valid");
        assert_eq!(no_version.runtimes, vec![("Quarkus".into(), None)]);
    }

    #[test]
    fn hostile_runtimes_are_dropped() {
        // A gap, a version without a name, an index past the cap, a repeat, a bad value.
        let a = parse(b"runtime-name=A\nruntimes.0.name=A\nruntimes.0.name=B\nruntimes.2.name=C\nruntimes.3.version=1\nruntimes.4.name=D\nruntimes.1.version=\x01\ndone\n", false)
            .expect("parsed");
        assert_eq!(a.runtimes, vec![("A".into(), None)]);
        assert_eq!(a.dropped.len(), 5, "{:?}", a.dropped);
        // The first must be runtime-name/runtime-version, or the list goes.
        let lying = parse(
            b"runtime-name=A\nruntime-version=1\nruntimes.0.name=A\nruntimes.0.version=2\ndone\n",
            false,
        )
        .expect("parsed");
        assert!(lying.runtimes.is_empty());
        assert_eq!(lying.ordered_fields().len(), 2);
        let unnamed = parse(b"runtimes.0.name=A\ndone\n", false).expect("parsed");
        assert!(unnamed.runtimes.is_empty());
    }

    #[test]
    fn line_count_is_capped() {
        let mut input = "os-release-id=x\n".repeat(100);
        input.push_str("done\n");
        let a = parse(input.as_bytes(), false).expect("parsed");
        assert_eq!(a.fields.len(), 1);
        assert_eq!(a.dropped.len(), MAX_LINES);
    }
}
