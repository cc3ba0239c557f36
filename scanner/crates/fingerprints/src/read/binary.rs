//! An ELF file of the container (the executable or a mapped library), opened once and searched for
//! string constants within bounds; the runtime kinds read their versions through it.

use crate::read::byte_search::{
    self, find_map, find_map_in, printable_prefix, strings_region, Needles, CHUNK, MAX_MATCHES,
    MAX_SCAN_WITHOUT_SECTIONS,
};
use crate::read::elf::{read_at, Elf};
use crate::root::Root;
use std::cell::OnceCell;
use std::fs::File;

/// Regions larger than this are not surveyed: the kinds' own searches stop at their first answer, and a
/// survey reads to the end (Node.js keeps ~47 MiB of strings, and only its own kind reads them).
const SURVEY_MAX: u64 = 16 << 20;

/// Bytes kept after a match for the kinds' callers (the printable text after a needle).
const TAIL: usize = 128;

/// An opened ELF file of the container (the executable or a mapped library).
pub struct Binary {
    pub path: String,
    pub file: File,
    pub elf: Elf,
    /// The string constants, read once when they fit one search window: every detector that looks for
    /// its needle there searches the same bytes (`None`: too big, searched window by window).
    strings: OnceCell<Option<Vec<u8>>>,
    survey: OnceCell<Survey>,
}

/// Where the needles of [`crate::kinds::surveyed_needles`] are in the string constants (the strings region
/// and `.data`), found in one pass the first time a kind asks for one of them. Nearly every executable is
/// asked for all of them (each kind that could be the one asks for its needle, then the native-server
/// rules for theirs): one pass instead of one per needle.
struct Survey {
    needles: &'static [&'static [u8]],
    regions: Vec<SurveyedRegion>,
}

/// A region surveyed, `(start, len)`, with each needle's match offsets in file order (at most
/// [`MAX_MATCHES`], all that a search examines).
type SurveyedRegion = ((u64, u64), Vec<Vec<u64>>);

impl Survey {
    fn take(file: &File, elf: &Elf) -> Survey {
        let needles = crate::kinds::surveyed_needles();
        let mut regions: Vec<(u64, u64)> = vec![strings_region(elf)];
        if let Some(data) = elf.section(".data") {
            regions.push((
                data.offset,
                data.size.min(elf.file_size.saturating_sub(data.offset)),
            ));
        }
        regions.retain(|(_, len)| *len <= SURVEY_MAX);
        regions.dedup();
        let search = Needles::new(needles);
        let regions = regions
            .into_iter()
            .map(|(start, len)| {
                let mut found = vec![Vec::new(); needles.len()];
                byte_search::scan_each(file, start, len, &search, 0, 0, |k, at, _, _| {
                    found[k].push(at);
                    true
                });
                ((start, len), found)
            })
            .collect();
        Survey { needles, regions }
    }

    /// The offsets of `needle` in the region, if it was surveyed.
    fn offsets(&self, region: (u64, u64), needle: &[u8]) -> Option<&[u64]> {
        let k = self.needles.iter().position(|n| *n == needle)?;
        let (_, found) = self.regions.iter().find(|(r, _)| *r == region)?;
        Some(&found[k])
    }
}

impl Binary {
    pub fn open(root: &dyn Root, path: &str) -> Option<Binary> {
        let file = root.open(path).ok()?;
        let elf = Elf::parse(&file)?;
        Some(Binary::from_parts(path, file, elf))
    }

    pub fn from_parts(path: &str, file: File, elf: Elf) -> Binary {
        Binary {
            path: path.to_owned(),
            file,
            elf,
            strings: OnceCell::new(),
            survey: OnceCell::new(),
        }
    }

    /// The survey's offsets of `needle` in `region`, taking the survey if this is the first ask; `None`
    /// for a needle or region it does not cover.
    fn surveyed(&self, region: (u64, u64), needle: &[u8]) -> Option<&[u64]> {
        if !crate::kinds::surveyed_needles().contains(&needle) {
            return None;
        }
        self.survey
            .get_or_init(|| Survey::take(&self.file, &self.elf))
            .offsets(region, needle)
    }

    /// What [`find_map`] gives for the matches at `offsets` of `[start, start + len)`: `f` gets the byte
    /// before each (none at the region's start) and the match with up to `tail` bytes after it.
    fn find_at<T>(
        &self,
        offsets: &[u64],
        (start, len): (u64, u64),
        needle: &[u8],
        tail: usize,
        mut f: impl FnMut(Option<u8>, &[u8]) -> Option<T>,
    ) -> Option<T> {
        let end = start.checked_add(len.min(byte_search::MAX_SCAN))?;
        for (n, &at) in offsets.iter().enumerate() {
            if n >= MAX_MATCHES {
                return None;
            }
            let lead = u64::from(at > start);
            let upto = at.checked_add((needle.len() + tail) as u64)?.min(end);
            let bytes = read_at(
                &self.file,
                at - lead,
                usize::try_from(upto - at + lead).ok()?,
            )?;
            let (before, from) = match lead {
                0 => (None, bytes.as_slice()),
                _ => (bytes.first().copied(), bytes.get(1..)?),
            };
            // The file changed since the survey: no answer rather than a wrong one.
            if !from.starts_with(needle) {
                return None;
            }
            if let Some(found) = f(before, from) {
                return Some(found);
            }
        }
        None
    }

