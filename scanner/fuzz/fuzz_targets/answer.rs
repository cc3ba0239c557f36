//! The coordinator's reader of an analyzer's answer: the analyzer runs with a container's identity,
//! so its answer is hostile input to the privileged side.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan_containers::answer::{self, CONTRACT_KEYS, IDENTITY_KEYS, MAX_RUNTIMES, MAX_VALUE_LEN};

fn assert_clean(value: &str) {
    assert!(!value.is_empty() && value.len() <= MAX_VALUE_LEN);
    assert!(value.bytes().all(|b| (0x20..=0x7e).contains(&b)));
}

fuzz_target!(|data: &[u8]| {
    for with_identity in [false, true] {
        let Ok(parsed) = answer::parse(data, with_identity) else {
            continue;
        };
        // What reaches the output: only known keys, with short printable values.
        for (key, value) in parsed.fields.iter().chain(parsed.identity.iter()) {
            assert!(CONTRACT_KEYS.contains(&key.as_str()) || IDENTITY_KEYS.contains(&key.as_str()));
            assert_clean(value);
        }
        assert!(with_identity || parsed.identity.is_empty());
        // The runtimes list: bounded, clean, and led by `runtime-name`/`runtime-version`.
        assert!(parsed.runtimes.len() <= MAX_RUNTIMES);
        for (name, version) in &parsed.runtimes {
            assert_clean(name);
            version.as_deref().map(assert_clean);
        }
        if let Some((name, version)) = parsed.runtimes.first() {
            assert_eq!(parsed.fields.get("runtime-name"), Some(name));
            assert_eq!(parsed.fields.get("runtime-version"), version.as_ref());
        }
    }
});
