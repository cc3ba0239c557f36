//! `/etc/os-release`, read and parsed as the analyzer does (the same size cap, through a root).
#![no_main]

use fingerprints::os_release;
use libfuzzer_sys::fuzz_target;
use scanner_fuzz::OneFileRoot;

fuzz_target!(|data: &[u8]| {
    let os = os_release::read(&OneFileRoot::new("/etc/os-release", data));
    for value in [os.id, os.version_id].into_iter().flatten() {
        assert!(!value.is_empty(), "an empty value is reported as absent");
    }
});
