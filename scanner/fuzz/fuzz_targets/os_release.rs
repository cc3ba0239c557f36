//! `/etc/os-release` as the analyzer reads it: at most `MAX_BYTES` of the file (what
//! `os_release::read` takes through the container root), then parsed.
#![no_main]

use fingerprints::read::os_release;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let os = os_release::parse(&data[..data.len().min(os_release::MAX_BYTES)]);
    for value in [os.id, os.version_id].into_iter().flatten() {
        assert!(!value.is_empty(), "an empty value is reported as absent");
    }
});
