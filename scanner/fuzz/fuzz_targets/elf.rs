//! The ELF reader and everything that reads an executable's or library's bytes through it: headers,
//! sections, `DT_NEEDED`, and the string searches of the native runtime detectors.
#![no_main]

use fingerprints::{frameworks, native};
use libfuzzer_sys::fuzz_target;
use scanner_fuzz::OneFileRoot;

const PATH: &str = "/usr/bin/program";

fuzz_target!(|data: &[u8]| {
    let root = OneFileRoot::new(PATH, data);
    let Some(bin) = native::Binary::open(&root, PATH) else {
        return;
    };
    let _ = bin.elf.needed(&bin.file);
    let _ = native::node_version(&bin);
    let _ = native::python_version(&bin, "3.11");
    let _ = native::embeds_python(&bin);
    let _ = native::ruby_version(&bin);
    let _ = native::php_version(&bin);
    let _ = native::graalvm(&bin);
    let _ = frameworks::detect_binary(&bin);
    let _ = frameworks::detect_native_image(&bin);
});
