//! A JDK's `release` file (`JAVA_VERSION`, `IMPLEMENTOR`), read as the Java detector does.
#![no_main]

use fingerprints::kinds::java;
use libfuzzer_sys::fuzz_target;
use scanner_fuzz::OneFileRoot;

const HOME: &str = "/usr/lib/jvm/java";

fuzz_target!(|data: &[u8]| {
    let root = OneFileRoot::new(&format!("{HOME}/release"), data);
    if let Some(runtime) = java::read_release(&root, HOME) {
        assert!(
            runtime.version.is_some(),
            "a release without a version is not a JDK"
        );
    }
});
