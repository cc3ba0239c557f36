//! Native servers (PostgreSQL, nginx, Apache HTTP Server, HAProxy, MariaDB, MySQL, Valkey, Redis), recognised
//! by string constants of the executable, never by its name: Debian's `/usr/bin/redis-server` is a link to
//! `redis-check-rdb`, and a renamed copy is the same server. Not a runtime kind of their own: they are
//! reported as the container's runtime when no kind applies, or after an interpreter the server embeds (see
//! [`crate::kinds::Kind::then_native_servers`]).
//!
//! Every rule is data: the strings that prove which server the executable is (markers, all required; each
//! chosen so that the package's clients and tools, which share many strings with the server, lack one) and
//! where its version is. Each rule's comment quotes the bytes of the real Debian executable it was written
//! from. The executable's string sections are read in one pass for every rule's first marker (with the other kinds'
//! needles, [`crate::kinds::surveyed_needles`]),
//! and again only for the rules whose first marker is there; the version is the upstream one
//! ([`values::upstream_version`]).

use crate::kinds::{Detected, Evidence};
use crate::read::binary::Binary;
use crate::read::byte_search::MAX_SCAN;
use crate::read::elf::read_at_into;
use crate::values;

/// A native server recognised by string constants of its executable.
#[derive(Debug, Clone, Copy)]
pub struct BinaryRule {
    pub name: &'static str,
    /// Strings that must all be in the executable (`.rodata` or `.data`).
    pub markers: &'static [&'static [u8]],
    pub version: VersionAt,
    /// The fewest dot-separated numbers the version starts with (`Apache/2` is the short form the server
    /// also carries; `2.4.71` is its version).
    pub min_numbers: usize,
}

