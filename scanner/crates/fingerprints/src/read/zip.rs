//! A bounded zip (jar) reader: the central directory, and single entries read into memory.
//!
//! Jars come from the container, so they are hostile input. Limits: the archive size, the number of
//! entries, the central directory size, the compressed and decompressed size of every entry read
//! (checked on the decoder's output, never trusting the header), the compression ratio, and nesting:
//! an archive opened from inside another one cannot open a third level. Only stored and deflated
//! entries are read. The archive's own size is not limited: every read is positioned (`pread`) and
//! bounded, so a 5 GiB jar costs what a 5 MiB one does; zip64 (archives or entries over 4 GiB, more
//! than 65,535 entries) is read too.

use crate::read::elf::read_at;
use std::fs::File;

/// Entries read from one central directory; further ones are ignored.
pub const MAX_ENTRIES: usize = 65_535;
const MAX_CENTRAL_DIRECTORY: u64 = 32 << 20;
/// The biggest single entry we ever decompress (manifests and properties are a few KiB; nested jars
/// that we open are whole jars such as `spring-boot-*.jar`, a few MiB).
pub const MAX_ENTRY_BYTES: usize = 64 << 20;
/// Deflate rarely beats 20:1 on real jar content; a far higher ratio on a large entry is a bomb.
const MAX_RATIO: usize = 200;
const EOCD_SIG: u32 = 0x0605_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: u64 = 20;
/// The zip64 end record without its (optional, unused) extensible data.
const ZIP64_EOCD_LEN: usize = 56;
/// The zip64 extended-information extra field of a central directory entry.
const ZIP64_EXTRA_ID: u16 = 0x0001;
/// End-of-central-directory record plus the longest possible comment.
const TAIL: u64 = 22 + 65_535;

/// Where the archive's bytes come from: a file in the container, or memory (a nested jar).
pub enum Bytes<'a> {
    File(&'a File, u64),
    Memory(Vec<u8>),
}

