//! Go build info: its decoding, and real programs (built here for several targets, and a real one built by
//! Go 1.17 from npm) read and fingerprinted.

use super::*;

#[test]
fn uvarint_decodes_and_rejects_overflow() {
    assert_eq!(uvarint(&[0x05]), Some((5, 1)));
    assert_eq!(uvarint(&[0x96, 0x01]), Some((150, 2)));
    assert_eq!(uvarint(&[0x80]), None);
    assert_eq!(uvarint(&[0xff; 10]), None);
}

#[test]
fn go_version_cleaning() {
    assert_eq!(
        clean_go_version("go1.21.0 X:boringcrypto").as_deref(),
        Some("go1.21.0 X:boringcrypto")
    );
    assert_eq!(
        clean_go_version("devel go1.23-4f1bc0e Tue").as_deref(),
        Some("go1.23-4f1bc0e")
    );
    assert_eq!(clean_go_version("gopher"), None);
    assert_eq!(clean_go_version("go1.2\u{1b}[0m"), None);
}

#[test]
fn modinfo_lines() {
    let mut info = BuildInfo::default();
    parse_modinfo(
        "path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\ndep\tgolang.org/x/text\tv0.3.0\th1:x\nbuild\t-compiler=gc\n",
        &mut info,
    );
    assert_eq!(info.path.as_deref(), Some("example.com/hello"));
    assert_eq!(
        info.main_module,
        Some(("example.com/hello".into(), "(devel)".into()))
    );
}

#[test]
fn go_rules_match_module_boundaries() {
    let info = |m: &str, v: &str| BuildInfo {
        go_version: "go1.22.0".into(),
        path: None,
        main_module: Some((m.into(), v.into())),
    };
    assert_eq!(
        detect_go(&info("github.com/caddyserver/caddy/v2", "v2.8.4")),
        Some(Detected {
            name: "Caddy".into(),
            version: Some("v2.8.4".into())
        })
    );
    assert_eq!(
        detect_go(&info("github.com/caddyserver/caddy-x", "v1.0.0")),
        None
    );
    assert_eq!(
        detect_go(&info("go.etcd.io/etcd/server/v3", "(devel)")).map(|d| d.version),
        Some(None)
    );
}
use crate::fingerprint;
use crate::testing::{
    artifact, build_go, framework, go, host, kind, process, run, HostRoot, TempDir,
};
use test_support::require;

#[test]
fn go_program_stripped_pie_32bit_big_endian_and_named_node() {
    for flags in [
        &["-trimpath"][..],
        &["-ldflags=-s -w"],
        &["-buildmode=pie", "-ldflags=-s -w"],
        // 32-bit ELF, and big-endian 64-bit ELF.
        &["GOARCH=386", "-ldflags=-s -w"],
        &["GOARCH=s390x"],
    ] {
        let prog = build_go("example.com/hello", flags, None);
        let exe = prog.dir.path("hello").to_string_lossy().into_owned();
        let info =
            crate::kinds::go::read(&std::fs::File::open(&exe).expect("open")).expect("build info");
        assert_eq!(info.go_version, prog.version, "{flags:?}");
        assert_eq!(
            info.main_module,
            Some(("example.com/hello".into(), "(devel)".into()))
        );
        assert_eq!(info.path.as_deref(), Some("example.com/hello"));
        // A Go program called `node` is still Go: the name is not evidence.
        let f = fingerprint(&host(), &process(&exe, &["node", "server.js"]));
        assert_eq!(
            kind(&f),
            (Some("Golang"), Some(prog.version.as_str()), None),
            "{flags:?}"
        );
        assert_eq!(framework(&f), (None, None));
    }
    // Nor does a Go program installed as `<dir>/bin/java` make a JVM.
    let prog = build_go("example.com/notjava", &["-ldflags=-s -w"], None);
    let dir = TempDir::new("fake-java");
    dir.copy(
        &prog.dir.path("hello").to_string_lossy(),
        "opt/tool/bin/java",
    );
    let f = fingerprint(
        &HostRoot::new(&dir.0),
        &process("/opt/tool/bin/java", &["java", "-jar", "app.jar"]),
    );
    assert_eq!(
        kind(&f),
        (Some("Golang"), Some(prog.version.as_str()), None)
    );
}

