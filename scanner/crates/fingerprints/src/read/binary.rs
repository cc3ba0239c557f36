//! An ELF file of the container (the executable or a mapped library), opened once and searched for
//! string constants within bounds; the runtime kinds read their versions through it.

use crate::read::byte_search::{
    find_map, printable_prefix, strings_region, MAX_SCAN_WITHOUT_SECTIONS,
};
use crate::read::elf::Elf;
use crate::root::Root;
use std::fs::File;

/// An opened ELF file of the container (the executable or a mapped library).
pub struct Binary {
    pub path: String,
    pub file: File,
    pub elf: Elf,
}

impl Binary {
    pub fn open(root: &dyn Root, path: &str) -> Option<Binary> {
        let file = root.open(path).ok()?;
        let elf = Elf::parse(&file)?;
        Some(Binary {
            path: path.to_owned(),
            file,
            elf,
        })
    }

    /// Searches the string constants (`.rodata`) for `needle`; `f` gets the byte before the match
    /// and the printable text right after the needle.
    pub fn find_string<T>(
        &self,
        needle: &[u8],
        f: impl Fn(Option<u8>, &str) -> Option<T>,
    ) -> Option<T> {
        let (start, len) = strings_region(&self.elf);
        find_map(&self.file, start, len, needle, 128, |before, bytes| {
            f(before, printable_prefix(&bytes[needle.len()..]))
        })
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
