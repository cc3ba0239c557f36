//! Fingerprints: what a container is made of, read from its files only.
//!
//! Everything here is pure parsing over a [`Root`] (the container's file system as the analyzer sees it)
//! and a [`Process`] (what the coordinator observed of the workload process). No code here executes
//! anything, and every read is bounded by the caller-visible limits in each module.

pub mod bounded;
pub mod dotnet;
pub mod elf;
pub mod frameworks;
pub mod golang;
pub mod jar;
pub mod java;
pub mod json;
pub mod native;
pub mod os_release;
pub mod packages;
pub mod paths;
pub mod root;
pub mod rules;
pub mod scan;
pub mod values;
pub mod zip;

#[cfg(test)]
mod contract_check;
#[cfg(test)]
mod hostile;
#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use root::{Process, Root};

/// What the analyzer reports for one container; every field is optional.
/// Field names follow the `/scan-containers` output keys.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    pub os_release_id: Option<String>,
    pub os_release_version_id: Option<String>,
    pub runtime_kind: Option<String>,
    pub runtime_kind_version: Option<String>,
    pub runtime_kind_implementer: Option<String>,
    /// The first of `runtimes` (the seed's two keys).
    pub runtime_name: Option<String>,
    pub runtime_version: Option<String>,
    /// Every framework and server found, ordered as `rules.rs` documents (at most
    /// [`rules::MAX_RUNTIMES`]); the first is also `runtime_name`/`runtime_version`.
    pub runtimes: Vec<Runtime>,
    /// Go programs: the main module path and version from the build info (not an output key yet;
    /// kept for consumers that want more than `runtime-name`).
    pub go_main_module: Option<(String, String)>,
}

/// One framework or server of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    pub name: String,
    pub version: Option<String>,
}

impl Fingerprint {
    /// The fields as `(output key, value)` pairs, in the contract's order, absent ones left out.
    pub fn entries(&self) -> Vec<(&'static str, &str)> {
        [
            ("os-release-id", &self.os_release_id),
            ("os-release-version-id", &self.os_release_version_id),
            ("runtime-kind", &self.runtime_kind),
            ("runtime-kind-version", &self.runtime_kind_version),
            ("runtime-kind-implementer", &self.runtime_kind_implementer),
            ("runtime-name", &self.runtime_name),
            ("runtime-version", &self.runtime_version),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_deref().map(|v| (key, v)))
        .collect()
    }

    /// The runtimes as analyzer answer lines' `(key, value)`: `runtimes.<i>.name` and, when known,
    /// `runtimes.<i>.version`, `i` counting from 0 in the documented order.
    pub fn runtime_entries(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (i, runtime) in self.runtimes.iter().enumerate() {
            out.push((format!("runtimes.{i}.name"), runtime.name.as_str()));
            if let Some(version) = &runtime.version {
                out.push((format!("runtimes.{i}.version"), version.as_str()));
            }
        }
        out
    }
}

/// Fingerprints one container: its OS from os-release, then (when known) the workload process's runtime.
pub fn fingerprint(root: &dyn Root, process: &Process) -> Fingerprint {
    let os = os_release::read(root);
    let mut result = Fingerprint {
        os_release_id: os.id,
        os_release_version_id: os.version_id,
        ..Fingerprint::default()
    };
    runtime_fingerprint(root, process, &mut result);
    result
}

/// Runtime kinds, in the order the evidence is checked (see docs/fingerprints.md): a mapped or
/// executed JVM, Go build info, a GraalVM native image, then the interpreters by their binaries, then
/// .NET by its mapped runtime; native servers last. The kind never comes from the process name alone.
fn runtime_fingerprint(root: &dyn Root, process: &Process, result: &mut Fingerprint) {
    if let Some(jvm) = java::detect(root, process) {
        result.runtime_kind = Some("Java".into());
        result.runtime_kind_version = jvm.version;
        result.runtime_kind_implementer = jvm.implementer;
        let command = java::parse_command(root, process);
        for detected in frameworks::detect_jvm_all(root, &command) {
            set_framework(result, Some(detected));
        }
        return;
    }
    let exe = java::executable_candidates(root, process)
        .into_iter()
        .find_map(|p| native::Binary::open(root, &p));
    if let Some(bin) = &exe {
        if let Some(info) = golang::read_elf(&bin.elf, &bin.file) {
            result.runtime_kind = Some("Golang".into());
            result.runtime_kind_version = values::go_version(&info.go_version);
            result.go_main_module = info.main_module.clone();
            set_framework(result, frameworks::detect_go(&info));
            return;
        }
        if let Some((java_version, vendor)) = native::graalvm(bin) {
            result.runtime_kind = Some("GraalVM".into());
            result.runtime_kind_version = java_version;
            result.runtime_kind_implementer = vendor;
            set_framework(result, frameworks::detect_native_image(bin));
            return;
        }
    }
    if let Some((kind, version)) = interpreter(root, process, exe.as_ref()) {
        let detected = match kind {
            "Node.js" => packages::detect_node(root, process),
            "Python" => {
                let series = version
                    .as_deref()
                    .map(|v| v.split('.').take(2).collect::<Vec<_>>().join("."));
                packages::detect_python(root, process, series.as_deref())
            }
            _ => None,
        };
        result.runtime_kind = Some(kind.into());
        result.runtime_kind_version = version;
        set_framework(result, detected);
    } else if let Some(version) = dotnet::detect(root, process) {
        result.runtime_kind = Some(".NET".into());
        result.runtime_kind_version = version;
    }
    if let Some(bin) = &exe {
        set_framework(result, frameworks::detect_binary(bin));
    }
}