#[test]
fn go_without_section_headers_uses_the_writable_segment() {
    // What `sstrip` does: drop the section header table, so `.go.buildinfo` cannot be named.
    let prog = build_go("example.com/sstrip", &["-ldflags=-s -w"], None);
    let mut data = std::fs::read(prog.dir.path("hello")).expect("read");
    data[0x28..0x30].fill(0); // e_shoff
    data[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
    prog.dir.write("stripped", &data);
    let file = std::fs::File::open(prog.dir.path("stripped")).expect("open");
    assert!(crate::read::elf::Elf::parse(&file)
        .expect("still ELF")
        .sections
        .is_empty());
    let info = crate::kinds::go::read(&file).expect("build info from the first writable PT_LOAD");
    assert_eq!(info.go_version, prog.version);
    assert_eq!(
        info.main_module,
        Some(("example.com/sstrip".into(), "(devel)".into()))
    );
}

#[test]
fn section_headers_without_go_buildinfo_mean_no_go_build_info() {
    // The same program with its `.go.buildinfo` section renamed: the bytes are all still in the data
    // segment, but section headers that do not name the section say the file is no Go program, and its
    // data is not searched (the sstripped file above, with no section headers at all, is).
    let prog = build_go("example.com/renamed", &[], None);
    let renamed = prog.dir.path("renamed");
    let out = std::process::Command::new("objcopy")
        .args(["--rename-section", ".go.buildinfo=.renamed"])
        .arg(prog.dir.path("hello"))
        .arg(&renamed)
        .output()
        .expect("objcopy (binutils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = std::fs::File::open(&renamed).expect("open");
    let elf = crate::read::elf::Elf::parse(&file).expect("ELF");
    assert!(elf.has_section(".renamed") && !elf.has_section(".go.buildinfo"));
    assert!(crate::kinds::go::read(&file).is_none());
    let original = std::fs::File::open(prog.dir.path("hello")).expect("open");
    assert_eq!(
        crate::kinds::go::read(&original).map(|i| i.go_version),
        Some(prog.version.clone())
    );
}

#[test]
fn go_before_1_18_real_esbuild_from_npm() {
    // A real binary built by Go 1.17 (build info in the "pointers" layout), checked against what the Go tool
    // itself reads from it.
    let exe = require!(artifact("esbuild-0.14.10/esbuild"));
    let want = run(go(), &["version", "-m", &exe]);
    let field = |key: &str| {
        want.lines()
            .find_map(|l| l.trim_start().strip_prefix(key))
            .map(|rest| rest.split('\t').map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("go version -m has no {key:?}:\n{want}"))
    };
    let go_version = want
        .lines()
        .next()
        .and_then(|l| l.rsplit(": ").next())
        .expect("version line");
    assert!(go_version.starts_with("go1.17"), "{go_version}");
    let info =
        crate::kinds::go::read(&std::fs::File::open(&exe).expect("open")).expect("build info");
    assert_eq!(info.go_version, go_version);
    assert_eq!(info.path.as_deref(), Some(field("path\t")[0].as_str()));
    let module = field("mod\t");
    assert_eq!(
        info.main_module,
        Some((module[0].clone(), module[1].clone()))
    );
    let f = fingerprint(&host(), &process(&exe, &["esbuild", "--serve"]));
    assert_eq!(kind(&f), (Some("Golang"), Some(go_version), None));
}

#[test]
fn go_well_known_program_from_its_main_module_and_vcs_tag() {
    let prog = build_go(
        "github.com/caddyserver/caddy/v2",
        &["-ldflags=-s -w"],
        Some("v2.8.4"),
    );
    let exe = prog.dir.path("hello").to_string_lossy().into_owned();
    let info =
        crate::kinds::go::read(&std::fs::File::open(&exe).expect("open")).expect("build info");
    let (module, version) = info.main_module.expect("main module");
    assert_eq!(module, "github.com/caddyserver/caddy/v2");
    let f = fingerprint(&host(), &process(&exe, &["caddy", "run"]));
    assert_eq!(
        f.go_main_module,
        Some((
            "github.com/caddyserver/caddy/v2".to_owned(),
            version.clone()
        ))
    );
    assert_eq!(
        kind(&f),
        (Some("Golang"), Some(prog.version.as_str()), None)
    );
    // Go stamps the tag as the module version when it builds inside the tagged checkout.
    let expected = (version != "(devel)").then_some(version.as_str());
    assert_eq!(framework(&f), (Some("Caddy"), expected));
    assert_eq!(expected, Some("v2.8.4"), "go stamps the vcs tag");
}
