//! The ELF reader and everything that reads an executable's or library's bytes through it: headers,
//! sections, `DT_NEEDED`, and the string searches of the native runtime detectors.
#![no_main]

use fingerprints::kinds::run_every_binary_reader;
use fingerprints::read::binary::Binary;
use libfuzzer_sys::fuzz_target;
use scanner_fuzz::OneFileRoot;

const PATH: &str = "/usr/bin/program";

fuzz_target!(|data: &[u8]| {
    let root = OneFileRoot::new(PATH, data);
    let Some(bin) = Binary::open(&root, PATH) else {
        return;
    };
    run_every_binary_reader(&bin);
});
