//! Erlang: the BEAM emulator (`beam.smp`), its OTP release, and RabbitMQ when the emulator boots it.
//!
//! The emulator's banner is compiled from `"Erlang/OTP " ERLANG_OTP_RELEASE "%s [erts-" ...`, so its
//! string constants carry the release (Debian's erlang-base 1:25.2.3+dfsg-1+deb12u4:
//! `Erlang/OTP 25%s [erts-13.1.5] [source] [64-bit] ...`). The release (`25`) is what `runtime-kind-version`
//! reports: it is in every emulator, whatever the layout around it (a full OTP install, an Elixir or
//! rebar3 release that ships only `erts-<vsn>/`), while the full OTP version (`25.2.3`, in
//! `releases/25/OTP_VERSION`) exists only in full installs.
//!
//! RabbitMQ ([`RABBITMQ`]) is recognised by the boot module on the emulator's command line and versioned
//! by its own application file, found through `ERL_LIBS` (see [`booted_application`]).

use crate::kinds::{Detected, Evidence, Found};
use crate::read::binary::Binary;
use crate::read::bounded::read_prefix;
use crate::read::paths::normalize;
use crate::root::{Process, Root};
use crate::values;

/// The entry point: an executable with the BEAM banner, and the Erlang application it boots.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let release = otp_release(evidence.exe()?)?;
    Some(Found {
        version: Some(release),
        runtimes: booted_application(evidence.root, evidence.process)
            .into_iter()
            .collect(),
        ..Found::default()
    })
}

/// The emulator's banner: the release follows it.
pub const BANNER_NEEDLE: &[u8] = b"Erlang/OTP ";

/// The OTP release in the emulator's banner: `Erlang/OTP <release>%s [erts-`. The banner is a
/// writable array (`static char erts_system_version[]`), so it sits in `.data`, not `.rodata`.
pub fn otp_release(bin: &Binary) -> Option<String> {
    bin.find_in_sections(&[".data", ".rodata"], BANNER_NEEDLE, |_, rest| {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        (digits > 0 && digits <= 3 && rest[digits..].starts_with("%s [erts-"))
            .then(|| values::version(&rest[..digits]))
            .flatten()
    })
}

/// An Erlang application that the emulator boots: recognised by `-s <boot module>` on its command line,
/// versioned by `<app>-<vsn>/ebin/<app>.app` in a directory of `ERL_LIBS`.
#[derive(Debug, Clone, Copy)]
pub struct ErlangAppRule {
    pub name: &'static str,
    pub boot_module: &'static str,
    pub application: &'static str,
}

/// RabbitMQ: Debian's rabbitmq-server 3.10.8 (`/usr/lib/rabbitmq/bin/rabbitmq-server`) starts
/// `exec erl ... -s $RABBITMQ_BOOT_MODULE boot` (`BOOT_MODULE=rabbit` in `rabbitmq-defaults`) after
/// exporting `ERL_LIBS="$RABBITMQ_HOME/plugins"`, which holds `rabbit-3.10.8/ebin/rabbit.app` with
/// `{vsn, "3.10.8"}`. The official images run the same script with `RABBITMQ_HOME=/opt/rabbitmq`.
pub const RABBITMQ: ErlangAppRule = ErlangAppRule {
    name: "RabbitMQ",
    boot_module: "rabbit",
    application: "rabbit",
};

pub const ERLANG_APP_RULES: &[ErlangAppRule] = &[RABBITMQ];

/// `ERL_LIBS` names at most this many directories worth reading.
const MAX_LIB_DIRS: usize = 16;
/// A plugins directory holds ~100 entries (RabbitMQ 3.10.8: 95).
const MAX_DIR_ENTRIES: usize = 4096;
/// An `.app` file is a few KiB (rabbit.app: 9 KiB).
const MAX_APP_FILE: usize = 256 * 1024;
/// Real installs have one `<app>-<vsn>` folder (two while upgrading); a folder of thousands is not read.
const MAX_APP_FOLDERS: usize = 8;

/// The application the emulator boots, by [`ERLANG_APP_RULES`].
pub fn booted_application(root: &dyn Root, process: &Process) -> Option<Detected> {
    let rule = ERLANG_APP_RULES
        .iter()
        .find(|r| boots(process, r.boot_module))?;
    Some(Detected {
        name: rule.name.to_owned(),
        version: app_version(root, process, rule.application),
    })
}

/// Whether the command line has `-s <module>` (the emulator's flag that calls `module:start` or the
/// function after it at boot).
fn boots(process: &Process, module: &str) -> bool {
    process
        .argv
        .windows(2)
        .take(4096)
        .any(|w| w[0] == "-s" && w[1] == module)
}

