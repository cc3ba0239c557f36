//! Runtime kinds, one module per runtime, each with one entry point (`detect`) that looks at the
//! [`Evidence`] and answers the kind's version and the frameworks and servers it runs. [`KINDS`] orders
//! them; the first that recognises the process wins. The readers they share are in [`crate::read`].
//!
//! Choosing one `runtime-name` when several could apply (each runtime's module holds its rules as data):
//! 1. JVM ([`jvm_rules`]): rules whose trigger is the process's *entry point* (main class, optionally with
//!    the server home property) beat rules triggered by a jar merely present on the classpath; within a
//!    tier the first rule in [`jvm_rules::JVM_RULES`] order wins. So a Spring Boot war deployed in Tomcat
//!    is "Apache Tomcat", and a Spring Boot fat jar with embedded Tomcat is "Spring Boot".
//! 2. Native executables: [`native_servers::BINARY_RULES`] in order, checked against the executable only.
//! 3. Go programs: [`go::GO_RULES`], the first whose module path prefix matches the main module.
//! 4. Node.js: [`node::NODE_RULES`] in order, against the entry script's nearest `package.json` that
//!    declares one of them (meta-frameworks first: Next.js and NestJS run on Express).
//! 5. Python: [`python::PYTHON_RULES`] in order, against the distributions installed for the interpreter
//!    (full-stack frameworks first: FastAPI pulls in Starlette).
//!
//! Several runtimes of one container (the `runtimes` list) are ordered from the most specific to the
//! most general: the rule chosen above first (the framework the application is written for), then the
//! servers it embeds ([`jvm_rules::EMBEDDED_RULES`], in that order): Spring Boot, then its embedded
//! Tomcat; for interpreted kinds (Node.js excepted) and .NET, a native server the executable is comes last (Apache
//! HTTP Server with mod_php maps libphp).

pub mod bun;
pub mod deno;
pub mod dotnet;
pub mod erlang;
pub mod go;
pub mod graalvm;
pub mod java;
pub mod jvm_rules;
pub mod jvm_sources;
pub mod native_servers;
pub mod node;
pub mod php;
pub mod python;
pub mod ruby;
pub mod rust;

use crate::read::binary::Binary;
use crate::read::process::{executable_candidates, mapped_library};
use crate::root::{Process, Root};
use std::cell::OnceCell;
use std::sync::OnceLock;

/// One runtime kind: its `runtime-kind` value and its entry point.
pub struct Kind {
    pub name: &'static str,
    pub detect: fn(&Evidence<'_>) -> Option<Found>,
    /// Whether the executable may still be a native server of [`native_servers`] (a PostgreSQL with
    /// PL/Python maps libpython); a JVM, a Go program or a native image is not one.
    pub then_native_servers: bool,
}

/// The order the evidence is checked (see docs/fingerprints.md): a mapped or executed JVM, Go build
/// info, a GraalVM native image, then the interpreters by their binaries, then .NET by its mapped
/// runtime, then Deno, Bun and the BEAM by their strings, and Rust last. The kind never comes from the
/// process name alone.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "Java",
        detect: java::detect,
        then_native_servers: false,
    },
    Kind {
        name: "Golang",
        detect: go::detect,
        then_native_servers: false,
    },
    Kind {
        name: "GraalVM",
        detect: graalvm::detect,
        then_native_servers: false,
    },
    Kind {
        name: "Node.js",
        detect: node::detect,
        // No native server maps libnode, and reading node's ~47 MiB of strings for their markers costs more
        // than the rest of the analysis.
        then_native_servers: false,
    },
    Kind {
        name: "Python",
        detect: python::detect,
        then_native_servers: true,
    },
    Kind {
        name: "Ruby",
        detect: ruby::detect,
        then_native_servers: true,
    },
    Kind {
        name: "PHP",
        detect: php::detect,
        then_native_servers: true,
    },
    Kind {
        name: ".NET",
        detect: dotnet::detect,
        then_native_servers: true,
    },
    // After the common kinds, so that their containers do not pay two more string searches: neither Deno
    // nor Bun carries `node.js/v` or PHP's header (deno 2.9.6, bun 1.4.5), nor maps a runtime library. Deno
    // before Rust: Deno is a Rust program.
    Kind {
        name: "Deno",
        detect: deno::detect,
        then_native_servers: false,
    },
    Kind {
        name: "Bun",
        detect: bun::detect,
        then_native_servers: false,
    },
    Kind {
        name: "Erlang",
        detect: erlang::detect,
        then_native_servers: false,
    },
    // Last: a C server that links a Rust library reads as Rust and may still be a native server.
    Kind {
        name: "Rust",
        detect: rust::detect,
        then_native_servers: true,
    },
];

