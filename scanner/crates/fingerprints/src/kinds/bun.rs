//! Bun: the JavaScript runtime (Zig and JavaScriptCore), its version from the banner string of its
//! executable, or of a standalone program `bun build --compile` made (it carries the same runtime).

use crate::kinds::{Evidence, Found};
use crate::read::binary::Binary;
use crate::read::byte_search::leading_release;
use crate::values;

/// The entry point: an executable carrying Bun's banner.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let version = bun_version(evidence.exe()?)?;
    Some(Found {
        version: Some(version),
        ..Found::default()
    })
}

/// Bun's banner: the version follows it.
pub const VERSION_NEEDLE: &[u8] = b"Bun v";

/// `Bun v<X.Y.Z> (` in `.rodata`, a NUL-started string (npm's @oven/bun-linux-x64 1.4.5:
/// `\0Bun v1.4.5 (Linux x64)`).
pub fn bun_version(bin: &Binary) -> Option<String> {
    bin.find_string(VERSION_NEEDLE, |before, rest| {
        if before.is_some_and(|b| b != 0) {
            return None;
        }
        leading_release(rest)
            .filter(|v| rest[v.len()..].starts_with(" ("))
            .and_then(values::version)
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{artifact, HostRoot};
    use crate::Process;
    use test_support::require;

    #[test]
    fn bun_from_npm() {
        // The package's own version (package.json of @oven/bun-linux-x64) is the runtime's.
        let dir = require!(artifact("bun-linux-x64"));
        let version = std::fs::read_to_string(format!("{dir}/version")).expect("version fact");
        let process = Process {
            exe: Some("/bun".into()),
            argv: vec!["bun".into(), "server.js".into()],
            ..Process::default()
        };
        let f = crate::fingerprint(&HostRoot::new(&dir), &process);
        assert_eq!(f.runtime_kind.as_deref(), Some("Bun"));
        assert_eq!(f.runtime_kind_version.as_deref(), Some(version.trim()));
    }
}
