//! Hostile input: random, truncated and mutated bytes into every parser never panic, and the
//! zip limits (size, ratio, nesting) hold on crafted archives.

use crate::read::elf::Elf;
use crate::testing::{artifact, machine_file, HostRoot, TempDir};
use test_support::require;

/// A small dynamic ELF of the machine (Debian's postgresql-client).
const PG_ISREADY: &str = "/usr/lib/postgresql/15/bin/pg_isready";
use crate::kinds::{go, java, jvm_sources, run_every_binary_reader};
use crate::read::binary::Binary;
use crate::read::zip::Archive;
use crate::read::{jar, os_release};
use crate::{fingerprint, Process};
use std::fs::File;

/// xorshift64*: deterministic, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Flips a few bytes, biased to the first `hot` bytes (headers and tables live there).
fn mutate(rng: &mut Rng, data: &mut [u8], hot: usize) {
    for _ in 0..1 + rng.below(8) {
        let span = if rng.below(2) == 0 {
            hot.min(data.len())
        } else {
            data.len()
        };
        let at = rng.below(span);
        if let Some(b) = data.get_mut(at) {
            *b = match rng.below(4) {
                0 => 0,
                1 => 0xff,
                _ => rng.next() as u8,
            };
        }
    }
}

/// Runs every ELF-based parser on `data` written to a file.
fn all_elf_parsers(dir: &TempDir, data: &[u8]) {
    dir.write("bin", data);
    let file = File::open(dir.path("bin")).expect("open");
    if let Some(elf) = Elf::parse(&file) {
        run_every_binary_reader(&Binary::from_parts("/bin/python3.11", file, elf));
    }
    // And the whole pipeline, with the file as the executable.
    let p = Process {
        exe: Some("/bin".into()),
        argv: vec!["java".into()],
        ..Process::default()
    };
    let _ = fingerprint(&HostRoot::new(&dir.0), &p);
}

#[test]
fn elf_parsers_survive_random_truncated_and_mutated_files() {
    let dir = TempDir::new("fuzz-elf");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // A real Go binary: build info, sections, segments all present.
    let prog = crate::testing::build_go("example.com/fuzz", &["-ldflags=-s -w"], None);
    let go = std::fs::read(prog.dir.path("hello")).expect("go binary");
    let dynamic = std::fs::read(require!(machine_file(PG_ISREADY))).expect("read");
    for round in 0..300 {
        let base = if round % 2 == 0 { &go } else { &dynamic };
        let mut data = match rng.below(3) {
            0 => base[..rng.below(base.len())].to_vec(),
            1 => base.clone(),
            _ => {
                let mut d = b"\x7fELF\x02\x01\x01".to_vec();
                let n = rng.below(4096);
                d.extend(rng.bytes(n));
                d
            }
        };
        mutate(&mut rng, &mut data, 4096);
        all_elf_parsers(&dir, &data);
    }
}

#[test]
fn go_buildinfo_mutations_never_panic_and_never_invent_a_version() {
    let dir = TempDir::new("fuzz-go");
    let mut rng = Rng(42);
    let prog = crate::testing::build_go("example.com/fuzz", &[], None);
    let original = std::fs::read(prog.dir.path("hello")).expect("go binary");
    let at = memchr::memmem::find(&original, b"\xff Go buildinf:").expect("magic");
    for _ in 0..300 {
        let mut data = original.clone();
        for _ in 0..1 + rng.below(4) {
            let i = at + rng.below(64);
            data[i] = rng.next() as u8;
        }
        dir.write("go", &data);
        if let Some(info) = go::read(&File::open(dir.path("go")).expect("open")) {
            assert!(info.go_version.starts_with("go"), "{info:?}");
            assert!(info.go_version.len() <= 40);
        }
    }
}

fn all_zip_parsers(data: Vec<u8>) {
    if let Some(archive) = Archive::from_memory(data) {
        let _ = jar::manifest(&archive);
        for entry in archive.entries.iter().take(50) {
            let _ = archive.read(entry, 1 << 20);
            let _ = archive.open_nested(entry);
        }
    }
}

