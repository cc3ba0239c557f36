//! Jars over 1 GiB (and over 4 GiB, zip64) are read like small ones. Each test builds a real Spring Boot
//! fat jar grown past the size: a stored entry of zeros first (a hole in a sparse file, so the test
//! writes only the real entries), then every entry of the real artifact, copied byte for byte, then a
//! central directory that points past the filler. The expected version is the artifact's own
//! manifest, read by `unzip`.

use crate::fingerprint;
use crate::root::Process;
use crate::testing::{artifact, machine_file, HostRoot, TempDir};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::process::Command;
use test_support::require;

const JDK: &str = "/usr/lib/jvm/java-17-openjdk-amd64";
const APP: &str = "spring-boot-app-3.5.13.jar";
const ALL_ONES_16: u16 = u16::MAX;
const ALL_ONES_32: u32 = u32::MAX;

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().expect("2 bytes"))
}
fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// One entry of the real jar: its central directory fields and its data, still compressed.
struct Copied {
    name: Vec<u8>,
    version_needed: u16,
    flags: u16,
    method: u16,
    time: u16,
    date: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    data: Vec<u8>,
}

/// The entries of a small (classic) zip, read with the format's own layout.
fn entries_of(jar: &[u8]) -> Vec<Copied> {
    let eocd = (0..jar.len() - 21)
        .rev()
        .find(|&i| u32le(jar, i) == 0x0605_4b50)
        .expect("end record");
    let count = usize::from(u16le(jar, eocd + 10));
    let mut at = u32le(jar, eocd + 16) as usize;
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(u32le(jar, at), 0x0201_4b50, "central directory entry");
        let name_len = usize::from(u16le(jar, at + 28));
        let extra_len = usize::from(u16le(jar, at + 30));
        let comment_len = usize::from(u16le(jar, at + 32));
        let compressed = u32le(jar, at + 20) as usize;
        let local = u32le(jar, at + 42) as usize;
        let data_at =
            local + 30 + usize::from(u16le(jar, local + 26)) + usize::from(u16le(jar, local + 28));
        out.push(Copied {
            name: jar[at + 46..at + 46 + name_len].to_vec(),
            version_needed: u16le(jar, at + 6),
            flags: u16le(jar, at + 8) & !0x0008, // sizes are in the headers below, no data descriptor
            method: u16le(jar, at + 10),
            time: u16le(jar, at + 12),
            date: u16le(jar, at + 14),
            crc: u32le(jar, at + 16),
            compressed: compressed as u64,
            size: u64::from(u32le(jar, at + 24)),
            data: jar[data_at..data_at + compressed].to_vec(),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    out
}

/// A 32-bit field, or all ones with the value in the zip64 extra field.
fn field32(value: u64, zip64: &mut Vec<u8>) -> u32 {
    match u32::try_from(value) {
        Ok(v) if v != ALL_ONES_32 => v,
        _ => {
            zip64.extend_from_slice(&value.to_le_bytes());
            ALL_ONES_32
        }
    }
}

fn extra_field(zip64: &[u8]) -> Vec<u8> {
    if zip64.is_empty() {
        return Vec::new();
    }
    let mut extra = 0x0001u16.to_le_bytes().to_vec();
    extra.extend_from_slice(&(zip64.len() as u16).to_le_bytes());
    extra.extend_from_slice(zip64);
    extra
}

/// Writes `path`: a stored entry of `filler` zero bytes (a hole), then the real entries; zip64 records
/// wherever a size, an offset or the count does not fit the classic fields.
fn write_grown_jar(path: &std::path::Path, real: Vec<Copied>, filler: u64) -> u64 {
    let file = File::create(path).expect("create");
    let mut entries = vec![Copied {
        name: b"BOOT-INF/classes/static/video.bin".to_vec(),
        version_needed: 45,
        flags: 0,
        method: 0,
        time: 0,
        date: 0x21,
        // Not the CRC of the zeros: nothing here reads the filler's bytes.
        crc: 0,
        compressed: filler,
        size: filler,
        data: Vec::new(),
    }];
    entries.extend(real);
    let mut pos = 0u64;
    let mut central = Vec::new();
    for e in &entries {
        // Local header: sizes in zip64 when they do not fit (the filler's).
        let mut local_zip64 = Vec::new();
        let size = field32(e.size, &mut local_zip64);
        let compressed = field32(e.compressed, &mut local_zip64);
        let local_extra = extra_field(&local_zip64);
        let mut local = Vec::new();
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for v in [e.version_needed, e.flags, e.method, e.time, e.date] {
            local.extend_from_slice(&v.to_le_bytes());
        }
        for v in [e.crc, compressed, size] {
            local.extend_from_slice(&v.to_le_bytes());
        }
        local.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
        local.extend_from_slice(&(local_extra.len() as u16).to_le_bytes());
        local.extend_from_slice(&e.name);
        local.extend_from_slice(&local_extra);
        file.write_all_at(&local, pos).expect("write");
        file.write_all_at(&e.data, pos + local.len() as u64)
            .expect("write");
        // Central directory entry: size, compressed size, local offset, in the zip64 field's order.
        let mut zip64 = Vec::new();
        let size = field32(e.size, &mut zip64);
        let compressed = field32(e.compressed, &mut zip64);
        let offset = field32(pos, &mut zip64);
        let extra = extra_field(&zip64);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [45u16, e.version_needed, e.flags, e.method, e.time, e.date] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [e.crc, compressed, size] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [e.name.len() as u16, extra.len() as u16, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(&e.name);
        central.extend_from_slice(&extra);
        pos += local.len() as u64 + e.compressed;
    }
    let (cd_offset, cd_size, count) = (pos, central.len() as u64, entries.len() as u64);
    let mut tail = central;
    let classic_offset = u32::try_from(cd_offset).unwrap_or(ALL_ONES_32);
    if classic_offset == ALL_ONES_32 {
        let record_at = cd_offset + cd_size;
        tail.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        tail.extend_from_slice(&44u64.to_le_bytes());
        tail.extend_from_slice(&45u16.to_le_bytes());
        tail.extend_from_slice(&45u16.to_le_bytes());
        tail.extend_from_slice(&0u32.to_le_bytes());
        tail.extend_from_slice(&0u32.to_le_bytes());
        for v in [count, count, cd_size, cd_offset] {
            tail.extend_from_slice(&v.to_le_bytes());
        }
        tail.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        tail.extend_from_slice(&0u32.to_le_bytes());
        tail.extend_from_slice(&record_at.to_le_bytes());
        tail.extend_from_slice(&1u32.to_le_bytes());
    }
    let classic_count = if classic_offset == ALL_ONES_32 {
        ALL_ONES_16
    } else {
        count as u16
    };
    tail.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, classic_count, classic_count] {
        tail.extend_from_slice(&v.to_le_bytes());
    }
    tail.extend_from_slice(&(cd_size as u32).to_le_bytes());
    tail.extend_from_slice(&classic_offset.to_le_bytes());
    tail.extend_from_slice(&0u16.to_le_bytes());
    file.write_all_at(&tail, pos).expect("write");
    pos + tail.len() as u64
}

/// The Spring Boot version the artifact's own manifest states, read by `unzip`.
fn manifest_version(jar: &str) -> String {
    let out = Command::new("unzip")
        .args(["-p", jar, "META-INF/MANIFEST.MF"])
        .output()
        .expect("unzip runs");
    assert!(out.status.success(), "unzip -p {jar}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Spring-Boot-Version: "))
        .expect("Spring-Boot-Version in the artifact's manifest")
        .trim()
        .to_owned()
}

/// The framework found in the real app jar grown by `filler` bytes, run by the JDK at `jdk`.
fn framework_of_grown_jar(
    real: &str,
    jdk: &str,
    filler: u64,
) -> (u64, Option<String>, Option<String>) {
    let dir = TempDir::new("big-jar");
    let jar = dir.path("app.jar");
    let len = write_grown_jar(
        &jar,
        entries_of(&std::fs::read(real).expect("read")),
        filler,
    );
    assert_eq!(std::fs::metadata(&jar).expect("stat").len(), len);
    let jar = jar.to_str().expect("utf-8").to_owned();
    let process = Process {
        exe: Some(format!("{jdk}/bin/java")),
        argv: ["java", "-jar", &jar].map(str::to_owned).to_vec(),
        ..Process::default()
    };
    let f = fingerprint(&HostRoot::new("/"), &process);
    (len, f.runtime_name, f.runtime_version)
}

#[test]
fn a_jar_over_1_gib_keeps_its_framework_version() {
    let real = require!(artifact(APP));
    let jdk = require!(machine_file(JDK));
    let expected = manifest_version(&real);
    let (len, name, version) = framework_of_grown_jar(&real, &jdk, 3 << 29);
    assert!(len > 1 << 30 && len < 1 << 32, "{len}");
    assert_eq!(
        (name.as_deref(), version.as_deref()),
        (Some("Spring Boot"), Some(expected.as_str()))
    );
}

#[test]
fn a_zip64_jar_over_4_gib_keeps_its_framework_version() {
    let real = require!(artifact(APP));
    let jdk = require!(machine_file(JDK));
    let expected = manifest_version(&real);
    let (len, name, version) = framework_of_grown_jar(&real, &jdk, 9 << 29);
    assert!(len > 1 << 32, "{len}");
    assert_eq!(
        (name.as_deref(), version.as_deref()),
        (Some("Spring Boot"), Some(expected.as_str()))
    );
}
