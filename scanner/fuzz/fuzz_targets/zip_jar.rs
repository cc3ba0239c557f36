//! The zip (jar) reader as the JVM detectors use it: the central directory, the manifest, `.properties`
//! entries, and one nested jar (Spring Boot's `BOOT-INF/lib/*.jar`) with its own manifest.
#![no_main]

use fingerprints::read::{jar, zip::Archive};
use libfuzzer_sys::fuzz_target;

/// Entries whose properties are read per input: the detectors read a named entry or two, not all.
const ENTRIES_READ: usize = 8;

fuzz_target!(|data: &[u8]| {
    let Some(archive) = Archive::open(scanner_fuzz::as_file(data)) else {
        return;
    };
    if let Some(manifest) = jar::manifest(&archive) {
        let _ = manifest.get("Implementation-Version");
    }
    for entry in archive.entries.iter().take(ENTRIES_READ) {
        let _ = jar::entry_property(&archive, &entry.name, "version");
    }
    if let Some(nested) = archive
        .entries
        .iter()
        .find(|e| e.name.ends_with(".jar"))
        .and_then(|e| archive.open_nested(e))
    {
        let _ = jar::manifest(&nested);
        // A third level is refused by design.
        if let Some(inner) = nested.entries.first() {
            assert!(nested.open_nested(inner).is_none());
        }
    }
});