/// The first kind of [`KINDS`] that recognises the process, with what it found.
pub fn detect(evidence: &Evidence<'_>) -> Option<(&'static Kind, Found)> {
    KINDS
        .iter()
        .find_map(|kind| (kind.detect)(evidence).map(|found| (kind, found)))
}

/// Runs every reader of an executable's bytes on `bin`, discarding what they find: the hostile-input
/// tests and the `elf` fuzz target both drive this one list, so a new reader listed here is fuzzed too.
#[doc(hidden)]
pub fn run_every_binary_reader(bin: &crate::read::binary::Binary) {
    let _ = bin.elf.needed(&bin.file);
    let _ = go::read_elf(&bin.elf, &bin.file);
    let _ = node::node_version(bin);
    let _ = python::python_version(bin, "3.11");
    let _ = python::embeds_python(bin);
    let _ = ruby::ruby_version(bin);
    let _ = php::php_version(bin);
    let _ = graalvm::graalvm(bin);
    let _ = graalvm::detect_native_image(bin);
    let _ = native_servers::detect_binary(bin);
    let _ = deno::deno_version(bin);
    let _ = bun::bun_version(bin);
    let _ = erlang::otp_release(bin);
    let _ = rust::rustc(bin);
    let _ = rust::auditable_main_crate(bin);
}

/// The needles nearly every executable is asked for: each kind that cannot rule an executable out by
/// cheaper means (a mapped library, a section, its name) asks it for its own string, and the native-server
/// rules then for their first markers. [`Binary`] finds them all in one pass over its string constants
/// the first time one is asked for.
pub fn surveyed_needles() -> &'static [&'static [u8]] {
    static NEEDLES: OnceLock<Vec<&'static [u8]>> = OnceLock::new();
    NEEDLES.get_or_init(|| {
        let mut needles = vec![
            node::VERSION_NEEDLE,
            php::VERSION_NEEDLE,
            deno::VERSION_NEEDLE,
            bun::VERSION_NEEDLE,
            erlang::BANNER_NEEDLE,
            rust::LIBRARY_PATH_NEEDLE,
        ];
        needles.extend(
            native_servers::BINARY_RULES
                .iter()
                .filter_map(|r| r.markers.first().copied()),
        );
        needles.dedup();
        needles
    })
}

/// A framework or server: `runtime-name` and `runtime-version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub name: String,
    pub version: Option<String>,
}

/// What a kind found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    pub version: Option<String>,
    pub implementer: Option<String>,
    /// Its frameworks and servers, most specific first.
    pub runtimes: Vec<Detected>,
    /// Go programs: the main module path and version.
    pub go_main_module: Option<(String, String)>,
    /// Rust programs built with cargo-auditable: the main crate and its version.
    pub rust_main_crate: Option<(String, String)>,
}

/// What the kinds look at: the container's files and the workload process. The executable is opened
/// once, when a kind first asks for it.
pub struct Evidence<'a> {
    pub root: &'a dyn Root,
    pub process: &'a Process,
    exe: OnceCell<Option<Binary>>,
}

impl<'a> Evidence<'a> {
    pub fn new(root: &'a dyn Root, process: &'a Process) -> Evidence<'a> {
        Evidence {
            root,
            process,
            exe: OnceCell::new(),
        }
    }

    /// The process's executable as an ELF file: the first of its candidates that opens as one.
    pub fn exe(&self) -> Option<&Binary> {
        self.exe
            .get_or_init(|| {
                executable_candidates(self.root, self.process)
                    .into_iter()
                    .find_map(|p| Binary::open(self.root, &p))
            })
            .as_ref()
    }

    /// The mapped library whose file name starts with `prefix`, opened as an ELF file.
    pub fn library(&self, prefix: &str) -> Option<Binary> {
        mapped_library(self.process, prefix).and_then(|p| Binary::open(self.root, p))
    }
}

/// A framework distributed as a package of an interpreter's ecosystem (npm, PyPI).
#[derive(Debug, Clone, Copy)]
pub struct PackageRule {
    pub name: &'static str,
    /// The package name (PyPI names normalized: lower case, `-` for `_` and `.`).
    pub package: &'static str,
}
