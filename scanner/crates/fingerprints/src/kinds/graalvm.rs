//! GraalVM native images: the image's GraalVM and Java versions, and the frameworks compiled into it
//! ([`NATIVE_IMAGE_RULES`]).

use crate::kinds::{Detected, Evidence, Found};
use crate::read::binary::Binary;
use crate::values;

/// The entry point: the executable is a native image.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let bin = evidence.exe()?;
    let (java_version, vendor) = graalvm(bin)?;
    Some(Found {
        version: java_version,
        implementer: vendor,
        runtimes: detect_native_image(bin).into_iter().collect(),
        ..Found::default()
    })
}

/// A framework compiled into a GraalVM native image, recognised by a string in the image.
#[derive(Debug, Clone, Copy)]
pub struct NativeImageRule {
    pub name: &'static str,
    /// The text right after it is the version.
    pub version_needle: &'static [u8],
    /// Presence alone (no version) when the versioned string is absent (older Quarkus).
    pub marker: &'static [u8],
}

pub const NATIVE_IMAGE_RULES: &[NativeImageRule] = &[NativeImageRule {
    name: "Quarkus",
    version_needle: b"__quarkus_analytics__quarkus.version=",
    marker: b"quarkus.native.",
}];

/// GraalVM native image: identified by its `.svm_heap` section (or, in a file without section
/// headers, the `com.oracle.svm.core.VM=` string). Gives the vendor version (`Oracle GraalVM
/// 23.0.2+7.1`, `GraalVM CE 21.0.2+13.1`, `Mandrel-23.1.2.0-Final`) and the Java version
/// (`com.oracle.svm.core.VM.Java.Version=`). The strings live in `.data` (then `.rodata`).
pub fn graalvm(bin: &Binary) -> Option<(Option<String>, Option<String>)> {
    let vendor_needle = b"com.oracle.svm.core.VM=";
    let java_needle = b"com.oracle.svm.core.VM.Java.Version=";
    let vendor = if bin.elf.has_section(".svm_heap") {
        bin.find_in_sections(&[".data", ".rodata"], vendor_needle, |_, rest| {
            values::name(rest)
        })
    } else if bin.elf.sections.is_empty() {
        Some(bin.find_string_anywhere(vendor_needle, |_, rest| values::name(rest))?)
    } else {
        return None;
    };
    let java = bin
        .find_in_sections(&[".data", ".rodata"], java_needle, |_, rest| {
            values::version(rest)
        })
        .or_else(|| {
            // Older images: "GraalVM 22.3.0 Java 17 CE".
            let v = vendor.as_deref()?;
            let after = v.split(" Java ").nth(1)?;
            values::version(after.split_whitespace().next()?)
        });
    Some((java, vendor))
}

/// Where a native image keeps build-time strings: Java strings in the image heap, C strings in data.
const NATIVE_IMAGE_SECTIONS: &[&str] = &[".svm_heap", ".data", ".rodata"];

/// A framework compiled into a GraalVM native image.
pub fn detect_native_image(bin: &Binary) -> Option<Detected> {
    NATIVE_IMAGE_RULES.iter().find_map(|rule| {
        let version =
            bin.find_in_sections(NATIVE_IMAGE_SECTIONS, rule.version_needle, |_, rest| {
                values::version(rest)
            });
        if version.is_some()
            || bin
                .find_in_sections(NATIVE_IMAGE_SECTIONS, rule.marker, |_, _| Some(()))
                .is_some()
        {
            Some(Detected {
                name: rule.name.to_owned(),
                version,
            })
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{artifact, host};
    use crate::{fingerprint, Process};
    use test_support::require;

    #[test]
    fn graalvm_native_image_vendor_and_java_version() {
        let lib = require!(artifact("graalvm-native/libjsvm.so"));
        let p = Process {
            exe: Some(lib.clone()),
            argv: vec!["js".into()],
            ..Process::default()
        };
        let f = fingerprint(&host(), &p);
        assert_eq!(f.runtime_kind.as_deref(), Some("GraalVM"));
        assert_eq!(f.runtime_kind_version.as_deref(), Some("23.0.2"));
        assert_eq!(
            f.runtime_kind_implementer.as_deref(),
            Some("Oracle GraalVM 23.0.2+7.1")
        );
        assert_eq!(f.runtime_name, None, "GraalJS is not Quarkus");
    }
}