/// Where the version string is, relative to a string constant.
#[derive(Debug, Clone, Copy)]
pub enum VersionAt {
    /// Right after `anchor`, up to the first byte that cannot be part of a version, which must start
    /// `then` (empty: anything).
    After {
        anchor: &'static [u8],
        then: &'static [u8],
    },
    /// Right before `anchor`, from the start of its string (the byte before the version is a NUL).
    Before { anchor: &'static [u8] },
    /// The build id that Redis (and Valkey, after `prefix`) compiles in: the version, then the build's host
    /// and/or time stamp, its dirty flag and its git commit (8 hex digits), glued together. Where the version
    /// ends is ambiguous there (`7.0.15` + `1790282056` + `0` + `00000000`), so the version is the one that
    /// the executable also holds as a string of its own (`\0 7.0.15 \0`, what `INFO` reports).
    BuildId { prefix: &'static [u8] },
}

pub const BINARY_RULES: &[BinaryRule] = &[
    // Debian's postgresql-15 `postgres`: "\0PostgreSQL 15.18 (Debian 15.18-0+deb12u1) on x86_64-pc-linux-gnu".
    // `psql` and `pg_config` carry that string too; only the server logs "database system is ready to accept
    // connections".
    BinaryRule {
        name: "PostgreSQL",
        markers: &[b"database system is ready to accept connections"],
        version: VersionAt::After {
            anchor: b"\0PostgreSQL ",
            then: b"",
        },
        min_numbers: 1,
    },
    // Debian's nginx 1.22.1 `/usr/sbin/nginx` (nginx -v): "\0nginx version: nginx/1.22.1\n\0".
    BinaryRule {
        name: "nginx",
        markers: &[b"nginx version: nginx/"],
        version: VersionAt::After {
            anchor: b"nginx version: nginx/",
            then: b"\n",
        },
        min_numbers: 3,
    },
    // Debian's apache2-bin 2.4.71 `/usr/sbin/apache2`: "\0Apache/2.4.71\0" (and "\0Apache/2.4\0", "\0Apache/2\0"
    // for `ServerTokens Minor`/`Major`); "Server built:   " is the server's `-v` output.
    BinaryRule {
        name: "Apache HTTP Server",
        markers: &[b"Server built:   "],
        version: VersionAt::After {
            anchor: b"\0Apache/",
            then: b"\0",
        },
        min_numbers: 3,
    },
    // Debian's haproxy 2.6.12 `/usr/sbin/haproxy`, in `.data`: "HAProxy version follows" and
    // "\0 version 2.6.12-1+deb12u4, released 2026/10/17\0" (the stats page's version string).
    BinaryRule {
        name: "HAProxy",
        markers: &[b"HAProxy version follows"],
        version: VersionAt::After {
            anchor: b"\0 version ",
            then: b", released ",
        },
        min_numbers: 2,
    },
    // Debian's mariadb-server-core 10.11.19 `/usr/sbin/mariadbd`: "\0-0+deb12u1\010.11.19-MariaDB\0x86_64\0"
    // (the server version, Debian's suffix a string of its own) and "%s: ready for connections.\nVersion: '%s'".
    // The tools of the package (`mariadb-upgrade`, `aria_chk`, ...) carry "-MariaDB\0" but not the latter.
    BinaryRule {
        name: "MariaDB",
        markers: &[b"-MariaDB\0", b": ready for connections"],
        version: VersionAt::Before {
            anchor: b"-MariaDB\0",
        },
        min_numbers: 3,
    },
    // Debian's mysql-server-core 9.7.4 `/usr/sbin/mysqld`: "\0MySQL 9.7.4\0" (what InnoDB writes in its redo
    // log headers). `perror` shares the server's messages ("X Plugin ready for connections"), not its system
    // variables ("innodb_buffer_pool_size"); MariaDB has no X Plugin.
    BinaryRule {
        name: "MySQL",
        markers: &[
            b"X Plugin ready for connections",
            b"innodb_buffer_pool_size\0",
        ],
        version: VersionAt::After {
            anchor: b"\0MySQL ",
            then: b"\0",
        },
        min_numbers: 3,
    },
    // Debian's valkey-tools 8.1.1 `/usr/bin/valkey-check-rdb` (`valkey-server` links to it): "Valkey
    // version=%s, bits=%d", the build id "valkey8.1.11792855166000000000\0" and "\08.1.1\07.2.4\0" (Valkey also
    // answers the Redis version it is compatible with, 7.2.4, which is not its version).
    BinaryRule {
        name: "Valkey",
        markers: &[b"Valkey version=%s, bits=%d"],
        version: VersionAt::BuildId { prefix: b"valkey" },
        min_numbers: 3,
    },
    // Debian's redis-tools 7.0.15 `/usr/bin/redis-check-rdb` (`redis-server` links to it): "Redis
    // version=%s, bits=%d", the build id "7.0.151790282056000000000\0" and "\0err\07.0.15\0c11-builtin\0".
    BinaryRule {
        name: "Redis",
        markers: &[b"Redis version=%s, bits=%d"],
        version: VersionAt::BuildId { prefix: b"" },
        min_numbers: 3,
    },
];

/// The sections whose strings the rules read: constants, then initialised data (HAProxy keeps its version
/// strings there so that they can be patched).
const SECTIONS: &[&str] = &[".rodata", ".data"];
/// Bytes kept around a match: a version is far shorter.
const AROUND: usize = 96;

/// The entry point: the native server the process's executable is, if any.
pub fn detect(evidence: &Evidence<'_>) -> Option<Detected> {
    detect_binary(evidence.exe()?)
}

/// A native server identified by string constants of its executable: the first rule of [`BINARY_RULES`]
/// whose markers are all there. Its version is `None` when the version string is missing or malformed.
///
/// Two passes keep the cost of an executable that is no server low: the first reads only each rule's first
/// marker; the second, only for the rules whose first marker is there, their other markers and version anchors.
pub fn detect_binary(bin: &Binary) -> Option<Detected> {
    let mut found = Found {
        markers: BINARY_RULES
            .iter()
            .map(|r| vec![false; r.markers.len()])
            .collect(),
        versions: vec![None; BINARY_RULES.len()],
    };
    let first: Vec<(&[u8], Needle)> = BINARY_RULES
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((*r.markers.first()?, Needle::Marker(i, 0))))
        .collect();
    scan(bin, &first, &mut found);
    let mut rest: Vec<(&[u8], Needle)> = Vec::new();
    for (i, rule) in BINARY_RULES.iter().enumerate() {
        if found.markers[i].first() != Some(&true) {
            continue;
        }
        for (m, marker) in rule.markers.iter().enumerate().skip(1) {
            rest.push((marker, Needle::Marker(i, m)));
        }
        if let VersionAt::After { anchor, .. } | VersionAt::Before { anchor } = rule.version {
            rest.push((anchor, Needle::Anchor(i)));
        }
    }
    if !rest.is_empty() {
        scan(bin, &rest, &mut found);
    }
    let (i, rule) = BINARY_RULES
        .iter()
        .enumerate()
        .find(|(i, _)| found.markers[*i].iter().all(|&seen| seen))?;
    let version = match rule.version {
        VersionAt::BuildId { prefix } => build_id_version(bin, prefix),
        _ => found.versions[i].clone(),
    };
    Some(Detected {
        name: rule.name.to_owned(),
        version,
    })
}

/// What the passes over the executable's strings found, per rule.
struct Found {
    markers: Vec<Vec<bool>>,
    versions: Vec<Option<String>>,
}

/// What a needle of a pass stands for: marker `m` of rule `i`, or the version anchor of rule `i`.
#[derive(Clone, Copy)]
enum Needle {
    Marker(usize, usize),
    Anchor(usize),
}

/// One pass over the string sections for `needles`, recording what they find.
fn scan(bin: &Binary, needles: &[(&[u8], Needle)], found: &mut Found) {
    let strings: Vec<&[u8]> = needles.iter().map(|(n, _)| *n).collect();
    for region in regions(bin) {
        bin.scan_each(region, &strings, AROUND, AROUND, |k, before, from| {
            match needles[k].1 {
                Needle::Marker(i, m) => found.markers[i][m] = true,
                Needle::Anchor(i) if found.versions[i].is_none() => {
                    let rule = &BINARY_RULES[i];
                    found.versions[i] = version_at(rule.version, before, from)
                        .filter(|v| numbers_first(v) >= rule.min_numbers);
                }
                Needle::Anchor(_) => {}
            }
            true
        });
    }
}

/// The regions to read: the string sections. An executable without section headers is not read: servers keep
/// theirs (stripping them takes `sstrip`), and the whole file would cost a scan for every rule.
fn regions(bin: &Binary) -> Vec<(u64, u64)> {
    SECTIONS
        .iter()
        .filter_map(|name| bin.elf.section(name))
        .map(|s| {
            (
                s.offset,
                s.size.min(bin.elf.file_size.saturating_sub(s.offset)),
            )
        })
        .collect()
}

/// A byte that may be part of a version as servers print it (`2.6.12-1+deb12u4`, `1.0~rc1`).
fn version_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+' | b'~' | b'_')
}