impl Bytes<'_> {
    fn len(&self) -> u64 {
        match self {
            Bytes::File(_, len) => *len,
            Bytes::Memory(v) => v.len() as u64,
        }
    }
    fn read(&self, offset: u64, len: usize) -> Option<Vec<u8>> {
        match self {
            Bytes::File(f, _) => read_at(f, offset, len),
            Bytes::Memory(v) => {
                let start = usize::try_from(offset).ok()?;
                let end = start.checked_add(len)?.min(v.len());
                v.get(start..end).map(<[u8]>::to_vec)
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    method: u16,
    compressed: u64,
    size: u64,
    local_offset: u64,
}

pub struct Archive<'a> {
    bytes: Bytes<'a>,
    /// Bytes prepended to the zip (a launch script in "fully executable" Spring Boot jars).
    bias: u64,
    pub entries: Vec<Entry>,
    nested: bool,
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn u32le(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn u64le(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Where the central directory is, from the end records.
struct Directory {
    count: u64,
    size: u64,
    offset: u64,
    /// Where the record that follows the central directory starts in the file (the zip64 end record, or
    /// the classic one): with `size` and `offset`, it tells how many bytes were prepended.
    end: u64,
}

/// The zip64 end record that the locator just before the classic end record at `eocd_pos` points to.
/// The locator's offset does not count prepended bytes, so the record is looked for there and right
/// before the locator (where writers put it).
fn zip64_directory(bytes: &Bytes<'_>, eocd_pos: u64) -> Option<Directory> {
    let locator_pos = eocd_pos.checked_sub(ZIP64_LOCATOR_LEN)?;
    let locator = bytes.read(locator_pos, ZIP64_LOCATOR_LEN as usize)?;
    if u32le(&locator, 0)? != ZIP64_LOCATOR_SIG {
        return None;
    }
    let stated = u64le(&locator, 8)?;
    let adjacent = locator_pos.checked_sub(ZIP64_EOCD_LEN as u64);
    [Some(stated), adjacent]
        .into_iter()
        .flatten()
        .find_map(|at| {
            let rec = bytes.read(at, ZIP64_EOCD_LEN)?;
            (u32le(&rec, 0)? == ZIP64_EOCD_SIG).then_some(Directory {
                count: u64le(&rec, 32)?,
                size: u64le(&rec, 40)?,
                offset: u64le(&rec, 48)?,
                end: at,
            })
        })
}

/// The values that a central directory entry sets to all ones are in its zip64 extra field, in this
/// order: size, compressed size, local header offset.
fn apply_zip64_extra(
    extra: &[u8],
    size: &mut u64,
    compressed: &mut u64,
    local_offset: &mut u64,
) -> Option<()> {
    let mut at = 0usize;
    while at + 4 <= extra.len() {
        let id = u16le(extra, at)?;
        let len = usize::from(u16le(extra, at + 2)?);
        let data = extra.get(at + 4..at + 4 + len)?;
        if id == ZIP64_EXTRA_ID {
            let mut next = 0usize;
            for value in [size, compressed, local_offset] {
                if *value == u64::from(u32::MAX) {
                    *value = u64le(data, next)?;
                    next += 8;
                }
            }
            return Some(());
        }
        at += 4 + len;
    }
    // A value marked as "in the zip64 field" without one is unreadable.
    [*size, *compressed, *local_offset]
        .iter()
        .all(|v| *v != u64::from(u32::MAX))
        .then_some(())
}

impl<'a> Archive<'a> {
    /// Opens a zip file; `None` if it is not one, is too big, or breaks a limit.
    pub fn open(file: &'a File) -> Option<Archive<'a>> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        Self::parse(Bytes::File(file, meta.len()), false)
    }

    /// Opens an archive held in memory (a jar inside a jar); it cannot open further nested archives.
    pub fn from_memory(data: Vec<u8>) -> Option<Archive<'static>> {
        Archive::parse(Bytes::Memory(data), true)
    }

    fn parse(bytes: Bytes<'a>, nested: bool) -> Option<Archive<'a>> {
        let len = bytes.len();
        let tail_start = len.saturating_sub(TAIL);
        let tail = bytes.read(tail_start, usize::try_from(len - tail_start).ok()?)?;
        let eocd = (0..tail.len().checked_sub(21)?)
            .rev()
            .find(|&i| u32le(&tail, i) == Some(EOCD_SIG))?;
        let rec = &tail[eocd..];
        let eocd_pos = tail_start + eocd as u64;
        let classic = Directory {
            count: u64::from(u16le(rec, 10)?),
            size: u64::from(u32le(rec, 12)?),
            offset: u64::from(u32le(rec, 16)?),
            end: eocd_pos,
        };
        let needs_zip64 = classic.count == 0xffff
            || classic.size == u64::from(u32::MAX)
            || classic.offset == u64::from(u32::MAX);
        let dir = match zip64_directory(&bytes, eocd_pos) {
            Some(dir) => dir,
            None if needs_zip64 => return None,
            None => classic,
        };
        if dir.size > MAX_CENTRAL_DIRECTORY {
            return None;
        }
        let bias = dir.end.checked_sub(dir.size)?.checked_sub(dir.offset)?;
        let cd = bytes.read(
            dir.offset.checked_add(bias)?,
            usize::try_from(dir.size).ok()?,
        )?;
        let count = usize::try_from(dir.count).unwrap_or(usize::MAX);
        let mut entries = Vec::with_capacity(count.min(MAX_ENTRIES));
        let mut at = 0usize;
        for _ in 0..count.min(MAX_ENTRIES) {
            if u32le(&cd, at)? != CENTRAL_SIG {
                return None;
            }
            let name_len = usize::from(u16le(&cd, at + 28)?);
            let extra_len = usize::from(u16le(&cd, at + 30)?);
            let comment_len = usize::from(u16le(&cd, at + 32)?);
            let name = cd.get(at + 46..at + 46 + name_len)?;
            let extra = cd.get(at + 46 + name_len..at + 46 + name_len + extra_len)?;
            let mut compressed = u64::from(u32le(&cd, at + 20)?);
            let mut size = u64::from(u32le(&cd, at + 24)?);
            let mut local_offset = u64::from(u32le(&cd, at + 42)?);
            apply_zip64_extra(extra, &mut size, &mut compressed, &mut local_offset)?;
            entries.push(Entry {
                name: String::from_utf8_lossy(name).into_owned(),
                method: u16le(&cd, at + 10)?,
                compressed,
                size,
                local_offset,
            });
            at = at.checked_add(46 + name_len + extra_len + comment_len)?;
        }
        Some(Archive {
            bytes,
            bias,
            entries,
            nested,
        })
    }

    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Reads one entry whole, at most `limit` bytes decompressed (capped at [`MAX_ENTRY_BYTES`]);
    /// `None` if it is bigger, uses another method, or looks like a bomb.
    pub fn read(&self, entry: &Entry, limit: usize) -> Option<Vec<u8>> {
        let limit = limit.min(MAX_ENTRY_BYTES);
        if entry.size > limit as u64 || entry.compressed > MAX_ENTRY_BYTES as u64 {
            return None;
        }
        let local_at = entry.local_offset.checked_add(self.bias)?;
        let local = self.bytes.read(local_at, 30)?;
        if u32le(&local, 0)? != LOCAL_SIG {
            return None;
        }
        let skip = 30 + u64::from(u16le(&local, 26)?) + u64::from(u16le(&local, 28)?);
        let data = self.bytes.read(
            local_at.checked_add(skip)?,
            usize::try_from(entry.compressed).ok()?,
        )?;
        if data.len() as u64 != entry.compressed {
            return None;
        }
        let compressed = data.len().max(1);
        let out = match entry.method {
            0 => data,
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(&data, limit).ok()?,
            _ => return None,
        };
        if out.len() > 64 * 1024 && out.len() / compressed > MAX_RATIO {
            return None;
        }
        Some(out)
    }

    /// Reads a named entry (see [`Archive::read`]).
    pub fn read_named(&self, name: &str, limit: usize) -> Option<Vec<u8>> {
        self.read(self.find(name)?, limit)
    }

    /// Opens a jar stored inside this one. Only one level deep: Spring Boot nests jars once.
    pub fn open_nested(&self, entry: &Entry) -> Option<Archive<'static>> {
        if self.nested {
            return None;
        }
        Archive::from_memory(self.read(entry, MAX_ENTRY_BYTES)?)
    }
}
