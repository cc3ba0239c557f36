//! A small, bounded ELF reader: headers, program headers, named sections and `DT_NEEDED`.
//!
//! Only what the fingerprints need is parsed. Every count and size read from the file is capped before
//! anything is allocated from it, all offset arithmetic is checked, and a malformed file gives `None`
//! (or fewer sections), never a panic. Both classes (32/64-bit) and both byte orders are accepted.

use std::fs::File;
use std::os::unix::fs::FileExt;

/// More program headers than this is not a real executable.
pub const MAX_SEGMENTS: usize = 512;
/// Large C++ binaries have a few hundred sections; past this the table is not trusted.
pub const MAX_SECTIONS: usize = 8192;
/// Real header entries are 32–64 bytes; a huge declared size would make the tables huge allocations.
const MAX_ENTRY_SIZE: usize = 128;
const MAX_SECTION_NAMES: usize = 1 << 20;
const MAX_DYNAMIC: usize = 64 * 1024;
const MAX_DYNSTR: usize = 1 << 20;
const MAX_NEEDED: usize = 256;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const SHT_NOBITS: u32 = 8;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub kind: u32,
    pub flags: u32,
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub kind: u32,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
}

#[derive(Debug, Clone)]
pub struct Elf {
    pub is64: bool,
    pub big_endian: bool,
    pub file_size: u64,
    pub segments: Vec<Segment>,
    pub sections: Vec<Section>,
}

/// Reads up to `len` bytes at `offset` (fewer at end of file); `len` must already be bounded by the caller.
pub fn read_at(file: &File, offset: u64, len: usize) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    read_at_into(file, offset, len, &mut buf)?;
    Some(buf)
}

/// [`read_at`] into `buf`, reusing its memory: a loop over windows touches the same pages each time
/// instead of a fresh allocation per window (a fresh page is a page fault, several µs in a VM; musl's
/// malloc returns blocks of this size to the kernel at every free). Returns the bytes read.
pub fn read_at_into<'a>(
    file: &File,
    offset: u64,
    len: usize,
    buf: &'a mut Vec<u8>,
) -> Option<&'a [u8]> {
    // Only bytes not already in `buf` are zeroed (a full window from the last read is overwritten).
    buf.resize(len, 0);
    let mut filled = 0;
    while filled < len {
        let at = offset.checked_add(filled as u64)?;
        match file.read_at(&mut buf[filled..], at) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    buf.truncate(filled);
    Some(buf.as_slice())
}

/// Fixed-width integer reads in the file's byte order, `None` past the end of the slice.
#[derive(Clone, Copy)]
pub(crate) struct Endian {
    pub big: bool,
}

impl Endian {
    pub fn u16(self, b: &[u8], at: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }
    pub fn u32(self, b: &[u8], at: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }
    pub fn u64(self, b: &[u8], at: usize) -> Option<u64> {
        let s: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
        Some(if self.big {
            u64::from_be_bytes(s)
        } else {
            u64::from_le_bytes(s)
        })
    }
    /// A target-pointer-sized word.
    pub fn word(self, b: &[u8], at: usize, is64: bool) -> Option<u64> {
        if is64 {
            self.u64(b, at)
        } else {
            self.u32(b, at).map(u64::from)
        }
    }
}

