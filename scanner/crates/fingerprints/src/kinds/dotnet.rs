//! .NET: the runtime a process has mapped (`libcoreclr.so`) and its version, read from files only.
//!
//! The version comes from the runtime's directory when it is a shared framework
//! (`.../shared/Microsoft.NETCore.App/<version>/libcoreclr.so`). Otherwise (a self-contained app, whose
//! runtime files sit beside it) it is the `ProductVersion` of `System.Private.CoreLib.dll`, read from
//! the PE version resource by the bounded reader below. The `@(#)Version` string of `libcoreclr.so` is
//! not used: it is a file version (`4.700.22.11601` in .NET Core 3.1.23), not the product version.

use crate::kinds::{Evidence, Found};
use crate::read::elf::read_at;
use crate::read::paths::{file_name, parent};
use crate::root::{Process, Root};
use crate::values;
use std::fs::File;

const CORELIB: &str = "System.Private.CoreLib.dll";
/// PE caps: a headers offset past this is not a real image; the format allows at most 96 sections.
const MAX_PE_OFFSET: u32 = 64 * 1024;
const MAX_PE_SECTIONS: usize = 96;
/// The whole `.rsrc` of a managed assembly is a few KiB; a version resource is under 2 KiB.
const MAX_RESOURCES: u32 = 1 << 20;
const MAX_VERSION_INFO: u32 = 64 * 1024;
/// Entries looked at per resource directory level.
const MAX_DIR_ENTRIES: usize = 256;
const RT_VERSION: u32 = 16;

/// The entry point: .NET when a `libcoreclr.so` is mapped.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    Some(Found {
        version: runtime_version(evidence.root, evidence.process)?,
        ..Found::default()
    })
}

/// `.NET` when a `libcoreclr.so` is mapped: `Some(version)` when a version is known.
pub fn runtime_version(root: &dyn Root, process: &Process) -> Option<Option<String>> {
    let lib = process
        .mapped_files
        .iter()
        .find(|p| file_name(p) == "libcoreclr.so")?;
    if let Some(v) = framework_version(lib) {
        return Some(Some(v));
    }
    // CoreLib beside the runtime first (what this libcoreclr loaded), then any mapped one.
    let beside = format!("{}/{CORELIB}", parent(lib));
    let mapped = process
        .mapped_files
        .iter()
        .filter(|p| file_name(p) == CORELIB);
    let version = std::iter::once(&beside)
        .chain(mapped)
        .find_map(|p| corelib_version(&root.open(p).ok()?));
    Some(version)
}

/// The version in a shared framework path, `.../Microsoft.NETCore.App/<version>/libcoreclr.so`.
pub fn framework_version(lib: &str) -> Option<String> {
    let mut parts = lib.rsplit('/').skip(1);
    let version = parts.next()?;
    (parts.next()? == "Microsoft.NETCore.App")
        .then(|| values::version(version))
        .flatten()
}

/// The runtime's product version from `System.Private.CoreLib.dll`'s `ProductVersion`
/// (`3.1.23-servicing.22116.1+<commit>` in 3.1.23, `8.0.11+<commit>` in 8.0.11): the commit after `+`
/// is dropped, and so is the `servicing` label that .NET Core 3.x release builds carry (any other
/// label stays: previews and rcs are named so in their framework folders too). Only a three-part
/// `major.minor.patch` is accepted: .NET Core 2.x put a four-part file version there.
pub fn corelib_version(file: &File) -> Option<String> {
    let raw = product_version(file)?;
    let raw = raw.split('+').next()?;
    let (core, label) = match raw.split_once('-') {
        Some((core, label)) => (core, Some(label)),
        None => (raw, None),
    };
    let numeric = core.split('.').count() == 3
        && core
            .split('.')
            .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        return None;
    }
    let release = label.is_none_or(|l| l.starts_with("servicing."));
    values::version(if release { core } else { raw })
}

