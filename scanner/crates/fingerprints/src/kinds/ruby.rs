//! Ruby: a mapped `libruby`, or an executable named `ruby*`; the version from `RUBY_DESCRIPTION`.

use crate::kinds::{Evidence, Found};
use crate::read::binary::Binary;
use crate::read::byte_search::leading_release;
use crate::read::paths::file_name;
use crate::values;

/// The entry point: libruby first, then a `ruby*` executable.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let version = if let Some(lib) = evidence.library("libruby") {
        ruby_version(&lib)
    } else {
        let exe = evidence
            .exe()
            .filter(|b| file_name(&b.path).starts_with("ruby"))?;
        ruby_version(exe)
    };
    Some(Found {
        version,
        ..Found::default()
    })
}

/// Ruby: `ruby X.Y.Z` (RUBY_DESCRIPTION) in `libruby` or a static `ruby`.
pub fn ruby_version(bin: &Binary) -> Option<String> {
    bin.find_string(b"ruby ", |before, rest| {
        if before.is_some_and(|b| b != 0) {
            return None;
        }
        leading_release(rest).and_then(values::version)
    })
}

#[cfg(test)]
mod tests {
    use crate::fingerprint;
    use crate::testing::{host, kind, machine_file, run, Running};
    use std::process::Command;
    use test_support::require;

    #[test]
    fn ruby_from_mapped_libruby() {
        let ruby = require!(machine_file("/usr/bin/ruby"));
        let expected = run(&ruby, &["-e", "print RUBY_VERSION"]);
        let (_rb, mut p) = Running::start(Command::new(&ruby).args(["-e", "sleep 60"]), |p| {
            p.mapped_files.iter().any(|m| m.contains("libruby"))
        });
        p.argv[0] = "puma 6.4.0 (tcp://0.0.0.0:3000)".into();
        let f = fingerprint(&host(), &p);
        assert_eq!(kind(&f), (Some("Ruby"), Some(expected.as_str()), None));
    }
}