impl Elf {
    /// Parses the ELF headers of an open file; `None` when it is not a well-formed ELF file.
    pub fn parse(file: &File) -> Option<Elf> {
        let file_size = file.metadata().ok()?.len();
        let header = read_at(file, 0, 64)?;
        if header.len() < 52 || &header[..4] != b"\x7fELF" {
            return None;
        }
        let is64 = match header[4] {
            1 => false,
            2 => true,
            _ => return None,
        };
        let e = Endian {
            big: match header[5] {
                1 => false,
                2 => true,
                _ => return None,
            },
        };
        if is64 && header.len() < 64 {
            return None;
        }
        let (phoff, shoff, ph_at) = if is64 {
            (e.u64(&header, 0x20)?, e.u64(&header, 0x28)?, 0x36)
        } else {
            (
                u64::from(e.u32(&header, 0x1c)?),
                u64::from(e.u32(&header, 0x20)?),
                0x2a,
            )
        };
        let phentsize = usize::from(e.u16(&header, ph_at)?);
        let phnum = usize::from(e.u16(&header, ph_at + 2)?);
        let shentsize = usize::from(e.u16(&header, ph_at + 4)?);
        let shnum = usize::from(e.u16(&header, ph_at + 6)?);
        let shstrndx = usize::from(e.u16(&header, ph_at + 8)?);

        let mut elf = Elf {
            is64,
            big_endian: e.big,
            file_size,
            segments: Vec::new(),
            sections: Vec::new(),
        };
        let min_ph = if is64 { 56 } else { 32 };
        if phoff != 0 && (min_ph..=MAX_ENTRY_SIZE).contains(&phentsize) && phnum <= MAX_SEGMENTS {
            let table = read_at(file, phoff, phentsize.checked_mul(phnum)?)?;
            for i in 0..phnum {
                let Some(entry) = table.get(i * phentsize..(i + 1) * phentsize) else {
                    break;
                };
                if let Some(seg) = parse_segment(entry, e, is64) {
                    elf.segments.push(seg);
                }
            }
        }
        let min_sh = if is64 { 64 } else { 40 };
        if shoff != 0
            && (min_sh..=MAX_ENTRY_SIZE).contains(&shentsize)
            && shnum <= MAX_SECTIONS
            && shstrndx < shnum
        {
            if let Some(table) = read_at(file, shoff, shentsize.checked_mul(shnum)?) {
                elf.sections = parse_sections(file, &table, shentsize, shnum, shstrndx, e, is64);
            }
        }
        Some(elf)
    }

    /// The first section with this name that has bytes in the file.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.name == name && s.kind != SHT_NOBITS)
    }

    /// Whether a section of that name exists at all (even without bytes).
    pub fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s.name == name)
    }

    /// Maps a virtual address to `(file offset, bytes of that segment left in the file)`.
    pub fn vaddr_to_offset(&self, addr: u64) -> Option<(u64, u64)> {
        self.segments
            .iter()
            .filter(|s| s.kind == PT_LOAD)
            .find_map(|s| {
                let delta = addr.checked_sub(s.vaddr)?;
                if delta >= s.filesz {
                    return None;
                }
                let offset = s.offset.checked_add(delta)?;
                let left = (s.filesz - delta).min(self.file_size.saturating_sub(offset));
                Some((offset, left))
            })
    }

    /// The first loadable segment that is writable but not executable (Go's data segment).
    pub fn first_writable_load(&self) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| s.kind == PT_LOAD && s.flags & (PF_X | PF_W) == PF_W)
    }

    /// The shared libraries the file names in its dynamic section (`DT_NEEDED`), in order.
    pub fn needed(&self, file: &File) -> Vec<String> {
        self.read_needed(file).unwrap_or_default()
    }

    fn read_needed(&self, file: &File) -> Option<Vec<String>> {
        let e = Endian {
            big: self.big_endian,
        };
        let dynamic = self.segments.iter().find(|s| s.kind == PT_DYNAMIC)?;
        let len = usize::try_from(dynamic.filesz).ok()?.min(MAX_DYNAMIC);
        let table = read_at(file, dynamic.offset, len)?;
        let entry = if self.is64 { 16 } else { 8 };
        let word = entry / 2;
        let (mut strtab, mut strsz, mut needed) = (None, None, Vec::new());
        for chunk in table.chunks_exact(entry) {
            let tag = e.word(chunk, 0, self.is64)?;
            let val = e.word(chunk, word, self.is64)?;
            match tag {
                0 => break,
                DT_NEEDED if needed.len() < MAX_NEEDED => needed.push(val),
                DT_STRTAB => strtab = Some(val),
                DT_STRSZ => strsz = Some(val),
                _ => {}
            }
        }
        let (offset, left) = self.vaddr_to_offset(strtab?)?;
        let size = strsz.unwrap_or(left).min(left).min(MAX_DYNSTR as u64);
        let strings = read_at(file, offset, usize::try_from(size).ok()?)?;
        Some(
            needed
                .into_iter()
                .filter_map(|at| c_string(&strings, usize::try_from(at).ok()?))
                .filter(|name| !name.is_empty())
                .collect(),
        )
    }

    /// Reads a section's bytes, at most `cap` of them.
    pub fn read_section(&self, file: &File, name: &str, cap: usize) -> Option<Vec<u8>> {
        let s = self.section(name)?;
        let len = usize::try_from(s.size).ok()?.min(cap);
        read_at(file, s.offset, len)
    }
}

