//! Bounded searches for byte strings in a file region, in 64 KiB windows (never the whole file in memory).

use crate::read::elf::{read_at, read_at_into, Elf};
use std::fs::File;

/// No region is scanned past this many bytes (the biggest `.rodata` seen in real runtimes is ~40 MiB).
pub const MAX_SCAN: u64 = 256 << 20;
/// Small, and one buffer serves every window of a search: every fresh page is a page fault, which costs
/// several µs in a VM (1 MiB windows cost the analyzer of a busybox container about 50 more faults).
pub const CHUNK: u64 = 64 << 10;
/// Real files hold a needle a handful of times; a file repeating it endlessly only burns CPU.
pub const MAX_MATCHES: usize = 10_000;

/// Without section headers the whole file is searched, but only its first 64 MiB.
pub const MAX_SCAN_WITHOUT_SECTIONS: u64 = 64 << 20;

/// The region of an ELF file where string constants live: `.rodata`, else the start of the file.
pub fn strings_region(elf: &Elf) -> (u64, u64) {
    match elf.section(".rodata") {
        Some(s) => (s.offset, s.size.min(elf.file_size.saturating_sub(s.offset))),
        None => (0, elf.file_size.min(MAX_SCAN_WITHOUT_SECTIONS)),
    }
}

/// Calls `f(byte before the match, bytes from the match on (at most needle + tail))` for each
/// occurrence of `needle` in `[start, start + len)`, in file order, until `f` returns a value.
pub fn find_map<T>(
    file: &File,
    start: u64,
    len: u64,
    needle: &[u8],
    tail: usize,
    mut f: impl FnMut(Option<u8>, &[u8]) -> Option<T>,
) -> Option<T> {
    if needle.is_empty() {
        return None;
    }
    let len = len.min(MAX_SCAN);
    let finder = memchr::memmem::Finder::new(needle);
    let overlap = (needle.len() + tail) as u64;
    let mut pos: u64 = 0;
    let mut matches = 0;
    let mut window = Vec::new();
    while pos < len {
        let want = (CHUNK + overlap).min(len - pos);
        let data = read_at_into(
            file,
            start.checked_add(pos)?,
            usize::try_from(want).ok()?,
            &mut window,
        )?;
        let last = pos + CHUNK >= len || (data.len() as u64) < want;
        for i in finder.find_iter(data) {
            // Matches past the step are seen whole in the next window.
            if !last && i as u64 >= CHUNK {
                break;
            }
            matches += 1;
            if matches > MAX_MATCHES {
                return None;
            }
            let before = match i {
                0 if pos == 0 => None,
                0 => read_at(file, start + pos - 1, 1).and_then(|b| b.first().copied()),
                _ => Some(data[i - 1]),
            };
            let end = (i + needle.len() + tail).min(data.len());
            if let Some(found) = f(before, &data[i..end]) {
                return Some(found);
            }
        }
        if last {
            break;
        }
        pos += CHUNK;
    }
    None
}

/// Several needles, searched for together: with Teddy (SIMD, one pass over the bytes for all of them) where
/// the build has it, else one `memmem` pass per needle. Teddy is compiled in when the target has SSSE3 (the
/// analyzer is built for it, see docs/fingerprints.md); a test build gets it by runtime detection.
pub struct Needles<'n> {
    needles: &'n [&'n [u8]],
    finders: Vec<memchr::memmem::Finder<'n>>,
    teddy: Option<aho_corasick::packed::Searcher>,
}

/// Candidates a one-pass scan may pass over without reporting them (occurrences overlapping a needle's
/// previous one, or of a needle past its cap) before it goes on needle by needle: a file that repeats a needle
/// endlessly would otherwise stop the search at every byte, where `memmem` skips a whole window once the needle is
/// capped.
const WASTE_LIMIT: usize = 4 * MAX_MATCHES;

