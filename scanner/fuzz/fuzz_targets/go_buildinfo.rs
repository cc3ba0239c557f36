//! Go build info: the ELF reader, the magic search in the data segment, both header layouts
//! (inline varint strings and pointers to Go string headers) and the module info parser.
#![no_main]

use fingerprints::kinds::go;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(info) = go::read(scanner_fuzz::as_file(data)) {
        let _ = go::detect_go(&info);
    }
});
