//! Go: a program whose executable carries Go build info; its Go version, main module, and the well-known
//! Go programs recognised by that module ([`GO_RULES`]).
//!
//! The build info is read the way Go's own `debug/buildinfo` does, with hard bounds.
//!
//! The search window is the `.go.buildinfo` section, else, in a file without section headers, the first
//! writable, non-executable `PT_LOAD` (so `sstrip`ped files still work). A file whose section headers lack
//! `.go.buildinfo` is no Go program with build info: the Go linker has written that section since Go 1.13,
//! which introduced the build info, and external linkers keep it. Not searching the data of every other
//! executable saves most of what a non-Go executable costs this kind. In it, the magic `\xff Go buildinf:` sits at a 16-byte-aligned
//! address; the 32-byte header then says either "inline" (Go ≥ 1.18: two uvarint-prefixed strings
//! follow) or "pointers" (older: addresses of Go string headers for the version and module info).

use crate::kinds::{Detected, Evidence, Found};
use crate::read::elf::{read_at, read_at_into, Elf, Endian};
use crate::values;
use std::fs::File;

/// The entry point: a Go executable, its Go version and main module, and the program it is.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let bin = evidence.exe()?;
    let info = read_elf(&bin.elf, &bin.file)?;
    Some(Found {
        version: values::go_version(&info.go_version),
        go_main_module: info.main_module.clone(),
        runtimes: detect_go(&info).into_iter().collect(),
        ..Found::default()
    })
}

/// A well-known Go program, recognised by its main module path (module paths cannot lie the way
/// process names do: they are compiled in). The version is the main module's, when not `(devel)`.
#[derive(Debug, Clone, Copy)]
pub struct GoRule {
    pub name: &'static str,
    pub module_prefix: &'static str,
}

pub const GO_RULES: &[GoRule] = &[
    GoRule {
        name: "Prometheus",
        module_prefix: "github.com/prometheus/prometheus",
    },
    GoRule {
        name: "etcd",
        module_prefix: "go.etcd.io/etcd/",
    },
    GoRule {
        name: "CoreDNS",
        module_prefix: "github.com/coredns/coredns",
    },
    GoRule {
        name: "Traefik",
        module_prefix: "github.com/traefik/traefik",
    },
    GoRule {
        name: "Caddy",
        module_prefix: "github.com/caddyserver/caddy",
    },
    GoRule {
        name: "MinIO",
        module_prefix: "github.com/minio/minio",
    },
    GoRule {
        name: "Grafana",
        module_prefix: "github.com/grafana/grafana",
    },
    GoRule {
        name: "Kubernetes",
        module_prefix: "k8s.io/kubernetes",
    },
    GoRule {
        name: "containerd",
        module_prefix: "github.com/containerd/containerd",
    },
    GoRule {
        name: "HashiCorp Vault",
        module_prefix: "github.com/hashicorp/vault",
    },
    GoRule {
        name: "HashiCorp Consul",
        module_prefix: "github.com/hashicorp/consul",
    },
];

/// A well-known Go program, from its main module.
pub fn detect_go(info: &BuildInfo) -> Option<Detected> {
    let (module, version) = info.main_module.as_ref()?;
    let rule = GO_RULES.iter().find(|r| {
        module == r.module_prefix
            || module
                .strip_prefix(r.module_prefix)
                .is_some_and(|rest| r.module_prefix.ends_with('/') || rest.starts_with('/'))
    })?;
    let version = (version != "(devel)")
        .then(|| values::version(version))
        .flatten();
    Some(Detected {
        name: rule.name.to_owned(),
        version,
    })
}

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const ALIGN: usize = 16;
/// Go puts build info at the start of the data segment; real files have it in the first few KiB.
const MAX_WINDOW: u64 = 16 << 20;
const CHUNK: usize = 1 << 20;
/// Module info of big programs (hundreds of deps) is well under this.
const MAX_STRING: u64 = 1 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInfo {
    /// e.g. `go1.21.3` (experiments such as ` X:boringcrypto` are cut off).
    pub go_version: String,
    /// The main package path (`path` line), e.g. `github.com/x/y/cmd/z`.
    pub path: Option<String>,
    /// Main module path and version (`mod` line); version is `(devel)` for local builds.
    pub main_module: Option<(String, String)>,
}

/// Reads the Go build info of an ELF file; `None` if it is not a Go executable or is malformed.
pub fn read(file: &File) -> Option<BuildInfo> {
    let elf = Elf::parse(file)?;
    read_elf(&elf, file)
}

pub fn read_elf(elf: &Elf, file: &File) -> Option<BuildInfo> {
    let (start_addr, window) = match elf.section(".go.buildinfo") {
        Some(s) => (s.addr, s.size),
        None if elf.sections.is_empty() => {
            let seg = elf.first_writable_load()?;
            (seg.vaddr, seg.memsz)
        }
        None => return None,
    };
    let (offset, left) = elf.vaddr_to_offset(start_addr)?;
    let window = window.min(left).min(MAX_WINDOW);
    let (header_addr, header_offset) = search_magic(file, start_addr, offset, window)?;
    let header = read_at(file, header_offset, HEADER_LEN)?;
    if header.len() < HEADER_LEN {
        return None;
    }
    let ptr_size = header[14];
    let flags = header[15];
    let (version, modinfo) = if flags & 2 != 0 {
        // Inline strings right after the header, bounded by what the segment still holds.
        let data_addr = header_addr.checked_add(HEADER_LEN as u64)?;
        let (data_offset, data_left) = elf.vaddr_to_offset(data_addr)?;
        let mut cursor = Cursor {
            file,
            offset: data_offset,
            left: data_left,
        };
        (cursor.varint_string()?, cursor.varint_string()?)
    } else {
        let is64 = match ptr_size {
            4 => false,
            8 => true,
            _ => return None,
        };
        let e = Endian {
            big: flags & 1 != 0,
        };
        let vers_ptr = e.word(&header, 16, is64)?;
        let mod_ptr = e.word(&header, 16 + usize::from(ptr_size), is64)?;
        (
            read_go_string(elf, file, vers_ptr, is64, e)?,
            read_go_string(elf, file, mod_ptr, is64, e).unwrap_or_default(),
        )
    };
    let go_version = clean_go_version(&String::from_utf8_lossy(&version))?;
    let mut info = BuildInfo {
        go_version,
        ..BuildInfo::default()
    };
    parse_modinfo(&strip_sentinels(&modinfo), &mut info);
    Some(info)
}