/// The version at one match of a rule's anchor: `before` are the bytes before the anchor, `from` the
/// anchor and what follows it.
fn version_at(at: VersionAt, before: &[u8], from: &[u8]) -> Option<String> {
    let raw = match at {
        VersionAt::After { anchor, then } => {
            let rest = from.get(anchor.len()..)?;
            let end = rest.iter().position(|&c| !version_byte(c))?;
            if !rest[end..].starts_with(then) {
                return None;
            }
            &rest[..end]
        }
        VersionAt::Before { .. } => {
            let start = before.iter().rposition(|&c| !version_byte(c))?;
            if before[start] != 0 {
                return None;
            }
            &before[start + 1..]
        }
        VersionAt::BuildId { .. } => return None,
    };
    let raw = std::str::from_utf8(raw).ok()?;
    values::version(values::upstream_version(raw))
}

/// How many dot-separated numbers the version starts with (`2.4.71` -> 3, `16beta1` -> 1, `3.1-dev5` -> 2).
fn numbers_first(v: &str) -> usize {
    let mut n = 0;
    for part in v.split('.') {
        if part.starts_with(|c: char| c.is_ascii_digit()) {
            n += 1;
        }
        if !part.bytes().all(|c| c.is_ascii_digit()) || part.is_empty() {
            break;
        }
    }
    n
}

