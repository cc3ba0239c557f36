//! The ELF reader and everything that reads an executable's or library's bytes through it: headers,
//! sections, `DT_NEEDED`, and the string searches of the native runtime detectors.
#![no_main]

use fingerprints::kinds::{graalvm, native_servers, node, php, python, ruby};
use fingerprints::read::binary::Binary;
use libfuzzer_sys::fuzz_target;
use scanner_fuzz::OneFileRoot;

const PATH: &str = "/usr/bin/program";

fuzz_target!(|data: &[u8]| {
    let root = OneFileRoot::new(PATH, data);
    let Some(bin) = Binary::open(&root, PATH) else {
        return;
    };
    let _ = bin.elf.needed(&bin.file);
    let _ = node::node_version(&bin);
    let _ = python::python_version(&bin, "3.11");
    let _ = python::embeds_python(&bin);
    let _ = ruby::ruby_version(&bin);
    let _ = php::php_version(&bin);
    let _ = graalvm::graalvm(&bin);
    let _ = native_servers::detect_binary(&bin);
    let _ = graalvm::detect_native_image(&bin);
});