/// The `vsn` of `<dir>/<app>-<vsn>/ebin/<app>.app`, for the one such directory in `ERL_LIBS`; `None` when
/// there are several versions (which one loads is the code server's choice, not ours to guess).
fn app_version(root: &dyn Root, process: &Process, app: &str) -> Option<String> {
    let libs = process.env_var("ERL_LIBS")?;
    let cwd = process.cwd.as_deref().unwrap_or("/");
    let prefix = format!("{app}-");
    let mut found: Option<String> = None;
    for dir in libs.split(':').filter(|d| !d.is_empty()).take(MAX_LIB_DIRS) {
        let dir = normalize(cwd, dir);
        let Ok(entries) = root.read_dir(&dir, MAX_DIR_ENTRIES) else {
            continue;
        };
        let candidates = entries.iter().filter(|e| e.starts_with(&prefix));
        for entry in candidates.take(MAX_APP_FOLDERS) {
            let path = format!("{}/{entry}/ebin/{app}.app", dir.trim_end_matches('/'));
            let Some(vsn) = read_prefix(root, &path, MAX_APP_FILE)
                .ok()
                .and_then(|data| app_vsn(&data))
            else {
                continue;
            };
            match &found {
                Some(v) if *v != vsn => return None,
                _ => found = Some(vsn),
            }
        }
    }
    found
}

/// `{vsn, "X"}` of an application resource file.
fn app_vsn(data: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(data).ok()?;
    let at = text.find("{vsn,")?;
    let rest = text[at + 5..].trim_start();
    let quoted = rest.strip_prefix('"')?;
    let end = quoted.find('"')?;
    values::version(&quoted[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{artifact, HostRoot, TempDir};
    use test_support::require;

    /// Debian's erlang-base and rabbitmq-server, unpacked by `hack/fetch-test-artifacts` (never run).
    fn debian() -> String {
        artifact("rabbitmq-debian").expect("each test requires it first")
    }

    fn fact(name: &str) -> String {
        let path = format!("{}/facts/{name}", debian());
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim()
            .to_owned()
    }

    /// The emulator's own process, with what rabbitmq-server gives it.
    fn beam(argv: &[&str], erl_libs: Option<&str>) -> Process {
        Process {
            exe: Some(fact("beam")),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: erl_libs
                .map(|l| ("ERL_LIBS".to_owned(), l.to_owned()))
                .into_iter()
                .collect(),
            cwd: Some("/var/lib/rabbitmq".into()),
            ..Process::default()
        }
    }

    #[test]
    fn debians_emulator_states_its_otp_release() {
        require!(artifact("rabbitmq-debian"));
        let root = HostRoot::new(format!("{}/root", debian()));
        let bin = Binary::open(&root, &fact("beam")).expect("beam.smp is ELF");
        // The release is the first part of the installation's releases/<N>/OTP_VERSION.
        let otp_version = fact("otp_version");
        let release = otp_version.split('.').next().expect("a version");
        assert_eq!(otp_release(&bin).as_deref(), Some(release));
    }

    #[test]
    fn rabbitmq_on_debians_erlang() {
        require!(artifact("rabbitmq-debian"));
        let root = HostRoot::new(format!("{}/root", debian()));
        let libs = fact("erl_libs");
        let argv = [
            fact("beam").as_str(),
            "-W",
            "w",
            "--",
            "-root",
            "/usr/lib/erlang",
            "--",
            "-noinput",
            "-s",
            "rabbit",
            "boot",
            "-boot",
            "start_sasl",
        ]
        .map(str::to_owned);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let f = crate::fingerprint(&root, &beam(&argv, Some(&format!("/nowhere:{libs}"))));
        assert_eq!(f.runtime_kind.as_deref(), Some("Erlang"));
        let otp_version = fact("otp_version");
        assert_eq!(
            f.runtime_kind_version.as_deref(),
            otp_version.split('.').next()
        );
        assert_eq!(f.runtime_name.as_deref(), Some("RabbitMQ"));
        // The package's upstream version (dpkg-deb -f Version, packaging revision cut).
        assert_eq!(f.runtime_version, Some(fact("rabbitmq_version")));

        // Without ERL_LIBS: RabbitMQ, version unknown. Another boot module: plain Erlang.
        let f = crate::fingerprint(&root, &beam(&argv, None));
        assert_eq!(
            (f.runtime_name.as_deref(), f.runtime_version),
            (Some("RabbitMQ"), None)
        );
        let plain = beam(&[&fact("beam"), "-s", "myapp"], Some(&libs));
        let f = crate::fingerprint(&root, &plain);
        assert_eq!(
            (f.runtime_kind.as_deref(), f.runtime_name),
            (Some("Erlang"), None)
        );
    }

    #[test]
    fn two_versions_of_the_application_give_no_version() {
        require!(artifact("rabbitmq-debian"));
        let dir = TempDir::new("erl-libs");
        dir.write(
            "/a/rabbit-3.10.8/ebin/rabbit.app",
            b"{application, 'rabbit', [\n\t{description, \"RabbitMQ\"},\n\t{vsn, \"3.10.8\"}]}.",
        );
        dir.write(
            "/b/rabbit-3.12.1/ebin/rabbit.app",
            b"{application,rabbit,[{vsn,\"3.12.1\"}]}.",
        );
        let root = HostRoot::new(&dir.0);
        let p = |libs: &str| beam(&["beam.smp", "-s", "rabbit", "boot"], Some(libs));
        assert_eq!(
            app_version(&root, &p("/a"), "rabbit").as_deref(),
            Some("3.10.8")
        );
        assert_eq!(
            app_version(&root, &p("/b:/x"), "rabbit").as_deref(),
            Some("3.12.1")
        );
        assert_eq!(app_version(&root, &p("/a:/b"), "rabbit"), None);
        assert_eq!(app_vsn(b"{vsn, \"3.1.0 rm -rf\"}"), None);
    }
}