/// At most this many version strings and build ids are kept while reading (Redis holds a handful).
const MAX_CANDIDATES: usize = 256;
/// A build id is at least a 10-digit time stamp, a dirty flag and an 8-digit commit.
const MIN_BUILD_ID: usize = 19;
/// Longest string looked at as a version or a build id.
const MAX_TOKEN: usize = 96;

/// The version in a Redis-style build id ([`VersionAt::BuildId`]): a `X.Y.Z` string of its own that also
/// starts the build id (after `prefix`), followed there by at least [`MIN_BUILD_ID`] letters, digits or `-`
/// ending in 8 hex digits. `None` unless exactly one version fits.
fn build_id_version(bin: &Binary, prefix: &[u8]) -> Option<String> {
    let mut versions: Vec<String> = Vec::new();
    let mut build_ids: Vec<String> = Vec::new();
    for (start, len) in regions(bin) {
        tokens(bin, start, len, |token, nul_before| {
            let Ok(text) = std::str::from_utf8(token) else {
                return;
            };
            if nul_before
                && is_three_numbers(text)
                && versions.len() < MAX_CANDIDATES
                && !versions.iter().any(|v| v == text)
            {
                versions.push(text.to_owned());
            }
            if token.len() > MIN_BUILD_ID
                && token.contains(&b'.')
                && build_ids.len() < MAX_CANDIDATES
            {
                build_ids.push(text.to_owned());
            }
        });
    }
    let mut fits = versions.iter().filter(|v| {
        build_ids.iter().any(|id| {
            id.match_indices(v.as_str()).any(|(at, _)| {
                let head = &id.as_bytes()[..at];
                let rest = &id[at + v.len()..];
                head.ends_with(prefix)
                    && !head
                        .last()
                        .is_some_and(|c| c.is_ascii_digit() || *c == b'.')
                    && rest.len() >= MIN_BUILD_ID
                    && rest.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                    && rest.as_bytes()[rest.len() - 8..]
                        .iter()
                        .all(u8::is_ascii_hexdigit)
            })
        })
    });
    let version = fits.next()?;
    if fits.next().is_some() {
        return None;
    }
    values::version(version)
}

/// `X.Y.Z`, three numbers of at most 4 digits.
fn is_three_numbers(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| (1..=4).contains(&p.len()) && p.bytes().all(|c| c.is_ascii_digit()))
}

/// Bytes read at a time when cutting a region into tokens.
const WINDOW: u64 = 1 << 20;

/// Calls `f(token, preceded by a NUL)` for each NUL-terminated run of version bytes of at most [`MAX_TOKEN`]
/// bytes in `[start, start + len)` (at most [`MAX_SCAN`] bytes, read in 1 MiB windows).
fn tokens(bin: &Binary, start: u64, len: u64, mut f: impl FnMut(&[u8], bool)) {
    let len = len.min(MAX_SCAN);
    let mut pos: u64 = 0;
    let mut before: u8 = 0xff;
    // Whether the previous window ended inside a token (too long to be one of ours).
    let mut inside = false;
    let mut window = Vec::new();
    while pos < len {
        let want = (WINDOW + MAX_TOKEN as u64 + 1).min(len - pos);
        let Some(data) = start
            .checked_add(pos)
            .and_then(|at| read_at_into(&bin.file, at, usize::try_from(want).ok()?, &mut window))
        else {
            return;
        };
        if data.is_empty() {
            return;
        }
        let whole = (data.len() as u64) < want || pos + want >= len;
        let step = if whole { data.len() } else { WINDOW as usize };
        let mut i = 0;
        if inside {
            while i < data.len() && version_byte(data[i]) {
                i += 1;
            }
            inside = i == data.len();
        }
        while i < step {
            if !version_byte(data[i]) {
                before = data[i];
                i += 1;
                continue;
            }
            let begin = i;
            while i < data.len() && version_byte(data[i]) {
                i += 1;
            }
            // A token that starts within the step is read whole in this window (it has MAX_TOKEN + 1 bytes
            // past the step); one that reaches the window's end is longer than that.
            let nul_before = before == 0;
            if data.get(i) == Some(&0) && i - begin <= MAX_TOKEN {
                f(&data[begin..i], nul_before);
            }
            before = data[i - 1];
            inside = i == data.len();
        }
        if whole {
            return;
        }
        pos += i as u64;
    }
}