impl<'n> Needles<'n> {
    pub fn new(needles: &'n [&'n [u8]]) -> Needles<'n> {
        let mut search = Self::one_by_one(needles);
        search.teddy = Self::teddy(needles);
        search
    }

    /// One pass for all, when every occurrence of every needle can be found that way: a search that
    /// restarts one byte after each match finds every needle at every position, except where two needles
    /// match at the same position, which only a needle that is a prefix of another can.
    fn teddy(needles: &[&[u8]]) -> Option<aho_corasick::packed::Searcher> {
        let prefix_of_another = needles.iter().enumerate().any(|(i, a)| {
            needles
                .iter()
                .enumerate()
                .any(|(j, b)| i != j && b.starts_with(a))
        });
        if prefix_of_another || needles.iter().any(|n| n.is_empty()) {
            return None;
        }
        aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(needles)
            .build()
    }

    pub(crate) fn one_by_one(needles: &'n [&'n [u8]]) -> Needles<'n> {
        Needles {
            needles,
            finders: needles.iter().map(memchr::memmem::Finder::new).collect(),
            teddy: None,
        }
    }

    /// Whether the needles are searched in one pass.
    pub fn together_in_one_pass(&self) -> bool {
        self.teddy.is_some()
    }
}

/// Where a scan stands: each needle's reported occurrences, and what the one-pass search passed over.
struct Tally {
    seen: Vec<usize>,
    wasted: usize,
}

impl Tally {
    /// Counts an occurrence of needle `k`; false once it is past [`MAX_MATCHES`].
    fn count(&mut self, k: usize) -> bool {
        self.seen[k] += 1;
        self.seen[k] <= MAX_MATCHES
    }
}

/// Calls `f(needle index, position)` for the occurrences in `hay` that start before `until`, each needle's
/// as `memmem` finds them (left to right, none overlapping the one before) and at most [`MAX_MATCHES`] of each
/// over the whole scan: in position order with Teddy, needle by needle otherwise. Stops when `f` returns false,
/// and then returns false.
fn each_in_window(
    needles: &Needles<'_>,
    tally: &mut Tally,
    hay: &[u8],
    until: usize,
    mut f: impl FnMut(usize, usize) -> bool,
) -> bool {
    if let Some(teddy) = needles
        .teddy
        .as_ref()
        .filter(|_| tally.wasted < WASTE_LIMIT)
    {
        // Where each needle's last occurrence ends: one overlapping it is not one `memmem` would report.
        let mut free_from = vec![0usize; needles.needles.len()];
        let mut from = 0;
        while from < hay.len() {
            let span = aho_corasick::Span {
                start: from,
                end: hay.len(),
            };
            let Some(m) = teddy.find_in(hay, span) else {
                break;
            };
            let (k, i) = (m.pattern().as_usize(), m.start());
            if i >= until {
                break;
            }
            from = i + 1;
            if i < free_from[k] || tally.seen[k] >= MAX_MATCHES {
                tally.wasted += 1;
                continue;
            }
            free_from[k] = m.end();
            tally.count(k);
            if !f(k, i) {
                return false;
            }
        }
        return true;
    }
    for (k, finder) in needles.finders.iter().enumerate() {
        for i in finder.find_iter(hay) {
            if i >= until || !tally.count(k) {
                break;
            }
            if !f(k, i) {
                return false;
            }
        }
    }
    true
}

/// Searches `[start, start + len)` for several needles in one pass: one read of each window, then
/// [`Needles`] over it, so asking an executable for many strings costs one read of the region.
/// `f(needle index, file offset of the match, up to `behind` bytes before the match, the match and up to
/// `tail` bytes after it)` is called for each occurrence (per window; within one, in position order or
/// needle by needle, see [`Needles`]); it returns `false` to stop. At most [`MAX_MATCHES`] occurrences of
/// each needle are examined.
pub fn scan_each(
    file: &File,
    start: u64,
    len: u64,
    needles: &Needles<'_>,
    behind: usize,
    tail: usize,
    mut f: impl FnMut(usize, u64, &[u8], &[u8]) -> bool,
) {
    let longest = needles.needles.iter().map(|n| n.len()).max().unwrap_or(0);
    if needles.needles.iter().any(|n| n.is_empty()) || longest == 0 {
        return;
    }
    let len = len.min(MAX_SCAN);
    let overlap = (longest + tail) as u64;
    let mut tally = Tally {
        seen: vec![0; needles.needles.len()],
        wasted: 0,
    };
    let mut pos: u64 = 0;
    let mut window = Vec::new();
    while pos < len {
        // The window re-reads up to `behind` bytes before its step, so a match sees what precedes it.
        let lead = (behind as u64).min(pos);
        let want = lead + (CHUNK + overlap).min(len - pos);
        let Some(at) = start.checked_add(pos - lead) else {
            return;
        };
        let Some(data) = usize::try_from(want)
            .ok()
            .and_then(|w| read_at_into(file, at, w, &mut window))
        else {
            return;
        };
        let last = pos + CHUNK >= len || (data.len() as u64) < want;
        let lead = lead as usize;
        let body = data.get(lead..).unwrap_or_default();
        // Matches past the step are seen whole in the next window.
        let until = if last { body.len() } else { CHUNK as usize };
        let going_on = each_in_window(needles, &mut tally, body, until, |k, i| {
            let from = lead + i;
            let end = (from + needles.needles[k].len() + tail).min(data.len());
            let offset = start + pos + i as u64;
            f(
                k,
                offset,
                &data[from.saturating_sub(behind)..from],
                &data[from..end],
            )
        });
        if last || !going_on {
            break;
        }
        pos += CHUNK;
    }
}

