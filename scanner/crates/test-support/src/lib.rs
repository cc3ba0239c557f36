//! Test-only: what a test does when the machine lacks something it needs (the real artifacts of
//! `hack/fetch-test-artifacts`, a runtime that script installs, root).
//!
//! A contributor's `cargo test` skips such a test with a `SKIPPED` notice that says what is missing and how to
//! get it. Under `REQUIRE_ARTIFACTS=1`, which `make test-scanner` (and so CI) sets, nothing may be skipped: the
//! missing precondition fails the test instead.
//!
//! ```text
//! let jar = test_support::require!(artifact("spring-boot-app-3.5.13.jar"));
//! ```

use std::io::Write;

/// The environment variable that turns every skip into a failure.
pub const REQUIRE_ARTIFACTS: &str = "REQUIRE_ARTIFACTS";

/// Whether skipping is forbidden (`REQUIRE_ARTIFACTS=1`).
pub fn skipping_forbidden() -> bool {
    std::env::var(REQUIRE_ARTIFACTS).is_ok_and(|v| v == "1")
}

/// The calling test cannot run: `missing` says what is missing, `remedy` how to get it. Panics under
/// `REQUIRE_ARTIFACTS=1`; otherwise prints a `SKIPPED` line and returns, and the test returns (see
/// [`require!`]). The line goes straight to the process's stderr, past the test harness's capture of
/// `eprintln!`, so that a plain `cargo test` shows every skip.
pub fn skip(missing: &str, remedy: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("a test");
    assert!(
        !skipping_forbidden(),
        "{missing}; {remedy} ({REQUIRE_ARTIFACTS}=1: no test may be skipped)"
    );
    // One write of a whole line that starts a line of its own: tests run on several threads, and the harness's
    // own "test ... ok" lines share the stream, so a line written in pieces could be cut by them.
    let line = format!(
        "\nSKIPPED {test}: {missing}; {remedy} ({REQUIRE_ARTIFACTS}=1 makes this a failure)\n"
    );
    // A failed write to stderr leaves nothing better to do.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The value inside a `Some`, or a return from the calling test when it is `None` (the function that
/// returned `None` has called [`skip`], which said why).
#[macro_export]
macro_rules! require {
    ($found:expr) => {
        match $found {
            Some(found) => found,
            None => return,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipping_is_forbidden_only_by_the_exact_value_1() {
        // The process's environment is shared by the tests: read it, never set it here.
        let value = std::env::var(REQUIRE_ARTIFACTS).ok();
        assert_eq!(skipping_forbidden(), value.as_deref() == Some("1"));
    }

    fn found(x: Option<u32>, seen: &mut Vec<u32>) {
        let v = require!(x);
        seen.push(v);
    }

    #[test]
    fn require_returns_early_on_none() {
        let mut seen = Vec::new();
        found(Some(7), &mut seen);
        found(None, &mut seen);
        assert_eq!(seen, vec![7]);
    }
}