#[cfg(test)]
mod tests {
    //! On Debian's real servers (`hack/fetch-debian-servers`, run by `hack/fetch-test-artifacts`): the expected
    //! version is the package's own `Version` field cut by Debian policy's definition of the upstream version
    //! (implemented here on its own), never typed in.

    use super::*;
    use crate::testing::{
        artifact, framework, host, machine_file, process, run, HostRoot, TempDir,
    };
    use crate::{fingerprint, Process};
    use test_support::require;

    /// Debian policy: `[epoch:]upstream[-revision]`, the revision after the last `-`; a repacked source
    /// (`+dfsg1`, `+ds`) is marked at the end of the upstream part.
    fn debian_upstream(version: &str) -> String {
        let v = version.split_once(':').map_or(version, |(_, v)| v);
        let v = v.rsplit_once('-').map_or(v, |(upstream, _)| upstream);
        let v = v.split("+dfsg").next().unwrap_or(v);
        v.split("+ds").next().unwrap_or(v).to_owned()
    }

    /// The unpacked package `<suite>/<package>` and its upstream version.
    fn package(suite: &str, name: &str) -> Option<(String, String)> {
        let dir = artifact(&format!("debian-servers/{suite}/{name}"))?;
        let version = std::fs::read_to_string(format!("{dir}/.version")).expect("version");
        Some((dir, debian_upstream(version.trim())))
    }

    fn host_suite() -> String {
        std::fs::read_to_string("/etc/os-release")
            .expect("os-release")
            .lines()
            .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
            .expect("VERSION_CODENAME")
            .trim_matches('"')
            .to_owned()
    }

    fn detect_file(dir: &str, path: &str) -> Option<Detected> {
        let root = HostRoot::new(dir);
        let bin =
            Binary::open(&root, path).unwrap_or_else(|| panic!("{dir}{path} is not an ELF file"));
        detect_binary(&bin)
    }

    /// (package, executable, server): every server of the rules, as each package installs it.
    const SERVERS: &[(&str, &str, &str)] = &[
        ("nginx", "/usr/sbin/nginx", "nginx"),
        ("apache2-bin", "/usr/sbin/apache2", "Apache HTTP Server"),
        ("haproxy", "/usr/sbin/haproxy", "HAProxy"),
        ("mariadb-server-core", "/usr/sbin/mariadbd", "MariaDB"),
        ("redis-tools", "/usr/bin/redis-check-rdb", "Redis"),
        ("valkey-tools", "/usr/bin/valkey-check-rdb", "Valkey"),
        ("mysql-server-core", "/usr/sbin/mysqld", "MySQL"),
    ];

    /// Whether `hack/fetch-debian-servers` fetches that package of that suite.
    fn fetched(suite: &str, package: &str) -> bool {
        match package {
            "valkey-tools" => suite == "trixie",
            "mysql-server-core" => suite == "sid",
            _ => suite != "sid",
        }
    }