/// [`find_map`] over bytes already read: the whole region, in one window.
pub fn find_map_in<T>(
    data: &[u8],
    needle: &[u8],
    tail: usize,
    mut f: impl FnMut(Option<u8>, &[u8]) -> Option<T>,
) -> Option<T> {
    if needle.is_empty() {
        return None;
    }
    let data = &data[..data.len().min(MAX_SCAN as usize)];
    for (n, i) in memchr::memmem::find_iter(data, needle).enumerate() {
        if n >= MAX_MATCHES {
            return None;
        }
        let before = i.checked_sub(1).map(|b| data[b]);
        let end = (i + needle.len() + tail).min(data.len());
        if let Some(found) = f(before, &data[i..end]) {
            return Some(found);
        }
    }
    None
}

/// The printable run of bytes at the start of `bytes` (up to NUL or a control byte).
pub fn printable_prefix(bytes: &[u8]) -> &str {
    let end = bytes
        .iter()
        .position(|&b| !(0x20..0x7f).contains(&b))
        .unwrap_or(bytes.len());
    std::str::from_utf8(&bytes[..end]).unwrap_or("")
}

/// A dotted numeric version at the start of `s` (`15.18`, `3.11.2`, `20.20.2`) with an optional
/// pre-release suffix made of letters and digits directly after it (`16beta1`, `3.13.0rc2`).
pub fn leading_version(s: &str) -> Option<&str> {
    let bytes = s.as_bytes();
    let mut end = 0;
    while end < bytes.len() {
        let c = bytes[end];
        let dot_between_digits = c == b'.'
            && end > 0
            && bytes[end - 1].is_ascii_digit()
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
        if c.is_ascii_digit() || dot_between_digits {
            end += 1;
        } else {
            break;
        }
    }
    if end == 0 {
        return None;
    }
    let suffix = bytes[end..]
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    let with_suffix = end + suffix;
    // Keep only pre-release suffixes (alpha/beta/rc + digits); drop anything else after the number.
    let tail = &s[end..with_suffix];
    let keep = ["alpha", "beta", "rc", "a", "b"].iter().any(|p| {
        tail.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()))
    });
    Some(if keep { &s[..with_suffix] } else { &s[..end] })
}

