//! Rust: a native executable that rustc compiled; the compiler version it records, and the main crate
//! from cargo-auditable's dependency data when the binary carries it (as Go's main module is read from
//! Go's build info).
//!
//! The compiler, from the first of:
//! 1. the `.comment` section, where current rustc versions write `rustc version <X.Y.Z> (<commit> <date>)`
//!    (uv 0.13.9 from PyPI: `rustc version 1.100.0 (0ef1bc386 2026-11-09)`; deno 2.9.6 from npm:
//!    `rustc version 1.95.0 (59807616e 2026-04-14)`);
//! 2. the source paths of the standard library in the panic locations of `.rodata`: a distribution's
//!    rustc names its version there (Debian's ripgrep 13.0.0-4+b2:
//!    `/usr/src/rustc-1.63.0/library/core/src/str/pattern.rs`); rustup's toolchains name the commit
//!    (`/rustc/<40 hex>/library/...`), which tells Rust without a version.
//!
//! Distributions strip `.comment` (Debian's ripgrep has none), so the second source is not a fallback
//! for rare files. A C program that statically links a Rust library is Rust code too and reads as Rust.

use crate::kinds::{Evidence, Found};
use crate::read::binary::Binary;
use crate::read::byte_search::leading_release;
use crate::read::json_parser::{self, Value};
use crate::values;

/// `.comment` holds a handful of toolchain strings; a bigger one is not read past this.
const MAX_COMMENT: usize = 64 * 1024;
/// cargo-auditable's compressed dependency list: ~10 KiB for 570 crates (uv); bigger is not trusted.
const MAX_DEP_INFO: usize = 1 << 20;
/// Its JSON, decompressed; cargo-auditable itself refuses more than 8 MiB.
const MAX_DEP_JSON: usize = 8 << 20;

/// The entry point: an executable that rustc built, its compiler version and main crate.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let bin = evidence.exe()?;
    let compiler = rustc(bin)?;
    Some(Found {
        version: compiler.version,
        rust_main_crate: auditable_main_crate(bin),
        ..Found::default()
    })
}

/// What an executable says of the rustc that built it: that there was one, and its version if stated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rustc {
    pub version: Option<String>,
}

/// Where the standard library's source paths start (`/rustc/<commit>/library/...`).
pub const LIBRARY_PATH_NEEDLE: &[u8] = b"/rustc";

/// The rustc that built `bin`, if any (see the module docs for the evidence, in order).
pub fn rustc(bin: &Binary) -> Option<Rustc> {
    if let Some(version) = comment_version(bin) {
        return Some(Rustc {
            version: Some(version),
        });
    }
    bin.find_string(LIBRARY_PATH_NEEDLE, |_, rest| library_path(rest))
}

/// `rustc version X.Y.Z` at the start of a `.comment` string, with a channel suffix when the compiler has
/// one (`1.86.0-nightly`, `1.87.0-beta.3`), as `rustc --version` states it.
fn comment_version(bin: &Binary) -> Option<String> {
    let comment = bin.elf.read_section(&bin.file, ".comment", MAX_COMMENT)?;
    comment
        .split(|b| *b == 0)
        .filter_map(|s| s.strip_prefix(b"rustc version "))
        .find_map(|rest| compiler_version(std::str::from_utf8(rest).ok()?))
}

/// The version token of `rustc version <token> (<commit> <date>)`: `X.Y.Z`, optionally `-<channel>`.
fn compiler_version(text: &str) -> Option<String> {
    let token = text.split(' ').next()?;
    let number = leading_release(token)?;
    let rest = &token[number.len()..];
    (rest.is_empty() || rest.starts_with('-'))
        .then(|| values::version(token))
        .flatten()
}

/// The text after `/rustc` in a standard library source path: `-X.Y.Z/library/` (or the
/// `-X.Y.Z-src/library/` of a source tarball) gives the version; `/<commit>/library/` only tells Rust.
fn library_path(rest: &str) -> Option<Rustc> {
    if let Some(tail) = rest.strip_prefix('-') {
        let v = leading_release(tail)?;
        let after = &tail[v.len()..];
        let ok = after.starts_with("/library/") || after.starts_with("-src/library/");
        return ok.then(|| Rustc {
            version: values::version(v),
        });
    }
    let tail = rest.strip_prefix('/')?;
    let (commit, after) = tail.split_at_checked(40)?;
    (commit.bytes().all(|c| c.is_ascii_hexdigit()) && after.starts_with("/library/"))
        .then_some(Rustc { version: None })
}

/// The root package of cargo-auditable's dependency list (the `.dep-v0` section: zlib-compressed JSON
/// `{"packages": [{"name", "version", "source", "dependencies", "root": true}, ...]}`): the crate the
/// binary was built from, with its version.
pub fn auditable_main_crate(bin: &Binary) -> Option<(String, String)> {
    let section = bin.elf.section(".dep-v0")?;
    if section.size > MAX_DEP_INFO as u64 {
        return None;
    }
    let compressed = bin.elf.read_section(&bin.file, ".dep-v0", MAX_DEP_INFO)?;
    let json =
        miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&compressed, MAX_DEP_JSON).ok()?;
    main_crate_of(&json)
}