    #[test]
    fn debian_servers_by_their_bytes_with_their_upstream_version() {
        let host = host_suite();
        let mut checked = 0;
        for suite in [host.as_str(), "trixie", "sid"] {
            for &(name, exe, server) in SERVERS {
                if !fetched(suite, name) {
                    continue;
                }
                let (dir, upstream) = require!(package(suite, name));
                let found = detect_file(&dir, exe);
                assert_eq!(
                    found,
                    Some(Detected {
                        name: server.to_owned(),
                        version: Some(upstream.clone()),
                    }),
                    "{suite}/{name} {exe}"
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 5 + 5 + 2);
    }

    #[test]
    fn the_link_redis_server_is_read_through_and_names_prove_nothing() {
        let (dir, upstream) = require!(package(&host_suite(), "redis-tools"));
        let t = TempDir::new("redis-link");
        t.copy(
            &format!("{dir}/usr/bin/redis-check-rdb"),
            "usr/bin/redis-check-rdb",
        );
        t.symlink("redis-check-rdb", "usr/bin/redis-server");
        // What the kernel shows for Debian's redis-server: the link's target as exe, the link as argv[0].
        let p = Process {
            exe: Some("/usr/bin/redis-check-rdb".into()),
            argv: vec!["/usr/bin/redis-server".into(), "127.0.0.1:6379".into()],
            ..Process::default()
        };
        let f = fingerprint(&HostRoot::new(&t.0), &p);
        assert_eq!(
            (f.runtime_name.as_deref(), f.runtime_version.as_deref()),
            (Some("Redis"), Some(upstream.as_str()))
        );
        assert_eq!(
            f.runtime_kind, None,
            "Redis is a native server, not a runtime kind"
        );
        // Only argv[0] (an unreadable exe): the link resolves inside the root.
        let p = Process { exe: None, ..p };
        let f = fingerprint(&HostRoot::new(&t.0), &p);
        assert_eq!(f.runtime_name.as_deref(), Some("Redis"));
        // nginx copied under another name is still nginx.
        let (nginx, upstream) = require!(package(&host_suite(), "nginx"));
        t.copy(&format!("{nginx}/usr/sbin/nginx"), "app/server");
        let f = fingerprint(
            &HostRoot::new(&t.0),
            &Process {
                exe: Some("/app/server".into()),
                argv: vec!["server".into()],
                ..Process::default()
            },
        );
        assert_eq!(
            (f.runtime_name.as_deref(), f.runtime_version.as_deref()),
            (Some("nginx"), Some(upstream.as_str()))
        );
    }

    #[test]
    fn clients_and_tools_of_the_packages_are_not_servers() {
        let host = host_suite();
        let tools: &[(&str, &str, &[&str])] = &[
            ("redis-tools", "/usr/bin", &["redis-cli", "redis-benchmark"]),
            (
                "valkey-tools",
                "/usr/bin",
                &["valkey-cli", "valkey-benchmark"],
            ),
            ("haproxy", "/usr/sbin", &["halog"]),
            (
                "mariadb-server-core",
                "/usr/bin",
                &["mariadb-upgrade", "innochecksum", "resolveip"],
            ),
            (
                "mysql-server-core",
                "/usr/bin",
                &[
                    "perror",
                    "mysql_migrate_keyring",
                    "mysqlbinlog",
                    "innochecksum",
                ],
            ),
        ];
        for suite in [host.as_str(), "trixie", "sid"] {
            for &(name, bin_dir, exes) in tools {
                if !fetched(suite, name) {
                    continue;
                }
                let dir = require!(artifact(&format!("debian-servers/{suite}/{name}")));
                for exe in exes {
                    assert_eq!(
                        detect_file(&dir, &format!("{bin_dir}/{exe}")),
                        None,
                        "{suite}/{name} {exe}"
                    );
                }
            }
        }
        // PostgreSQL's clients carry the server's version string ("\0PostgreSQL 15.18 (Debian ...").
        for client in ["psql", "pg_config"] {
            let path = require!(machine_file(&format!(
                "/usr/lib/postgresql/15/bin/{client}"
            )));
            assert_eq!(detect_file("/", &path), None, "{client}");
        }
    }

    #[test]
    fn valkey_is_not_the_redis_version_it_is_compatible_with() {
        // valkey-check-rdb holds "\08.1.1\07.2.4\0": its own version and the Redis one INFO reports too.
        let (dir, upstream) = require!(package("trixie", "valkey-tools"));
        let d = detect_file(&dir, "/usr/bin/valkey-check-rdb").expect("Valkey");
        assert_eq!(
            (d.name.as_str(), d.version.as_deref()),
            ("Valkey", Some(upstream.as_str()))
        );
        let bytes = std::fs::read(format!("{dir}/usr/bin/valkey-check-rdb")).expect("read");
        let compat = b"\x007.2.4\x00";
        assert!(
            bytes.windows(compat.len()).any(|w| w == compat),
            "the Redis compatibility version is in the bytes, and not reported"
        );
    }

    #[test]
    fn mutated_and_truncated_servers_give_an_answer_or_none_never_a_panic() {
        // The build id reader only runs once the Redis marker is found, so the mutations keep the marker and hit
        // the strings around the version and the build id.
        let (dir, _) = require!(package(&host_suite(), "redis-tools"));
        let real = std::fs::read(format!("{dir}/usr/bin/redis-check-rdb")).expect("read");
        let t = TempDir::new("redis-mutations");
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let version = b"7.0.15";
        let spots: Vec<usize> = real
            .windows(version.len())
            .enumerate()
            .filter(|(_, w)| *w == version)
            .map(|(i, _)| i)
            .collect();
        assert!(!spots.is_empty(), "the version is in the bytes");
        for round in 0..48 {
            let mut bytes = real.clone();
            for _ in 0..16 {
                let at = spots[(next() as usize) % spots.len()] + (next() as usize) % 40;
                if let Some(b) = bytes.get_mut(at.saturating_sub(12)) {
                    *b = [0, b'.', b'-', b'7', b'a', 0xff][(next() as usize) % 6];
                }
            }
            if round % 4 == 3 {
                bytes.truncate((next() as usize) % real.len());
            }
            t.write("usr/bin/redis-check-rdb", &bytes);
            let root = HostRoot::new(&t.0);
            if let Some(bin) = Binary::open(&root, "/usr/bin/redis-check-rdb") {
                if let Some(d) = detect_binary(&bin) {
                    assert_eq!(d.name, "Redis");
                    assert!(d
                        .version
                        .as_deref()
                        .is_none_or(|v| values::version(v).is_some()));
                }
            }
        }
    }

    #[test]
    fn every_rule_has_a_marker_read_first() {
        for rule in BINARY_RULES {
            assert!(rule.markers.iter().all(|m| !m.is_empty()), "{}", rule.name);
            assert!(!rule.markers.is_empty(), "{} has no marker", rule.name);
        }
    }

    #[test]
    fn versions_at_anchors() {
        let nginx = VersionAt::After {
            anchor: b"nginx version: nginx/",
            then: b"\n",
        };
        assert_eq!(
            version_at(nginx, b"", b"nginx version: nginx/1.22.1\n\0OpenSSL").as_deref(),
            Some("1.22.1")
        );
        assert_eq!(
            version_at(nginx, b"", b"nginx version: nginx/1.22.1"),
            None,
            "cut off"
        );
        let mariadb = VersionAt::Before {
            anchor: b"-MariaDB\0",
        };
        assert_eq!(
            version_at(
                mariadb,
                b"Unknown\0-0+deb12u1\x0010.11.19",
                b"-MariaDB\0x86_64"
            )
            .as_deref(),
            Some("10.11.19")
        );
        assert_eq!(
            version_at(mariadb, b"10.11.19", b"-MariaDB\0"),
            None,
            "no string start"
        );
        assert_eq!(numbers_first("2.4.71"), 3);
        assert_eq!(numbers_first("2"), 1);
        assert_eq!(numbers_first("16beta1"), 1);
        assert_eq!(numbers_first("3.1-dev5"), 2);
    }

    #[test]
    fn postgresql_server_version_from_the_binary() {
        let postgres = require!(machine_file("/usr/lib/postgresql/15/bin/postgres"));
        let out = run(&postgres, &["--version"]);
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let expected = out
            .split(") ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .expect("version")
            .to_owned();
        let f = fingerprint(
            &host(),
            &process(&postgres, &["postgres", "-D", "/var/lib/postgresql/data"]),
        );
        assert_eq!(framework(&f), (Some("PostgreSQL"), Some(expected.as_str())));
        assert_eq!(
            f.runtime_kind, None,
            "PostgreSQL is a native server, not a runtime kind"
        );
    }
}