/// The `ProductVersion` string of a PE file's version resource (`VS_VERSIONINFO`), if it has one.
pub fn product_version(file: &File) -> Option<String> {
    let pe = Pe::parse(file)?;
    let info = pe.version_resource(file)?;
    version_string(&info, "ProductVersion")
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

struct PeSection {
    rva: u32,
    virtual_size: u32,
    raw_size: u32,
    raw_offset: u32,
}

/// The parts of a PE image this module needs: its sections and the resource directory's place.
struct Pe {
    sections: Vec<PeSection>,
    resources_rva: u32,
    resources_size: u32,
}

impl Pe {
    fn parse(file: &File) -> Option<Pe> {
        let dos = read_at(file, 0, 64)?;
        if dos.get(..2)? != b"MZ" {
            return None;
        }
        let pe_at = u32_at(&dos, 0x3c)?;
        if pe_at > MAX_PE_OFFSET {
            return None;
        }
        // Signature, COFF header (20 bytes), optional header up to its data directories (≤ 240 bytes).
        let head = read_at(file, u64::from(pe_at), 4 + 20 + 240)?;
        if head.get(..4)? != b"PE\0\0" {
            return None;
        }
        let sections = usize::from(u16_at(&head, 4 + 2)?).min(MAX_PE_SECTIONS);
        let optional_size = usize::from(u16_at(&head, 4 + 16)?);
        let opt = 24;
        // Data directories follow the PE32 (96 bytes) or PE32+ (112 bytes) fields; #2 is resources.
        let (count_at, dirs_at) = match u16_at(&head, opt)? {
            0x10b => (opt + 92, opt + 96),
            0x20b => (opt + 108, opt + 112),
            _ => return None,
        };
        if u32_at(&head, count_at)? <= 2 || dirs_at + 3 * 8 > opt + optional_size {
            return None;
        }
        let resources_rva = u32_at(&head, dirs_at + 16)?;
        let resources_size = u32_at(&head, dirs_at + 20)?;
        if resources_rva == 0 || resources_size == 0 {
            return None;
        }
        let table_at = u64::from(pe_at) + 24 + optional_size as u64;
        let table = read_at(file, table_at, sections * 40)?;
        let sections = table
            .chunks_exact(40)
            .filter_map(|s| {
                Some(PeSection {
                    virtual_size: u32_at(s, 8)?,
                    rva: u32_at(s, 12)?,
                    raw_size: u32_at(s, 16)?,
                    raw_offset: u32_at(s, 20)?,
                })
            })
            .collect();
        Some(Pe {
            sections,
            resources_rva,
            resources_size,
        })
    }

    /// The file offset of `rva` and how many bytes of file data follow it in its section.
    fn offset(&self, rva: u32) -> Option<(u64, u32)> {
        self.sections.iter().find_map(|s| {
            // File bytes past the virtual size are padding; past the raw size, zero-filled memory.
            let in_file = match s.virtual_size {
                0 => s.raw_size,
                v => v.min(s.raw_size),
            };
            let into = rva.checked_sub(s.rva)?;
            (into < in_file).then(|| (u64::from(s.raw_offset) + u64::from(into), in_file - into))
        })
    }

    /// Reads `len` bytes (capped at `cap`) at `rva`, within the file data of its section.
    fn read(&self, file: &File, rva: u32, len: u32, cap: u32) -> Option<Vec<u8>> {
        let (at, available) = self.offset(rva)?;
        read_at(file, at, len.min(available).min(cap) as usize)
    }

    /// The first `RT_VERSION` resource (any name, any language): the `VS_VERSIONINFO` bytes.
    fn version_resource(&self, file: &File) -> Option<Vec<u8>> {
        let rsrc = self.read(file, self.resources_rva, self.resources_size, MAX_RESOURCES)?;
        // Type level: the entry with id RT_VERSION; then the first name and the first language.
        let names = subdirectory(&rsrc, 0, |id| id == RT_VERSION)?;
        let languages = subdirectory(&rsrc, names, |_| true)?;
        let data = entry(&rsrc, languages, |_| true)?;
        if data & 0x8000_0000 != 0 {
            return None;
        }
        let data = data as usize;
        let rva = u32_at(&rsrc, data)?;
        let size = u32_at(&rsrc, data + 4)?;
        self.read(file, rva, size, MAX_VERSION_INFO)
    }
}

/// The offset-to-data of the first entry of the resource directory at `dir` whose id matches
/// (named entries have no id and match only `|_| true`).
fn entry(rsrc: &[u8], dir: usize, wanted: impl Fn(u32) -> bool) -> Option<u32> {
    let named = usize::from(u16_at(rsrc, dir + 12)?);
    let ids = usize::from(u16_at(rsrc, dir + 14)?);
    (0..(named + ids).min(MAX_DIR_ENTRIES)).find_map(|i| {
        let at = dir + 16 + i * 8;
        let name = u32_at(rsrc, at)?;
        let is_id = name & 0x8000_0000 == 0;
        (if is_id {
            wanted(name)
        } else {
            wanted(u32::MAX)
        })
        .then(|| u32_at(rsrc, at + 4))?
    })
}

/// Like [`entry`] for an entry that must be a subdirectory; its offset in the resources. Each level
/// must point forward, so a crafted loop cannot revisit a directory.
fn subdirectory(rsrc: &[u8], dir: usize, wanted: impl Fn(u32) -> bool) -> Option<usize> {
    let to = entry(rsrc, dir, wanted)?;
    let at = (to & 0x7fff_ffff) as usize;
    (to & 0x8000_0000 != 0 && at > dir).then_some(at)
}

/// One node of a version resource: `wLength`, `wValueLength`, `wType`, a NUL-terminated UTF-16 key,
/// padding to 4 bytes, the value, padding, then the children up to `end`.
struct Node {
    key: String,
    value_at: usize,
    value_len: usize,
    children_at: usize,
    end: usize,
}

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn node(b: &[u8], at: usize, limit: usize) -> Option<Node> {
    let len = usize::from(u16_at(b, at)?);
    let value_len = usize::from(u16_at(b, at + 2)?);
    let text = u16_at(b, at + 4)? == 1;
    let end = at.checked_add(len)?.min(limit);
    let (key, key_end) = utf16_until_nul(b, at + 6, end)?;
    let value_at = align4(key_end);
    // Text values count UTF-16 units, binary ones bytes.
    let value_bytes = if text { value_len * 2 } else { value_len };
    let children_at = align4(value_at + value_bytes);
    (len >= 6).then_some(Node {
        key,
        value_at,
        value_len: value_bytes.min(end.saturating_sub(value_at)),
        children_at,
        end,
    })
}

/// The children of `parent`, in order; stops at the first malformed one.
fn children(b: &[u8], parent: &Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut at = parent.children_at;
    while at < parent.end {
        let Some(child) = node(b, at, parent.end) else {
            break;
        };
        at = align4(child.end);
        out.push(child);
    }
    out
}

/// A NUL-terminated UTF-16LE string at `at` (before `end`) and the offset just past its NUL.
fn utf16_until_nul(b: &[u8], at: usize, end: usize) -> Option<(String, usize)> {
    let end = end.min(b.len());
    let mut units = Vec::new();
    let mut i = at;
    while i + 2 <= end {
        let u = u16_at(b, i)?;
        i += 2;
        if u == 0 {
            return Some((String::from_utf16(&units).ok()?, i));
        }
        units.push(u);
    }
    None
}

/// The value of `key` in the version resource's `StringFileInfo` (the first string table that has it).
fn version_string(info: &[u8], key: &str) -> Option<String> {
    let root = node(info, 0, info.len())?;
    if root.key != "VS_VERSION_INFO" {
        return None;
    }
    let file_info = children(info, &root);
    let strings = file_info.iter().find(|n| n.key == "StringFileInfo")?;
    children(info, strings).iter().find_map(|table| {
        let s = children(info, table).into_iter().find(|s| s.key == key)?;
        let end = s.value_at.checked_add(s.value_len)?;
        let (value, _) = utf16_until_nul(info, s.value_at, end)
            .or_else(|| Some((utf16_exact(info.get(s.value_at..end)?)?, end)))?;
        (!value.is_empty()).then_some(value)
    })
}

/// A UTF-16LE value without its NUL (some writers leave it out).
fn utf16_exact(b: &[u8]) -> Option<String> {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{artifact, HostRoot, TempDir};
    use crate::{fingerprint, Fingerprint};
    use test_support::require;

    /// The real .NET Core runtime of PyPI's dotnetcore2 wheel (test/e2e/images/rt-dotnet/fetch-runtime):
    /// its framework folder and that folder's name, the version every reader must agree with.
    fn real_framework() -> Option<(String, String)> {
        let base = artifact("dotnet-3.1.23/shared/Microsoft.NETCore.App")?;
        let mut versions: Vec<String> = std::fs::read_dir(&base)
            .expect("framework folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(versions.len(), 1, "one framework version in {base}");
        let version = versions.remove(0);
        Some((format!("{base}/{version}"), version))
    }

    fn kind(f: &Fingerprint) -> (Option<&str>, Option<&str>) {
        (f.runtime_kind.as_deref(), f.runtime_kind_version.as_deref())
    }

    #[test]
    fn real_corelib_product_version_is_the_framework_version() {
        let (fw, version) = require!(real_framework());
        let corelib = File::open(format!("{fw}/{CORELIB}")).expect("corelib");
        let raw = product_version(&corelib).expect("CoreLib has a ProductVersion");
        assert!(raw.starts_with(&format!("{version}-servicing.")), "{raw}");
        assert_eq!(corelib_version(&corelib), Some(version.clone()));
        // A corefx assembly of the same release (its resources too sit in `.data`, as crossgen lays them).
        let runtime = File::open(format!("{fw}/System.Runtime.dll")).expect("System.Runtime");
        assert_eq!(corelib_version(&runtime), Some(version));
    }

    #[test]
    fn real_self_contained_layout_reads_corelib() {
        let (fw, version) = require!(real_framework());
        let dir = TempDir::new("dotnet-sc");
        dir.copy(&format!("{fw}/libcoreclr.so"), "/app/libcoreclr.so");
        dir.copy(&format!("{fw}/{CORELIB}"), &format!("/app/{CORELIB}"));
        let root = HostRoot::new(dir.0.clone());
        let mapped = |files: &[&str]| Process {
            exe: Some("/app/myapp".into()),
            mapped_files: files.iter().map(|f| (*f).to_owned()).collect(),
            ..Process::default()
        };
        // As a running self-contained app maps them, and with CoreLib found beside libcoreclr only.
        for files in [
            &["/app/libcoreclr.so", "/app/System.Private.CoreLib.dll"][..],
            &["/app/libcoreclr.so"][..],
        ] {
            let f = fingerprint(&root, &mapped(files));
            assert_eq!(
                kind(&f),
                (Some(".NET"), Some(version.as_str())),
                "{files:?}"
            );
        }
        // No CoreLib anywhere: still .NET, without a version.
        std::fs::remove_file(dir.path(&format!("/app/{CORELIB}"))).expect("rm");
        let f = fingerprint(&root, &mapped(&["/app/libcoreclr.so"]));
        assert_eq!(kind(&f), (Some(".NET"), None));
    }

    #[test]
    fn mutated_real_assembly_never_panics() {
        let (fw, _) = require!(real_framework());
        let good = std::fs::read(format!("{fw}/System.Runtime.dll")).expect("read");
        let dir = TempDir::new("dotnet-hostile");
        let key: Vec<u8> = "VS_VERSION_INFO"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let info_at = good
            .windows(key.len())
            .position(|w| w == key)
            .expect("a version resource");
        let (mut kept, mut lost) = (0, 0);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..1500 {
            let mut data = good.clone();
            if round % 10 == 0 {
                data.truncate((next() as usize) % good.len());
            }
            for _ in 0..1 + next() % 4 {
                // Headers and section table, the resource directory before the version info, or the
                // version info itself: where a parser can go wrong.
                let at = match next() % 3 {
                    0 => (next() as usize) % 1024,
                    1 => info_at - 128 + (next() as usize) % 128,
                    _ => info_at + (next() as usize) % 1024,
                };
                if let Some(b) = data.get_mut(at) {
                    *b = next() as u8;
                }
            }
            dir.write("a.dll", &data);
            match corelib_version(&File::open(dir.path("a.dll")).expect("open")) {
                Some(_) => kept += 1,
                None => lost += 1,
            }
        }
        // Both outcomes happen, so the mutations reach the parser and do not only break the file.
        assert!(kept > 100 && lost > 100, "kept {kept}, lost {lost}");
    }

    #[test]
    fn framework_version_from_the_path() {
        assert_eq!(
            framework_version(
                "/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.11/libcoreclr.so"
            )
            .as_deref(),
            Some("8.0.11")
        );
        assert_eq!(framework_version("/app/libcoreclr.so"), None);
        assert_eq!(framework_version("libcoreclr.so"), None);
        assert_eq!(
            framework_version("/x/Microsoft.AspNetCore.App/8.0.11/libcoreclr.so"),
            None
        );
    }

    /// A `VS_VERSIONINFO` node as resource compilers write it (key, padding, value, children).
    fn vs_node(key: &str, value: &[u8], text: bool, children: &[Vec<u8>]) -> Vec<u8> {
        let mut b = vec![0u8; 6];
        for u in key.encode_utf16().chain([0]) {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b.resize(align4(b.len()), 0);
        b.extend_from_slice(value);
        for child in children {
            b.resize(align4(b.len()), 0);
            b.extend_from_slice(child);
        }
        let value_len = if text { value.len() / 2 } else { value.len() };
        let len = b.len() as u16;
        b[0..2].copy_from_slice(&len.to_le_bytes());
        b[2..4].copy_from_slice(&(value_len as u16).to_le_bytes());
        b[4..6].copy_from_slice(&u16::from(text).to_le_bytes());
        b
    }

    fn text(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(u16::to_le_bytes)
            .collect()
    }

    /// A minimal PE32+ image whose only section holds the resources: directory, data entry, version info.
    fn pe_with_product_version(product_version: &str) -> Vec<u8> {
        let strings = vs_node(
            "StringFileInfo",
            &[],
            true,
            &[vs_node(
                "000004b0",
                &[],
                true,
                &[
                    vs_node("FileVersion", &text("4.700.22.11601"), true, &[]),
                    vs_node("ProductVersion", &text(product_version), true, &[]),
                ],
            )],
        );
        let info = vs_node("VS_VERSION_INFO", &[0u8; 52], false, &[strings]);
        let (section_rva, section_at) = (0x2000u32, 0x400usize);
        let mut rsrc = Vec::new();
        // Three directory levels of one entry each (type 16, name 1, language 0), then the data entry.
        for (i, id) in [RT_VERSION, 1, 0].into_iter().enumerate() {
            let mut dir = vec![0u8; 16];
            dir[14..16].copy_from_slice(&1u16.to_le_bytes());
            dir.extend_from_slice(&id.to_le_bytes());
            let next = (24 * (i + 1)) as u32;
            let flag = if i < 2 { 0x8000_0000 } else { 0 };
            dir.extend_from_slice(&(next | flag).to_le_bytes());
            rsrc.extend_from_slice(&dir);
        }
        let info_at = 72 + 16;
        rsrc.extend_from_slice(&(section_rva + info_at).to_le_bytes());
        rsrc.extend_from_slice(&(info.len() as u32).to_le_bytes());
        rsrc.extend_from_slice(&[0u8; 8]);
        rsrc.extend_from_slice(&info);

        let mut pe = vec![0u8; section_at];
        pe[0..2].copy_from_slice(b"MZ");
        pe[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
        let h = 0x80;
        pe[h..h + 4].copy_from_slice(b"PE\0\0");
        pe[h + 6..h + 8].copy_from_slice(&1u16.to_le_bytes());
        pe[h + 20..h + 22].copy_from_slice(&240u16.to_le_bytes());
        let opt = h + 24;
        pe[opt..opt + 2].copy_from_slice(&0x20bu16.to_le_bytes());
        pe[opt + 108..opt + 112].copy_from_slice(&16u32.to_le_bytes());
        pe[opt + 112 + 16..opt + 112 + 20].copy_from_slice(&section_rva.to_le_bytes());
        pe[opt + 112 + 20..opt + 112 + 24].copy_from_slice(&(rsrc.len() as u32).to_le_bytes());
        let s = opt + 240;
        pe[s..s + 5].copy_from_slice(b".data");
        let size = rsrc.len() as u32;
        pe[s + 8..s + 12].copy_from_slice(&size.to_le_bytes());
        pe[s + 12..s + 16].copy_from_slice(&section_rva.to_le_bytes());
        pe[s + 16..s + 20].copy_from_slice(&size.to_le_bytes());
        pe[s + 20..s + 24].copy_from_slice(&(section_at as u32).to_le_bytes());
        pe.extend_from_slice(&rsrc);
        pe
    }

    fn corelib(dir: &TempDir, product_version: &str) -> Option<String> {
        dir.write("corelib.dll", &pe_with_product_version(product_version));
        corelib_version(&File::open(dir.path("corelib.dll")).expect("open"))
    }

    #[test]
    fn product_version_labels_and_commits() {
        let dir = TempDir::new("dotnet-pe");
        let cases = [
            (
                "8.0.11+9cb3b725e3ad2b57ddc9fb2dd48d2d170563a8f5",
                Some("8.0.11"),
            ),
            ("3.1.23-servicing.22116.1+0dee78f90fc8", Some("3.1.23")),
            ("3.0.0-rc1.19456.10+2b2d4d0", Some("3.0.0-rc1.19456.10")),
            (
                "8.0.0-preview.7.23375.6+abc",
                Some("8.0.0-preview.7.23375.6"),
            ),
            ("9.0.0", Some("9.0.0")),
            // .NET Core 2.x: a file version and build details, not a product version.
            (
                "4.6.26919.02 @BuiltBy: dlab14-DDVSOWINAGE075 @Branch: release/2.1",
                None,
            ),
            ("4.700.22.11601", None),
            ("", None),
            ("3.1", None),
        ];
        for (raw, want) in cases {
            assert_eq!(corelib(&dir, raw).as_deref(), want, "{raw:?}");
        }
    }

    #[test]
    fn not_a_pe_or_no_version_resource() {
        let dir = TempDir::new("dotnet-notpe");
        dir.write("elf", b"\x7fELF\x02\x01\x01");
        assert_eq!(
            product_version(&File::open(dir.path("elf")).expect("open")),
            None
        );
        let mut pe = pe_with_product_version("8.0.11");
        // The resource directory's type entry is no longer RT_VERSION.
        let at = 0x400 + 16;
        pe[at..at + 4].copy_from_slice(&3u32.to_le_bytes());
        dir.write("icons.dll", &pe);
        assert_eq!(
            product_version(&File::open(dir.path("icons.dll")).expect("open")),
            None
        );
    }

    #[test]
    fn dotnet_from_the_mapped_runtime_directory() {
        let p = Process {
            exe: Some("/usr/share/dotnet/dotnet".into()),
            mapped_files: vec![
                "/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.11/libcoreclr.so".into(),
            ],
            ..Process::default()
        };
        let f = fingerprint(&HostRoot::new(TempDir::new("dotnet").0.clone()), &p);
        assert_eq!(
            crate::testing::kind(&f),
            (Some(".NET"), Some("8.0.11"), None)
        );
    }
}
