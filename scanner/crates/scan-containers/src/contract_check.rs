//! The coordinator's side of the scanner <-> controller contract, held to its one declaration,
//! `contract/scan-tree.json`. This crate keeps to the standard library, so the few facts needed are read from
//! the file's text; fingerprints' contract test reads the same file with a JSON reader.

use crate::answer::{CONTRACT_KEYS, MAX_RUNTIMES, MAX_VALUE_LEN};
use crate::cli::USAGE;

const CONTRACT: &str = include_str!("../../../../contract/scan-tree.json");

/// The text after `"key":` (first occurrence at or after `from`), trimmed.
fn after(key: &str, from: usize) -> &'static str {
    let quoted = format!("\"{key}\":");
    let at = CONTRACT[from..]
        .find(&quoted)
        .unwrap_or_else(|| panic!("the contract states {key}"));
    CONTRACT[from + at + quoted.len()..].trim_start()
}

fn number(key: &str) -> usize {
    let text = after(key, 0);
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    text[..end].parse().expect("a whole number")
}

/// The `"key"` strings of the contract's `keys` list, in order.
fn keys() -> Vec<&'static str> {
    let start = CONTRACT.find("\"keys\":").expect("the contract lists keys");
    let end = start + CONTRACT[start..].find(']').expect("the list ends");
    let mut out = Vec::new();
    let mut at = start;
    while let Some(found) = CONTRACT[at..end].find("\"key\":") {
        let text = after("key", at + found);
        let text = text.strip_prefix('"').expect("a string");
        out.push(&text[..text.find('"').expect("a closed string")]);
        at += found + 1;
    }
    out
}

#[test]
fn keys_and_limits_are_the_contracts() {
    assert_eq!(CONTRACT_KEYS.to_vec(), keys());
    assert_eq!(MAX_VALUE_LEN, number("maxLength"));
    assert_eq!(MAX_RUNTIMES, number("maxItems"));
}

#[test]
fn the_help_states_the_contract() {
    let usage = USAGE.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(usage.contains(&format!("{{{}, runtimes:", keys().join(", "))));
    assert!(usage.contains(&format!(
        "runtimes: at most {MAX_RUNTIMES} {{name, version}}"
    )));
    assert!(usage.contains(&format!("at most {MAX_VALUE_LEN} characters")));
}