/// A release version of three parts at the start of `s` (`3.3.8`, `1.4.5`, `2.9.6`; a pre-release
/// suffix as [`leading_version`] keeps it): what a runtime's banner states, where `1.2` or `1.2.3.4`
/// after the same banner text is something else.
pub fn leading_release(s: &str) -> Option<&str> {
    leading_version(s).filter(|v| v.matches('.').count() == 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_versions() {
        assert_eq!(
            leading_version("15.18 (Debian 15.18-0+deb12u1)"),
            Some("15.18")
        );
        assert_eq!(leading_version("16beta1 on x86"), Some("16beta1"));
        assert_eq!(leading_version("3.11.7\0"), Some("3.11.7"));
        assert_eq!(leading_version("3.1.7p261 (2025"), Some("3.1.7"));
        assert_eq!(leading_version("3.13.0rc2"), Some("3.13.0rc2"));
        assert_eq!(leading_version("1.2."), Some("1.2"));
        assert_eq!(leading_version("x1"), None);
    }

    #[test]
    fn leading_releases() {
        assert_eq!(leading_release("3.3.8 (2025-04-09"), Some("3.3.8"));
        assert_eq!(leading_release("3.13.0rc2 x"), Some("3.13.0rc2"));
        assert_eq!(leading_release("15.18 (Debian"), None);
        assert_eq!(leading_release("1.2.3.4"), None);
        assert_eq!(leading_release("v1.2.3"), None);
    }

    #[test]
    fn finds_across_window_boundaries() {
        let dir = crate::testing::TempDir::new("scan");
        let mut data = vec![b'x'; (CHUNK as usize) * 2 + 100];
        let at = CHUNK as usize - 3; // straddles the first window's step
        data[at..at + 6].copy_from_slice(b"NEEDLE");
        data[at + 6..at + 10].copy_from_slice(b"1234");
        dir.write("f", &data);
        let file = File::open(dir.path("f")).expect("open");
        let got = find_map(
            &file,
            0,
            data.len() as u64,
            b"NEEDLE",
            4,
            |before, after| Some((before, after.to_vec())),
        );
        assert_eq!(got, Some((Some(b'x'), b"NEEDLE1234".to_vec())));
        let mut count = 0;
        let none: Option<()> = find_map(&file, 0, data.len() as u64, b"NEEDLE", 4, |_, _| {
            count += 1;
            None
        });
        assert_eq!((none, count), (None, 1), "each match is reported once");
    }

    /// The one-pass search and the search needle by needle, on the same needles.
    fn both<'n>(needles: &'n [&'n [u8]]) -> [Needles<'n>; 2] {
        let together = Needles::new(needles);
        assert!(
            together.together_in_one_pass(),
            "Teddy is available to the tests (x86-64 with SSSE3, by runtime detection)"
        );
        [together, Needles::one_by_one(needles)]
    }

    #[test]
    fn scan_each_sees_every_needle_once_with_what_precedes_it() {
        let dir = crate::testing::TempDir::new("scan-each");
        let mut data = vec![b'x'; (CHUNK as usize) * 2 + 100];
        let at = CHUNK as usize + 3; // the match is in the second window, what precedes it in the first
        data[at - 4..at + 9].copy_from_slice(b"\x0010.1-MDB\x001.2");
        data[50..56].copy_from_slice(b"AAA1.0");
        dir.write("f", &data);
        let file = File::open(dir.path("f")).expect("open");
        for needles in both(&[b"-MDB\0", b"AAA"]) {
            let mut seen = Vec::new();
            scan_each(
                &file,
                0,
                data.len() as u64,
                &needles,
                8,
                3,
                |k, offset, before, from| {
                    seen.push((k, offset, before.to_vec(), from.to_vec()));
                    true
                },
            );
            seen.sort();
            assert_eq!(
                seen,
                vec![
                    (
                        0,
                        at as u64 + 1,
                        b"xxx\x0010.1".to_vec(),
                        b"-MDB\x001.2".to_vec()
                    ),
                    (1, 50, b"xxxxxxxx".to_vec(), b"AAA1.0".to_vec()),
                ]
            );
        }
        // Stopping early, and a region that starts at the file's start has nothing before its first byte.
        for needles in both(&[b"AAA"]) {
            let mut calls = 0;
            scan_each(&file, 50, 10, &needles, 8, 0, |_, _, before, _| {
                calls += 1;
                assert!(before.is_empty());
                false
            });
            assert_eq!(calls, 1);
        }
    }

    #[test]
    fn one_pass_finds_every_occurrence_a_pass_per_needle_finds() {
        // Needles whose occurrences overlap one another's ("Deno/rustc" holds both "Deno/" and "/rustc"),
        // repeat into each other ("aXa" in "aXaXa"), and straddle a window's step; then a real executable.
        let dir = crate::testing::TempDir::new("one-pass");
        let mut data = vec![b'.'; (CHUNK as usize) * 3];
        for (at, text) in [
            (10, &b"Deno/rustc/rustc"[..]),
            (100, b"aXaXaXa"),
            (CHUNK as usize - 4, b"Deno/rustc"),
            (2 * CHUNK as usize - 2, b"aXaXa"),
        ] {
            data[at..at + text.len()].copy_from_slice(text);
        }
        dir.write("f", &data);
        let synthetic = File::open(dir.path("f")).expect("open");
        let needles: &[&[u8]] = &[b"Deno/", b"/rustc", b"aXa", b"X"];
        let mut files = vec![(synthetic, 0, data.len() as u64)];
        if let Some(busybox) = crate::testing::machine_file("/usr/bin/busybox") {
            let file = File::open(busybox).expect("open");
            let (start, len) = strings_region(&Elf::parse(&file).expect("ELF"));
            files.push((file, start, len));
        }
        for (file, start, len) in &files {
            let found: Vec<_> = both(needles)
                .iter()
                .map(|needles| {
                    let mut found = Vec::new();
                    scan_each(
                        file,
                        *start,
                        *len,
                        needles,
                        2,
                        4,
                        |k, offset, before, from| {
                            found.push((offset, k, before.to_vec(), from.to_vec()));
                            true
                        },
                    );
                    found.sort();
                    found
                })
                .collect();
            assert_eq!(found[0], found[1]);
            assert!(found[0].len() > 5, "{} matches", found[0].len());
        }
        // A needle that is a prefix of another would hide it where both match: searched one by one.
        assert!(!Needles::new(&[b"Redis version=", b"Redis version=%s"]).together_in_one_pass());
    }

    #[test]
    fn a_region_in_memory_gives_what_the_file_search_gives() {
        // A real executable's string constants, searched window by window and whole, for needles it holds
        // and one it lacks.
        let path = test_support::require!(crate::testing::machine_file("/usr/bin/busybox"));
        let file = File::open(&path).expect("open");
        let elf = Elf::parse(&file).expect("ELF");
        let (start, len) = strings_region(&elf);
        assert!(len > 2 * CHUNK, "busybox's .rodata spans several windows");
        let data = read_at(&file, start, len as usize).expect("read");
        let mut total = 0;
        for needle in [
            &b"BusyBox v"[..],
            b"usage",
            b"%s",
            b"\x00not-in-busybox\x00",
        ] {
            let (mut from_file, mut in_memory) = (Vec::new(), Vec::new());
            let none: Option<()> = find_map(&file, start, len, needle, 16, |b, bytes| {
                from_file.push((b, bytes.to_vec()));
                None
            });
            let none_either: Option<()> = find_map_in(&data, needle, 16, |b, bytes| {
                in_memory.push((b, bytes.to_vec()));
                None
            });
            assert_eq!((none, none_either), (None, None));
            assert_eq!(from_file, in_memory, "{}", String::from_utf8_lossy(needle));
            total += from_file.len();
        }
        assert!(total > 3, "the needles are found: {total}");
    }

    #[test]
    fn endless_repetitions_in_one_pass_stop_at_the_cap_and_hide_no_other_needle() {
        // 4 MiB of one needle, overlapping itself at every byte, then another needle at the very end: each
        // search reports the first MAX_MATCHES of the first and still finds the second.
        let dir = crate::testing::TempDir::new("one-pass-cap");
        let mut data = b"a".repeat(4 << 20);
        data.extend_from_slice(b"Deno/2.9.6");
        dir.write("f", &data);
        let file = File::open(dir.path("f")).expect("open");
        for needles in both(&[b"aaaa", b"Deno/"]) {
            let mut seen = [0usize; 2];
            let mut last = 0;
            scan_each(
                &file,
                0,
                data.len() as u64,
                &needles,
                0,
                5,
                |k, offset, _, from| {
                    seen[k] += 1;
                    if k == 1 {
                        assert_eq!(from, b"Deno/2.9.6");
                        last = offset;
                    }
                    true
                },
            );
            assert_eq!(seen, [MAX_MATCHES, 1]);
            assert_eq!(last, 4 << 20);
        }
    }

    #[test]
    fn endless_repetitions_stop_at_the_match_cap() {
        let dir = crate::testing::TempDir::new("scan-cap");
        let data = b"node.js/vX".repeat(50_000);
        dir.write("f", &data);
        let file = File::open(dir.path("f")).expect("open");
        let mut seen = 0;
        let none: Option<()> = find_map(&file, 0, data.len() as u64, b"node.js/v", 8, |_, _| {
            seen += 1;
            None
        });
        assert_eq!((none, seen), (None, MAX_MATCHES));
    }
}
