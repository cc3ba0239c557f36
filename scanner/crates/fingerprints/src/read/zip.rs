//! A bounded zip (jar) reader: the central directory, and single entries read into memory.
//!
//! Jars come from the container, so they are hostile input. Limits: the archive size, the number of
//! entries, the central directory size, the compressed and decompressed size of every entry read
//! (checked on the decoder's output, never trusting the header), the compression ratio, and nesting:
//! an archive opened from inside another one cannot open a third level. Only stored and deflated
//! entries are read; zip64 archives are refused (jars over 4 GiB or 65535 entries are not real apps).

use crate::read::elf::read_at;
use std::fs::File;

pub const MAX_ARCHIVE_BYTES: u64 = 1 << 30;
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

impl<'a> Archive<'a> {
    /// Opens a zip file; `None` if it is not one, is too big, or breaks a limit.
    pub fn open(file: &'a File) -> Option<Archive<'a>> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() > MAX_ARCHIVE_BYTES {
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
        let count = usize::from(u16le(rec, 10)?);
        let cd_size = u64::from(u32le(rec, 12)?);
        let cd_offset = u64::from(u32le(rec, 16)?);
        if count == 0xffff
            || cd_size == 0xffff_ffff
            || cd_offset == 0xffff_ffff
            || cd_size > MAX_CENTRAL_DIRECTORY
        {
            return None;
        }
        let eocd_pos = tail_start + eocd as u64;
        let bias = eocd_pos.checked_sub(cd_size)?.checked_sub(cd_offset)?;
        let cd = bytes.read(cd_offset + bias, usize::try_from(cd_size).ok()?)?;
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
            entries.push(Entry {
                name: String::from_utf8_lossy(name).into_owned(),
                method: u16le(&cd, at + 10)?,
                compressed: u64::from(u32le(&cd, at + 20)?),
                size: u64::from(u32le(&cd, at + 24)?),
                local_offset: u64::from(u32le(&cd, at + 42)?),
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