#[test]
fn zip_readers_survive_truncated_and_mutated_real_jars() {
    let mut rng = Rng(7);
    let jar = std::fs::read(require!(artifact("quarkus-core-3.33.2.jar"))).expect("jar");
    for _ in 0..300 {
        let mut data = match rng.below(3) {
            0 => jar[rng.below(jar.len())..].to_vec(),
            1 => jar[..rng.below(jar.len())].to_vec(),
            _ => jar.clone(),
        };
        let len = data.len();
        // Mutate the central directory and end record (the last ~64 KiB) more than the rest.
        for _ in 0..1 + rng.below(6) {
            if len == 0 {
                break;
            }
            let at = len - 1 - rng.below(len.min(65_536));
            data[at] = rng.next() as u8;
        }
        all_zip_parsers(data);
    }
    for _ in 0..200 {
        let n = rng.below(2048);
        let mut junk = rng.bytes(n);
        junk.extend_from_slice(b"PK\x05\x06");
        junk.extend(rng.bytes(18));
        all_zip_parsers(junk);
    }
}

#[test]
fn text_parsers_survive_random_input() {
    let mut rng = Rng(99);
    for _ in 0..2000 {
        let n = rng.below(512);
        let mut data = rng.bytes(n);
        // Sprinkle the separators the parsers look for.
        for _ in 0..rng.below(20) {
            let i = rng.below(n.max(1));
            if let Some(b) = data.get_mut(i) {
                *b = *b"=:\n\r \"'\\#\t/.".get(rng.below(13)).unwrap_or(&b'=');
            }
        }
        let _ = os_release::parse(&data);
        let _ = jar::Manifest::parse(&data).get("Main-Class");
        let _ = jar::property(&data, "version");
        let text = String::from_utf8_lossy(&data);
        let _ = jvm_sources::parse_version_txt(&text);
        let _ = crate::read::byte_search::leading_version(&text);
        let _ = crate::values::version(&text);
        let _ = crate::read::paths::normalize("/", &text);
        let _ = go::uvarint(&data);
        let _ = crate::read::json_parser::parse(&data);
    }
}

#[test]
fn hostile_command_lines_and_symlink_loops_are_harmless() {
    let dir = TempDir::new("loops");
    dir.symlink("/b", "a");
    dir.symlink("/a", "b");
    dir.symlink("../../../../../../etc/passwd", "escape");
    let root = HostRoot::new(&dir.0);
    assert_eq!(
        crate::read::paths::resolve(&root, "/a/x"),
        None,
        "a symlink loop ends"
    );
    assert_eq!(
        crate::read::paths::resolve(&root, "/escape").as_deref(),
        Some("/etc/passwd"),
        "`..` stops at the root"
    );
    assert!(
        crate::root::Root::open(&root, "/escape").is_err(),
        "the host's /etc/passwd is not reachable"
    );
    let mut rng = Rng(5);
    for _ in 0..200 {
        let argv: Vec<String> = std::iter::once("java".to_owned())
            .chain((0..rng.below(12)).map(|_| {
                [
                    "-jar",
                    "-cp",
                    "@/a",
                    "@/escape",
                    "/a/*",
                    "-Dcatalina.home=/a",
                    "kafka.Kafka",
                    "-m",
                    "x/y",
                    "--class-path=",
                ][rng.below(10)]
                .to_owned()
            }))
            .collect();
        let p = Process {
            exe: Some("/a".into()),
            argv,
            cwd: Some("/b".into()),
            ..Process::default()
        };
        let _ = java::parse_command(&root, &p);
        let _ = fingerprint(&root, &p);
    }
}

