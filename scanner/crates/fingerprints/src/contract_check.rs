//! The analyzer's side of the scanner <-> controller contract, held to its one declaration,
//! `contract/scan-tree.json` (read with this crate's own JSON reader). The controller's unit tests hold the
//! TypeScript side, the ScanResult CRD and scan-containers to the same file.

use crate::read::json_parser::{self as json, Value};
use crate::{values, Fingerprint, Runtime, MAX_RUNTIMES};

const CONTRACT: &str = include_str!("../../../../contract/scan-tree.json");

fn contract() -> Value {
    json::parse(CONTRACT.as_bytes()).expect("contract/scan-tree.json is JSON")
}

/// A number of the contract: this crate's reader keeps no numbers, so it is read from the text.
fn number(key: &str) -> usize {
    let quoted = format!("\"{key}\":");
    let at = CONTRACT.find(&quoted).expect("the contract states it") + quoted.len();
    let digits: String = CONTRACT[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().expect("a whole number")
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => panic!("not an array"),
    }
}

#[test]
fn output_keys_are_the_contracts() {
    let contract = contract();
    let keys: Vec<&str> = match contract.get("keys") {
        Some(Value::Array(items)) => items
            .iter()
            .map(|k| k.get("key").and_then(Value::as_str).expect("a key"))
            .collect(),
        _ => panic!("the contract lists keys"),
    };
    let all = Fingerprint {
        os_release_id: Some("a".into()),
        os_release_version_id: Some("a".into()),
        runtime_kind: Some("a".into()),
        runtime_kind_version: Some("a".into()),
        runtime_kind_implementer: Some("a".into()),
        runtime_name: Some("a".into()),
        runtime_version: Some("a".into()),
        ..Fingerprint::default()
    };
    let ours: Vec<&str> = all.entries().into_iter().map(|(k, _)| k).collect();
    assert_eq!(ours, keys);
}

#[test]
fn runtimes_are_the_contracts() {
    let c = contract();
    let runtimes = c.get("runtimes").expect("the contract declares runtimes");
    let key = runtimes.get("key").and_then(Value::as_str).unwrap();
    assert_eq!(MAX_RUNTIMES, number("maxItems"));
    let one = Fingerprint {
        runtimes: vec![Runtime {
            name: "a".into(),
            version: Some("1".into()),
        }],
        ..Fingerprint::default()
    };
    let lines: Vec<String> = one.runtime_entries().into_iter().map(|(k, _)| k).collect();
    let fields = strings(runtimes.get("fields").unwrap());
    let expected: Vec<String> = fields.iter().map(|f| format!("{key}.0.{f}")).collect();
    assert_eq!(lines, expected);
}

#[test]
fn values_stay_within_the_analyzers_stricter_limit() {
    let limit = number("analyzerMaxLength");
    assert!(limit <= number("maxLength"));
    assert!(values::name(&"a".repeat(limit)).is_some());
    assert!(values::name(&"a".repeat(limit + 1)).is_none());
    assert!(values::version(&format!("1{}", "0".repeat(limit - 1))).is_some());
    assert!(values::version(&format!("1{}", "0".repeat(limit))).is_none());
}