/// Finds the 16-byte-aligned magic; returns its virtual address and file offset.
fn search_magic(file: &File, addr: u64, offset: u64, window: u64) -> Option<(u64, u64)> {
    let mut done: u64 = 0;
    let mut buf = Vec::new();
    while done < window {
        let want = usize::try_from((window - done).min(CHUNK as u64 + HEADER_LEN as u64)).ok()?;
        let data = read_at_into(file, offset.checked_add(done)?, want, &mut buf)?;
        if data.len() < HEADER_LEN {
            return None;
        }
        let mut from = 0;
        while let Some(found) = memchr::memmem::find(&data[from..], MAGIC) {
            let at = from + found;
            let hit_addr = addr.checked_add(done)?.checked_add(at as u64)?;
            if hit_addr % ALIGN as u64 == 0 && data.len() - at >= HEADER_LEN {
                return Some((hit_addr, offset + done + at as u64));
            }
            from = at + 1;
        }
        // Overlap by one header so a magic on the chunk boundary is seen whole.
        done = done.checked_add((data.len() - HEADER_LEN + 1) as u64)?;
        if data.len() < want {
            break;
        }
    }
    None
}

struct Cursor<'a> {
    file: &'a File,
    offset: u64,
    left: u64,
}

impl Cursor<'_> {
    fn varint_string(&mut self) -> Option<Vec<u8>> {
        let head = read_at(self.file, self.offset, 10.min(self.left as usize))?;
        let (len, used) = uvarint(&head)?;
        if len > MAX_STRING || len > self.left.checked_sub(used as u64)? {
            return None;
        }
        let data = read_at(self.file, self.offset + used as u64, len as usize)?;
        if data.len() as u64 != len {
            return None;
        }
        let consumed = used as u64 + len;
        self.offset += consumed;
        self.left -= consumed;
        Some(data)
    }
}

/// Decodes an unsigned LEB128 varint; `None` on overflow or truncation.
pub fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        let low = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return None;
        }
        value |= low << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

fn read_go_string(elf: &Elf, file: &File, ptr: u64, is64: bool, e: Endian) -> Option<Vec<u8>> {
    let word = if is64 { 8 } else { 4 };
    let (off, left) = elf.vaddr_to_offset(ptr)?;
    if left < 2 * word as u64 {
        return None;
    }
    let hdr = read_at(file, off, 2 * word)?;
    let data_ptr = e.word(&hdr, 0, is64)?;
    let len = e.word(&hdr, word, is64)?;
    if len == 0 || len > MAX_STRING {
        return None;
    }
    let (data_off, data_left) = elf.vaddr_to_offset(data_ptr)?;
    if len > data_left {
        return None;
    }
    let data = read_at(file, data_off, len as usize)?;
    (data.len() as u64 == len).then_some(data)
}

/// Module info is framed by 16-byte sentinels; without them it is empty (not a module build).
fn strip_sentinels(modinfo: &[u8]) -> String {
    let n = modinfo.len();
    if n >= 33 && modinfo[n - 17] == b'\n' {
        String::from_utf8_lossy(&modinfo[16..n - 16]).into_owned()
    } else {
        String::new()
    }
}

fn parse_modinfo(text: &str, info: &mut BuildInfo) {
    for line in text.lines() {
        let mut fields = line.split('\t');
        match fields.next() {
            Some("path") => {
                info.path = fields
                    .next()
                    .filter(|p| is_module_path(p))
                    .map(str::to_owned)
            }
            Some("mod") => {
                if let (Some(path), Some(version)) = (fields.next(), fields.next()) {
                    if is_module_path(path) && is_module_version(version) {
                        info.main_module = Some((path.to_owned(), version.to_owned()));
                    }
                }
            }
            _ => {}
        }
    }
}

/// `go1.21.3`, `go1.22rc1`, `devel go1.23-abc...` reduced to the version token; a following
/// experiments token (`go1.20.12 X:strictfipsruntime`) is kept, as the toolchain itself reports it.
/// Anything else is dropped.
fn clean_go_version(raw: &str) -> Option<String> {
    let mut tokens = raw.split_whitespace().skip_while(|t| !t.starts_with("go"));
    let token = tokens.next()?;
    let rest = token.strip_prefix("go")?;
    let ok = rest.starts_with(|c: char| c.is_ascii_digit())
        && token.len() <= 40
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    if !ok {
        return None;
    }
    match tokens.next().filter(|t| t.starts_with("X:")) {
        Some(experiments) => Some(format!("{token} {experiments}")),
        None => Some(token.to_owned()),
    }
}

fn is_module_path(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 200
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '/' | '-' | '_' | '~' | '+'))
}

fn is_module_version(v: &str) -> bool {
    v == "(devel)"
        || (v.starts_with('v')
            && v.len() <= 100
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
}

#[cfg(test)]
mod tests;