    /// [`find_map`] over a region, answered from the survey where it covers the needle.
    fn find_in_region<T>(
        &self,
        region: (u64, u64),
        needle: &[u8],
        f: impl Fn(Option<u8>, &str) -> Option<T>,
    ) -> Option<T> {
        let at_match = |before, bytes: &[u8]| f(before, printable_prefix(&bytes[needle.len()..]));
        match self.surveyed(region, needle) {
            Some(offsets) => self.find_at(offsets, region, needle, TAIL, at_match),
            None => find_map(&self.file, region.0, region.1, needle, TAIL, at_match),
        }
    }

    /// Searches the string constants (`.rodata`) for `needle`; `f` gets the byte before the match
    /// and the printable text right after the needle.
    pub fn find_string<T>(
        &self,
        needle: &[u8],
        f: impl Fn(Option<u8>, &str) -> Option<T>,
    ) -> Option<T> {
        let region = strings_region(&self.elf);
        let at_match = |before, bytes: &[u8]| f(before, printable_prefix(&bytes[needle.len()..]));
        if let Some(offsets) = self.surveyed(region, needle) {
            return self.find_at(offsets, region, needle, TAIL, at_match);
        }
        let (start, len) = region;
        let strings = self
            .strings
            .get_or_init(|| (len <= CHUNK).then(|| read_at(&self.file, start, len as usize))?);
        match strings {
            Some(data) => find_map_in(data, needle, TAIL, at_match),
            None => find_map(&self.file, start, len, needle, TAIL, at_match),
        }
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
                if let found @ Some(_) = self.find_in_region((s.offset, s.size), needle, &f) {
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
        let len = self.elf.file_size.min(MAX_SCAN_WITHOUT_SECTIONS);
        self.find_in_region((0, len), needle, f)
    }

    /// [`byte_search::scan_each`] over a region, answered from the survey where it covers every needle;
    /// then the matches come in file order.
    pub fn scan_each(
        &self,
        region: (u64, u64),
        needles: &[&[u8]],
        behind: usize,
        tail: usize,
        mut f: impl FnMut(usize, &[u8], &[u8]) -> bool,
    ) {
        let surveyed: Option<Vec<&[u64]>> =
            needles.iter().map(|n| self.surveyed(region, n)).collect();
        let Some(surveyed) = surveyed else {
            let search = Needles::new(needles);
            byte_search::scan_each(
                &self.file,
                region.0,
                region.1,
                &search,
                behind,
                tail,
                |k, _, b, m| f(k, b, m),
            );
            return;
        };
        let (start, len) = region;
        let Some(end) = start.checked_add(len.min(byte_search::MAX_SCAN)) else {
            return;
        };
        let mut matches: Vec<(u64, usize)> = surveyed
            .iter()
            .enumerate()
            .flat_map(|(k, offsets)| offsets.iter().take(MAX_MATCHES).map(move |&at| (at, k)))
            .collect();
        matches.sort_unstable();
        for (at, k) in matches {
            let from = at.saturating_sub(behind as u64).max(start);
            let Some(upto) = at.checked_add((needles[k].len() + tail) as u64) else {
                return;
            };
            let Some(bytes) = usize::try_from(upto.min(end) - from)
                .ok()
                .and_then(|n| read_at(&self.file, from, n))
            else {
                return;
            };
            let split = (at - from) as usize;
            let Some(matched) = bytes.get(split..).filter(|m| m.starts_with(needles[k])) else {
                return;
            };
            if !f(k, &bytes[..split], matched) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::byte_search::scan_each;
    use crate::testing::{artifact, machine_file};

    /// Real executables: the kinds' and the native-server rules' needles are there (a Debian busybox,
    /// nginx, Apache, HAProxy and MariaDB, ripgrep, the BEAM), or only some of them.
    fn executables() -> Vec<String> {
        let mut found = Vec::new();
        found.extend(machine_file("/usr/bin/busybox"));
        found.extend(artifact("ripgrep-debian/rg"));
        for server in [
            "nginx/usr/sbin/nginx",
            "apache2-bin/usr/sbin/apache2",
            "haproxy/usr/sbin/haproxy",
            "mariadb-server-core/usr/sbin/mariadbd",
            "redis-tools/usr/bin/redis-check-rdb",
        ] {
            found.extend(artifact(&format!("debian-servers/bookworm/{server}")));
        }
        if let Some(rabbit) = artifact("rabbitmq-debian") {
            let beam = std::fs::read_to_string(format!("{rabbit}/facts/beam")).expect("beam fact");
            found.push(format!("{rabbit}/root{}", beam.trim()));
        }
        found
    }

    fn open(path: &str) -> Binary {
        let file = File::open(path).expect("open");
        let elf = Elf::parse(&file).expect("ELF");
        Binary::from_parts(path, file, elf)
    }

    type Seen = Vec<(Option<u8>, Vec<u8>)>;

    /// Every match a search of `needle` alone reports in the region, with what it passes on.
    fn alone(bin: &Binary, region: (u64, u64), needle: &[u8]) -> Seen {
        let mut seen = Vec::new();
        let none: Option<()> = find_map(&bin.file, region.0, region.1, needle, TAIL, |b, m| {
            seen.push((b, m.to_vec()));
            None
        });
        assert!(none.is_none());
        seen
    }

    #[test]
    fn the_survey_answers_what_each_search_alone_answers() {
        let paths = executables();
        if paths.len() < 8 {
            test_support::skip("the executables", "hack/fetch-test-artifacts");
            if test_support::skipping_forbidden() {
                panic!("only {} of 8 executables found", paths.len());
            }
            return;
        }
        let mut matches = 0;
        for path in &paths {
            let bin = open(path);
            let mut regions = vec![strings_region(&bin.elf)];
            regions.extend(bin.elf.section(".data").map(|s| (s.offset, s.size)));
            for &region in &regions {
                for needle in crate::kinds::surveyed_needles() {
                    let expected = alone(&bin, region, needle);
                    let offsets = bin
                        .surveyed(region, needle)
                        .unwrap_or_else(|| panic!("{path}: {region:?} not surveyed"));
                    let mut seen = Vec::new();
                    let none: Option<()> = bin.find_at(offsets, region, needle, TAIL, |b, m| {
                        seen.push((b, m.to_vec()));
                        None
                    });
                    assert!(none.is_none());
                    assert_eq!(seen, expected, "{path} {}", String::from_utf8_lossy(needle));
                    matches += seen.len();
                }
            }
            // The native-server rules' pass, from the survey, against a search of each needle on its own.
            let firsts: Vec<&[u8]> = crate::kinds::native_servers::BINARY_RULES
                .iter()
                .filter_map(|r| r.markers.first().copied())
                .collect();
            for &region in &regions {
                let (mut from_survey, mut one_by_one) = (Vec::new(), Vec::new());
                bin.scan_each(region, &firsts, 96, 96, |k, before, m| {
                    from_survey.push((k, before.to_vec(), m.to_vec()));
                    true
                });
                let each = Needles::one_by_one(&firsts);
                scan_each(
                    &bin.file,
                    region.0,
                    region.1,
                    &each,
                    96,
                    96,
                    |k, _, before, m| {
                        one_by_one.push((k, before.to_vec(), m.to_vec()));
                        true
                    },
                );
                from_survey.sort();
                one_by_one.sort();
                assert_eq!(from_survey, one_by_one, "{path} {region:?}");
            }
        }
        // The servers' markers and Erlang's banner, at least.
        assert!(matches >= 6, "{matches} matches in all");
    }

    #[test]
    fn a_changed_file_gives_no_answer_rather_than_a_wrong_one() {
        let Some(busybox) = machine_file("/usr/bin/busybox") else {
            return;
        };
        let dir = crate::testing::TempDir::new("survey-changed");
        let mut data = std::fs::read(&busybox).expect("read");
        dir.write("bin", &data);
        let bin = open(dir.path("bin").to_str().expect("path"));
        let region = strings_region(&bin.elf);
        let (start, len) = (region.0 as usize, region.1 as usize);
        // A needle the survey covers, planted in the strings; surveyed, then overwritten.
        let at = start + len / 2;
        data[at..at + 9].copy_from_slice(b"node.js/v");
        data[at + 9..at + 16].copy_from_slice(b"20.19.2");
        dir.write("bin", &data);
        let bin = open(dir.path("bin").to_str().expect("path"));
        let version = |bin: &Binary| bin.find_string(b"node.js/v", |_, rest| Some(rest.to_owned()));
        assert_eq!(version(&bin).as_deref(), Some("20.19.2"));
        data[at..at + 9].copy_from_slice(b"xxxxxxxxx");
        std::fs::write(dir.path("bin"), &data).expect("rewrite in place");
        assert_eq!(version(&bin), None, "a match that is gone is not reported");
    }
}