fn parse_segment(b: &[u8], e: Endian, is64: bool) -> Option<Segment> {
    if is64 {
        Some(Segment {
            kind: e.u32(b, 0)?,
            flags: e.u32(b, 4)?,
            offset: e.u64(b, 8)?,
            vaddr: e.u64(b, 16)?,
            filesz: e.u64(b, 32)?,
            memsz: e.u64(b, 40)?,
        })
    } else {
        Some(Segment {
            kind: e.u32(b, 0)?,
            offset: u64::from(e.u32(b, 4)?),
            vaddr: u64::from(e.u32(b, 8)?),
            filesz: u64::from(e.u32(b, 16)?),
            memsz: u64::from(e.u32(b, 20)?),
            flags: e.u32(b, 24)?,
        })
    }
}

fn parse_sections(
    file: &File,
    table: &[u8],
    entsize: usize,
    count: usize,
    names_index: usize,
    e: Endian,
    is64: bool,
) -> Vec<Section> {
    let raw: Vec<(u32, Section)> = (0..count)
        .filter_map(|i| {
            let b = table.get(i * entsize..(i + 1) * entsize)?;
            let name_at = e.u32(b, 0)?;
            let kind = e.u32(b, 4)?;
            let (addr, offset, size) = if is64 {
                (e.u64(b, 16)?, e.u64(b, 24)?, e.u64(b, 32)?)
            } else {
                (
                    u64::from(e.u32(b, 12)?),
                    u64::from(e.u32(b, 16)?),
                    u64::from(e.u32(b, 20)?),
                )
            };
            Some((
                name_at,
                Section {
                    name: String::new(),
                    kind,
                    addr,
                    offset,
                    size,
                },
            ))
        })
        .collect();
    let names = raw
        .get(names_index)
        .and_then(|(_, s)| {
            read_at(
                file,
                s.offset,
                usize::try_from(s.size).ok()?.min(MAX_SECTION_NAMES),
            )
        })
        .unwrap_or_default();
    raw.into_iter()
        .map(|(name_at, mut s)| {
            s.name = usize::try_from(name_at)
                .ok()
                .and_then(|at| c_string(&names, at))
                .unwrap_or_default();
            s
        })
        .collect()
}

/// The NUL-terminated string at `at`, if it is valid UTF-8 and terminated inside the slice.
pub fn c_string(bytes: &[u8], at: usize) -> Option<String> {
    let rest = bytes.get(at..)?;
    let end = memchr::memchr(0, rest)?;
    std::str::from_utf8(&rest[..end]).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &str) -> File {
        File::open(path)
            .unwrap_or_else(|e| panic!("{path}: {e} (a test binary of the machine is missing)"))
    }

    #[test]
    fn reads_sections_segments_and_needed_of_a_real_binary() {
        let file = open("/usr/lib/postgresql/15/bin/postgres");
        let elf = Elf::parse(&file).expect("postgres is ELF");
        assert!(elf.is64 && !elf.big_endian);
        let rodata = elf.section(".rodata").expect(".rodata");
        assert!(rodata.size > 100_000);
        assert!(elf.first_writable_load().is_some());
        let needed = elf.needed(&file);
        assert!(needed.iter().any(|n| n == "libc.so.6"), "{needed:?}");
        let (off, left) = elf.vaddr_to_offset(rodata.addr).expect("rodata is mapped");
        assert_eq!(off, rodata.offset);
        assert!(left >= rodata.size);
    }

    #[test]
    fn not_elf_is_none() {
        assert!(Elf::parse(&open("/etc/hostname")).is_none());
    }
}
