//! PHP: the CLI/FPM executable, or a mapped `libphp` (Apache's mod_php).

use crate::kinds::{Evidence, Found};
use crate::read::binary::Binary;
use crate::read::byte_search::leading_version;
use crate::values;

/// The entry point: the executable first, then a mapped libphp; only a found version tells PHP.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let version = evidence
        .exe()
        .and_then(php_version)
        .or_else(|| evidence.library("libphp").as_ref().and_then(php_version))?;
    Some(Found {
        version: Some(version),
        ..Found::default()
    })
}

/// The header constant the version follows.
pub const VERSION_NEEDLE: &[u8] = b"X-Powered-By: PHP/";

/// PHP: the `X-Powered-By: PHP/X.Y.Z` header constant in `php`, `php-fpm` or `libphp.so`.
pub fn php_version(bin: &Binary) -> Option<String> {
    bin.find_string(VERSION_NEEDLE, |_, rest| {
        leading_version(rest).and_then(values::version)
    })
}

#[cfg(test)]
mod tests {
    use crate::fingerprint;
    use crate::testing::{host, kind, machine_file, process, run};
    use test_support::require;

    #[test]
    fn php_cli_through_alternatives() {
        let php = require!(machine_file("/usr/bin/php"));
        let expected = run(&php, &["-r", "echo PHP_VERSION;"]);
        let real = std::fs::canonicalize(&php)
            .expect("php")
            .to_string_lossy()
            .into_owned();
        let f = fingerprint(&host(), &process(&real, &["php", "artisan", "serve"]));
        assert_eq!(kind(&f), (Some("PHP"), Some(expected.as_str()), None));
    }
}
