//! An ELF file of the container (the executable or a mapped library), opened once and searched for
//! string constants within bounds; the runtime kinds read their versions through it.

use crate::read::byte_search::{
    find_map, find_map_in, printable_prefix, strings_region, CHUNK, MAX_SCAN_WITHOUT_SECTIONS,
};
use crate::read::elf::{read_at, Elf};
use crate::root::Root;
use std::cell::OnceCell;
use std::fs::File;

/// An opened ELF file of the container (the executable or a mapped library).
pub struct Binary {
    pub path: String,
    pub file: File,
    pub elf: Elf,
    /// The string constants, read once when they fit one search window: every detector that looks for
    /// its needle there searches the same bytes (`None`: too big, searched window by window).
    strings: OnceCell<Option<Vec<u8>>>,
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
        }
    }

    /// Searches the string constants (`.rodata`) for `needle`; `f` gets the byte before the match
    /// and the printable text right after the needle.
    pub fn find_string<T>(
        &self,
        needle: &[u8],
        f: impl Fn(Option<u8>, &str) -> Option<T>,
    ) -> Option<T> {
        let (start, len) = strings_region(&self.elf);
        let at_match = |before, bytes: &[u8]| f(before, printable_prefix(&bytes[needle.len()..]));
        let strings = self
            .strings
            .get_or_init(|| (len <= CHUNK).then(|| read_at(&self.file, start, len as usize))?);
        match strings {
            Some(data) => find_map_in(data, needle, 128, at_match),
            None => find_map(&self.file, start, len, needle, 128, at_match),
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
                let found = find_map(
                    &self.file,
                    s.offset,
                    s.size,
                    needle,
                    128,
                    |before, bytes| f(before, printable_prefix(&bytes[needle.len()..])),
                );
                if found.is_some() {
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
        find_map(&self.file, 0, len, needle, 128, |before, bytes| {
            f(before, printable_prefix(&bytes[needle.len()..]))
        })
    }
}