/// Appends a detected framework or server to the container's runtimes; the first one found is also
/// `runtime-name`/`runtime-version`.
fn set_framework(result: &mut Fingerprint, detected: Option<frameworks::Detected>) {
    let Some(d) = detected else { return };
    let Some(name) = values::name(&d.name) else {
        return;
    };
    if result.runtimes.len() >= rules::MAX_RUNTIMES
        || result.runtimes.iter().any(|r| r.name == name)
    {
        return;
    }
    if result.runtimes.is_empty() {
        result.runtime_name = Some(name.clone());
        result.runtime_version = d.version.clone();
    }
    result.runtimes.push(Runtime {
        name,
        version: d.version,
    });
}

/// Mapped libraries whose file name starts with `prefix` and contains `.so`.
fn mapped_library<'a>(process: &'a Process, prefix: &str) -> Option<&'a str> {
    process.mapped_files.iter().map(String::as_str).find(|p| {
        paths::file_name(p)
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.contains(".so"))
    })
}

/// Node.js, Python, Ruby, PHP: from the executable or the runtime library it has mapped.
fn interpreter(
    root: &dyn Root,
    process: &Process,
    exe: Option<&native::Binary>,
) -> Option<(&'static str, Option<String>)> {
    let lib =
        |prefix: &str| mapped_library(process, prefix).and_then(|p| native::Binary::open(root, p));
    // Node.js: the executable, or Debian's shared libnode.
    if let Some(v) = exe
        .and_then(native::node_version)
        .or_else(|| lib("libnode").as_ref().and_then(native::node_version))
    {
        return Some(("Node.js", Some(v)));
    }
    // Python: a mapped libpython, else an interpreter executable (static, or linked to libpython).
    if let Some(path) = mapped_library(process, "libpython") {
        let version = native::python_series_from_name(path)
            .and_then(|series| native::python_version(&native::Binary::open(root, path)?, &series));
        return Some(("Python", version));
    }
    if let Some(bin) = exe {
        if let Some(found) = python_executable(root, bin) {
            return Some(found);
        }
    }
    // Ruby: libruby, or an executable named ruby*.
    let ruby_exe = exe.filter(|b| paths::file_name(&b.path).starts_with("ruby"));
    if let Some(bin) = lib("libruby") {
        return Some(("Ruby", native::ruby_version(&bin)));
    }
    if let Some(bin) = ruby_exe {
        return Some(("Ruby", native::ruby_version(bin)));
    }
    // PHP: the CLI/FPM executable, or a mapped libphp (Apache's mod_php).
    if let Some(v) = exe
        .and_then(native::php_version)
        .or_else(|| lib("libphp").as_ref().and_then(native::php_version))
    {
        return Some(("PHP", Some(v)));
    }
    None
}

/// A Python interpreter executable: it embeds CPython (`Py_BytesMain`) or needs `libpython`.
fn python_executable(
    root: &dyn Root,
    bin: &native::Binary,
) -> Option<(&'static str, Option<String>)> {
    let needed = bin.elf.needed(&bin.file);
    let needed_lib = needed.iter().find(|n| n.starts_with("libpython"));
    if needed_lib.is_none() && !native::embeds_python(bin) {
        return None;
    }
    let series = native::python_series_from_name(&bin.path)
        .or_else(|| needed_lib.and_then(|n| native::python_series_from_name(n)));
    let Some(series) = series else {
        return Some(("Python", None));
    };
    if needed_lib.is_none() {
        return Some(("Python", native::python_version(bin, &series)));
    }
    // The library beside the interpreter's prefix (pyenv, official images), or in the system dirs.
    let lib_name = needed_lib?;
    let exe_prefix = paths::parent(paths::parent(&bin.path)).to_owned();
    let dirs = [
        format!("{exe_prefix}/lib"),
        "/usr/local/lib".into(),
        "/usr/lib/x86_64-linux-gnu".into(),
        "/lib/x86_64-linux-gnu".into(),
        "/usr/lib64".into(),
        "/usr/lib".into(),
    ];
    let version = dirs
        .iter()
        .find_map(|d| {
            native::Binary::open(root, &paths::normalize("/", &format!("{d}/{lib_name}")))
        })
        .and_then(|lib| native::python_version(&lib, &series));
    Some(("Python", version))
}