/// A minimal zip writer (tests only): one entry per `(name, method, stored bytes, uncompressed size)`.
fn write_zip(entries: &[(&str, u16, Vec<u8>, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, method, data, size) in entries {
        let offset = out.len() as u32;
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend(20u16.to_le_bytes());
            }
            h.extend(20u16.to_le_bytes());
            h.extend(0u16.to_le_bytes());
            h.extend(method.to_le_bytes());
            h.extend([0u8; 8]); // time, date, crc (not checked by the reader)
            h.extend((data.len() as u32).to_le_bytes());
            h.extend(size.to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes());
            if central {
                h.extend([0u8; 10]); // comment len, disk, internal and external attrs
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend(data);
        central.extend(header(0x0201_4b50, true));
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((entries.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

#[test]
fn zip_bombs_and_deep_nesting_are_refused() {
    // 256 MiB of zeros deflates to ~250 KiB: refused by the output cap whatever the header says.
    let zeros = vec![0u8; 256 << 20];
    let bomb = miniz_oxide::deflate::compress_to_vec(&zeros, 6);
    drop(zeros);
    for declared in [100u32, 256 << 20] {
        let zip = write_zip(&[("META-INF/MANIFEST.MF", 8, bomb.clone(), declared)]);
        let archive = Archive::from_memory(zip).expect("well-formed zip");
        assert_eq!(jar::manifest(&archive), None, "declared size {declared}");
        let entry = archive.find("META-INF/MANIFEST.MF").expect("entry");
        assert_eq!(
            archive.read(entry, usize::MAX),
            None,
            "the ratio/size caps stop it"
        );
    }
    // A jar in a jar opens (Spring Boot's one level); a jar in a jar in a jar does not.
    let manifest = b"Manifest-Version: 1.0\nImplementation-Version: 1.2.3\n".to_vec();
    let inner = write_zip(&[(
        "META-INF/MANIFEST.MF",
        0,
        manifest.clone(),
        manifest.len() as u32,
    )]);
    let middle = write_zip(&[(
        "BOOT-INF/lib/inner.jar",
        0,
        inner.clone(),
        inner.len() as u32,
    )]);
    let outer = write_zip(&[(
        "BOOT-INF/lib/middle.jar",
        0,
        middle.clone(),
        middle.len() as u32,
    )]);
    let outer = Archive::from_memory(outer).expect("outer");
    // from_memory archives count as nested already; a file-backed one is the top level.
    let dir = TempDir::new("nest");
    dir.write(
        "outer.jar",
        &write_zip(&[(
            "BOOT-INF/lib/middle.jar",
            0,
            middle.clone(),
            middle.len() as u32,
        )]),
    );
    let file = File::open(dir.path("outer.jar")).expect("open");
    let top = Archive::open(&file).expect("top");
    let level1 = top
        .open_nested(&top.entries[0])
        .expect("one level of nesting is allowed");
    assert!(
        level1.open_nested(&level1.entries[0]).is_none(),
        "two levels are refused"
    );
    assert!(outer.open_nested(&outer.entries[0]).is_none());
}

#[test]
fn huge_sparse_files_are_never_read_whole() {
    let dir = TempDir::new("sparse");
    // A 4 GiB "executable": a real ELF header, section headers claimed far away, the rest holes.
    let real = std::fs::read(require!(machine_file(PG_ISREADY))).expect("read");
    std::fs::create_dir_all(dir.path("usr/bin")).expect("mkdir");
    let file = File::create(dir.path("usr/bin/node")).expect("create");
    std::os::unix::fs::FileExt::write_all_at(&file, &real[..4096], 0).expect("write");
    file.set_len(4 << 30).expect("sparse");
    // A 2 GiB "jar" and a 2 GiB `release` file.
    File::create(dir.path("app.jar"))
        .expect("create")
        .set_len(2 << 30)
        .expect("sparse");
    std::fs::create_dir_all(dir.path("jdk/bin")).expect("mkdir");
    std::fs::create_dir_all(dir.path("jdk/lib/server")).expect("mkdir");
    File::create(dir.path("jdk/release"))
        .expect("create")
        .set_len(2 << 30)
        .expect("sparse");
    std::fs::copy(
        require!(machine_file(PG_ISREADY)),
        dir.path("jdk/lib/server/libjvm.so"),
    )
    .expect("copy");
    let root = HostRoot::new(&dir.0);
    let read_before = bytes_read_by_this_thread();
    let node = Process {
        exe: Some("/usr/bin/node".into()),
        argv: vec!["node".into()],
        ..Process::default()
    };
    assert_eq!(fingerprint(&root, &node).runtime_kind, None);
    let jvm = Process {
        exe: Some("/jdk/bin/java".into()),
        argv: vec!["java".into(), "-jar".into(), "/app.jar".into()],
        mapped_files: vec!["/jdk/lib/server/libjvm.so".into()],
        ..Process::default()
    };
    let f = fingerprint(&root, &jvm);
    let got = (
        f.runtime_kind.as_deref(),
        f.runtime_kind_version.as_deref(),
        f.runtime_name.as_deref(),
    );
    assert_eq!(got, (Some("Java"), None, None));
    // Bounded: none of the files was read whole (each reader stops at its own limit, docs/fingerprints.md).
    let read = bytes_read_by_this_thread() - read_before;
    let smallest = ["usr/bin/node", "app.jar", "jdk/release"]
        .iter()
        .map(|f| std::fs::metadata(dir.path(f)).expect("stat").len())
        .min()
        .expect("files");
    assert!(
        read < smallest,
        "read {read} bytes, more than the smallest hostile file ({smallest}): a reader is not bounded"
    );
}

/// What this thread has read through `read`-like system calls (`rchar` of `/proc/thread-self/io`): the
/// fingerprinting of one process runs on the calling thread.
fn bytes_read_by_this_thread() -> u64 {
    let io = std::fs::read_to_string("/proc/thread-self/io").expect("/proc/thread-self/io");
    io.lines()
        .find_map(|l| l.strip_prefix("rchar: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("rchar")
}