fn main_crate_of(json: &[u8]) -> Option<(String, String)> {
    let Value::Array(packages) = json_parser::parse(json)?.get("packages")?.clone() else {
        return None;
    };
    let mut roots = packages
        .iter()
        .filter(|p| matches!(p.get("root"), Some(Value::Bool(true))));
    let root = roots.next()?;
    if roots.next().is_some() {
        return None;
    }
    let name = root.get("name")?.as_str()?;
    let version = values::version(root.get("version")?.as_str()?)?;
    crate_name(name).then(|| (name.to_owned(), version))
}

/// A crates.io package name: ASCII letters, digits, `-` and `_`, at most 64 characters.
fn crate_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{artifact, HostRoot};
    use crate::Process;
    use test_support::require;

    fn open(path: &str) -> Binary {
        let root = HostRoot::new("/");
        Binary::open(&root, path).unwrap_or_else(|| panic!("{path} is not an ELF file"))
    }

    /// The real Rust binaries of `hack/fetch-test-artifacts`, each with the facts it was fetched with.
    fn fact(name: &str) -> String {
        let path = artifact(name).expect("each test requires its artifacts first");
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim()
            .to_owned()
    }

    #[test]
    fn uv_from_pypi_states_its_rustc_and_main_crate() {
        // uv, a real cargo-auditable build (PyPI's manylinux wheel); its rustc line as readelf prints it.
        let bin = open(&require!(artifact("uv-0.13.9/uv")));
        let comment = fact("uv-0.13.9/rustc-comment");
        let expected = comment
            .strip_prefix("rustc version ")
            .and_then(|v| v.split(' ').next())
            .expect("readelf found a rustc line");
        assert_eq!(
            rustc(&bin).and_then(|r| r.version).as_deref(),
            Some(expected)
        );
        assert_eq!(
            auditable_main_crate(&bin),
            Some(("uv".to_owned(), fact("uv-0.13.9/version")))
        );
    }

    #[test]
    fn debians_ripgrep_names_its_rustc_in_its_library_paths() {
        // Debian strips `.comment`; the package's Built-Using field names the rustc it was built with.
        let bin = open(&require!(artifact("ripgrep-debian/rg")));
        assert!(bin.elf.section(".comment").is_none());
        let built_using = fact("ripgrep-debian/built-using-rustc");
        assert_eq!(rustc(&bin).and_then(|r| r.version), Some(built_using));
        assert_eq!(
            auditable_main_crate(&bin),
            None,
            "Debian does not build with cargo-auditable"
        );
    }

    #[test]
    fn detected_as_the_executable_of_a_process() {
        let root = HostRoot::new(require!(artifact("uv-0.13.9")));
        let process = Process {
            exe: Some("/uv".into()),
            argv: vec!["uv".into(), "run".into()],
            ..Process::default()
        };
        let f = crate::fingerprint(&root, &process);
        assert_eq!(f.runtime_kind.as_deref(), Some("Rust"));
        assert_eq!(
            f.rust_main_crate,
            Some(("uv".to_owned(), fact("uv-0.13.9/version")))
        );
        assert_eq!(f.runtime_name, None, "uv is no server of ours");
    }

    #[test]
    fn compiler_versions() {
        assert_eq!(
            compiler_version("1.95.0 (59807616e 2026-04-14)").as_deref(),
            Some("1.95.0")
        );
        assert_eq!(
            compiler_version("1.86.0-nightly (abcdef123 2025-01-01)").as_deref(),
            Some("1.86.0-nightly")
        );
        assert_eq!(compiler_version("1.95 (x)"), None);
        assert_eq!(compiler_version("1.95.0x (x)"), None);
        assert_eq!(compiler_version("unknown"), None);
    }

    #[test]
    fn library_paths() {
        let hash = "01f6ddf7588f42ae2d7eb0a2f21d44e8e96674cf";
        assert_eq!(
            library_path("-1.63.0/library/core/src/str/pattern.rs"),
            Some(Rustc {
                version: Some("1.63.0".into())
            })
        );
        assert_eq!(
            library_path("-1.75.0-src/library/std/src/io/mod.rs"),
            Some(Rustc {
                version: Some("1.75.0".into())
            })
        );
        assert_eq!(
            library_path(&format!("/{hash}/library/alloc/src/raw_vec.rs")),
            Some(Rustc { version: None })
        );
        assert_eq!(library_path("-1.63.0/src/main.rs"), None);
        assert_eq!(library_path("/not-a-commit/library/x"), None);
        assert_eq!(library_path("c-wrapper"), None);
    }

    #[test]
    fn dependency_lists() {
        let list = br#"{"packages":[{"name":"adler2","version":"2.0.1","source":"crates.io"},{"name":"demo-server","version":"0.3.1","source":"local","dependencies":[0],"root":true}],"format":1}"#;
        assert_eq!(
            main_crate_of(list),
            Some(("demo-server".into(), "0.3.1".into()))
        );
        let two_roots = br#"{"packages":[{"name":"a","version":"1.0.0","root":true},{"name":"b","version":"1.0.0","root":true}]}"#;
        assert_eq!(main_crate_of(two_roots), None);
        let bad_name = br#"{"packages":[{"name":"a b","version":"1.0.0","root":true}]}"#;
        assert_eq!(main_crate_of(bad_name), None);
        assert_eq!(main_crate_of(b"{}"), None);
    }
}
