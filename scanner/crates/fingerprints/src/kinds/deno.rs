//! Deno: the JavaScript runtime (Rust and V8), its version from the user agent compiled into its
//! executable (a program made by `deno compile` carries the same runtime; not tested).
//! It comes before [`crate::kinds::rust`] in the order: Deno is a Rust program too.

use crate::kinds::{Evidence, Found};
use crate::read::binary::Binary;
use crate::read::byte_search::leading_release;
use crate::values;

/// The entry point: an executable carrying Deno's user agent.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let version = deno_version(evidence.exe()?)?;
    Some(Found {
        version: Some(version),
        ..Found::default()
    })
}

/// Deno's user agent: the version follows it.
pub const VERSION_NEEDLE: &[u8] = b"Deno/";

/// `Deno/<X.Y.Z>` (the user agent) in `.rodata`, where rustc merges string constants without
/// separators (npm's @deno/linux-x64-glibc 2.9.6: `...2.9.6+e518fbdDeno/2.9.6Deno/2.9.6+e518fbd...`).
/// A library's own agent that ends in `-Deno/` is not Deno's version (the same file, earlier:
/// `OTel-OTLP-Exporter-Deno/0.80.0`).
pub fn deno_version(bin: &Binary) -> Option<String> {
    bin.find_string(VERSION_NEEDLE, |before, rest| {
        if before.is_some_and(|b| matches!(b, b'-' | b'_' | b'/' | b'.')) {
            return None;
        }
        leading_release(rest).and_then(values::version)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{artifact, HostRoot};
    use crate::Process;
    use test_support::require;

    #[test]
    fn deno_from_npm() {
        // The package's own version (package.json of @deno/linux-x64-glibc) is the runtime's.
        let dir = require!(artifact("deno-linux-x64-glibc"));
        let version = std::fs::read_to_string(format!("{dir}/version")).expect("version fact");
        let process = Process {
            exe: Some("/deno".into()),
            argv: vec!["deno".into(), "run".into(), "server.ts".into()],
            ..Process::default()
        };
        let f = crate::fingerprint(&HostRoot::new(&dir), &process);
        // Deno, not Rust: it comes first in the order.
        assert_eq!(f.runtime_kind.as_deref(), Some("Deno"));
        assert_eq!(f.runtime_kind_version.as_deref(), Some(version.trim()));
    }
}
