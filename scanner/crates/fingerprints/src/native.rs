//! Runtimes recognised from the bytes of the executable or a mapped library (never by running them):
//! Node.js, Python, Ruby, PHP, GraalVM native images, and native servers (PostgreSQL) through the
//! binary rules of [`crate::rules`]. .NET is in [`crate::dotnet`].

use crate::elf::Elf;
use crate::paths::file_name;
use crate::root::Root;
use crate::scan::{find_map, leading_version, printable_prefix, strings_region};
use crate::values;
use std::fs::File;

/// An opened ELF file of the container (the executable or a mapped library).
pub struct Binary {
    pub path: String,
    pub file: File,
    pub elf: Elf,
}

impl Binary {
    pub fn open(root: &dyn Root, path: &str) -> Option<Binary> {
        let file = root.open(path).ok()?;
        let elf = Elf::parse(&file)?;
        Some(Binary {
            path: path.to_owned(),
            file,
            elf,
        })
    }

    /// Searches the string constants (`.rodata`) for `needle`; `f` gets the byte before the match
    /// and the printable text right after the needle.
    pub fn find_string<T>(
        &self,
        needle: &[u8],
        f: impl Fn(Option<u8>, &str) -> Option<T>,
    ) -> Option<T> {
        let (start, len) = strings_region(&self.elf);
        find_map(&self.file, start, len, needle, 128, |before, bytes| {
            f(before, printable_prefix(&bytes[needle.len()..]))
        })
    }

    /// Like [`Binary::find_string`] in the named sections (in order), else over the whole file.
    pub fn find_in_sections<T>(
        &self,
        sections: &[&str],
        needle: &[u8],
        f: impl Fn(Option<u8>, &str) -> Option<T>,
    ) -> Option<T> {
        let mut any = false;
        for name in sections {
            if let Some(s) = self.elf.section(name) {
                any = true;
                let found = find_map(
                    &self.file,
                    s.offset,
                    s.size,
                    needle,
                    128,
                    |before, bytes| f(before, printable_prefix(&bytes[needle.len()..])),
                );
                if found.is_some() {
                    return found;
                }
            }
        }
        if any {
            return None;
        }
        self.find_string_anywhere(needle, f)
    }

    /// Like [`Binary::find_string`] over the start of the file (for files without section headers).
    pub fn find_string_anywhere<T>(
        &self,
        needle: &[u8],
        f: impl Fn(Option<u8>, &str) -> Option<T>,
    ) -> Option<T> {
        let len = self
            .elf
            .file_size
            .min(crate::scan::MAX_SCAN_WITHOUT_SECTIONS);
        find_map(&self.file, 0, len, needle, 128, |before, bytes| {
            f(before, printable_prefix(&bytes[needle.len()..]))
        })
    }
}

/// Node.js: `node.js/vX.Y.Z` (the release URL prefix compiled into every Node build) in the
/// executable or a mapped `libnode.so`.
pub fn node_version(bin: &Binary) -> Option<String> {
    bin.find_string(b"node.js/v", |_, rest| {
        leading_version(rest).and_then(|v| values::version(&format!("v{v}")))
    })
}

/// `X.Y` from a Python file name: `python3.11`, `libpython3.11.so.1.0`, `libpython3.6m.so`.
pub fn python_series_from_name(path: &str) -> Option<String> {
    let name = file_name(path);
    let rest = name
        .strip_prefix("libpython")
        .or_else(|| name.strip_prefix("python"))?;
    let v = leading_version(rest)?;
    (v.matches('.').count() == 1).then(|| v.to_owned())
}

/// Python: the `PY_VERSION` string (`3.11.2`) in the interpreter or `libpython`, anchored on the
/// `X.Y` series known from the file name, so unrelated version strings are not picked up. The
/// string may be the tail of a longer one (the linker merges `"3.11.7"` into `".../3.11.7"`).
pub fn python_version(bin: &Binary, series: &str) -> Option<String> {
    let needle = format!("{series}.");
    bin.find_string(needle.as_bytes(), |before, rest| {
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.') {
            return None;
        }
        let patch = leading_version(rest)?;
        // A version string ends at the NUL (or `+`/space in `3.11.2+` builds); it is not a path part.
        let after = rest.as_bytes().get(patch.len()).copied();
        if after.is_some_and(|c| c == b'/' || c == b'.') {
            return None;
        }
        (!patch.contains('.'))
            .then(|| values::version(&format!("{series}.{patch}")))
            .flatten()
    })
}

/// Whether an executable embeds the CPython interpreter (statically linked `python3.X`).
pub fn embeds_python(bin: &Binary) -> bool {
    let Some(s) = bin.elf.section(".dynstr") else {
        return false;
    };
    [b"\0Py_BytesMain\0".as_slice(), b"\0Py_Main\0"]
        .iter()
        .any(|needle| find_map(&bin.file, s.offset, s.size, needle, 0, |_, _| Some(())).is_some())
}

/// Ruby: `ruby X.Y.Z` (RUBY_DESCRIPTION) in `libruby` or a static `ruby`.
pub fn ruby_version(bin: &Binary) -> Option<String> {
    bin.find_string(b"ruby ", |before, rest| {
        if before.is_some_and(|b| b != 0) {
            return None;
        }
        let v = leading_version(rest)?;
        (v.matches('.').count() == 2)
            .then(|| values::version(v))
            .flatten()
    })
}

/// PHP: the `X-Powered-By: PHP/X.Y.Z` header constant in `php`, `php-fpm` or `libphp.so`.
pub fn php_version(bin: &Binary) -> Option<String> {
    bin.find_string(b"X-Powered-By: PHP/", |_, rest| {
        leading_version(rest).and_then(values::version)
    })
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_series() {
        assert_eq!(
            python_series_from_name("/usr/bin/python3.11").as_deref(),
            Some("3.11")
        );
        assert_eq!(
            python_series_from_name("/x/libpython3.6m.so.1.0").as_deref(),
            Some("3.6")
        );
        assert_eq!(python_series_from_name("/usr/bin/python3"), None);
        assert_eq!(python_series_from_name("/usr/bin/node"), None);
    }
}
