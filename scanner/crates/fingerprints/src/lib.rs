//! Fingerprints: what a container is made of, read from its files only.
//!
//! Everything here is pure parsing over a [`Root`] (the container's file system as the analyzer sees it)
//! and a [`Process`] (what the coordinator observed of the workload process). No code here executes
//! anything, and every read is bounded by the caller-visible limits in each module.

pub mod kinds;
pub mod read;
pub mod root;
pub mod values;

#[cfg(test)]
mod big_archive;
#[cfg(test)]
mod contract_check;
#[cfg(test)]
mod hostile;
#[cfg(test)]
mod testing;

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
    /// Every framework and server found, ordered as [`kinds`] documents (at most
    /// [`MAX_RUNTIMES`]); the first is also `runtime_name`/`runtime_version`.
    pub runtimes: Vec<Runtime>,
    /// Go programs: the main module path and version from the build info (not an output key yet;
    /// kept for consumers that want more than `runtime-name`).
    pub go_main_module: Option<(String, String)>,
    /// Rust programs built with cargo-auditable: the main crate and version from its dependency data
    /// (not an output key, like `go_main_module`).
    pub rust_main_crate: Option<(String, String)>,
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

/// Most runtimes reported for one container (the framework and the servers it embeds).
pub const MAX_RUNTIMES: usize = 4;

/// Fingerprints one container: its OS from os-release, then (when known) the workload process's runtime
/// kind, from the first of [`kinds::KINDS`] that recognises it, and the frameworks and servers it runs.
pub fn fingerprint(root: &dyn Root, process: &Process) -> Fingerprint {
    let os = read::os_release::read(root);
    let mut result = Fingerprint {
        os_release_id: os.id,
        os_release_version_id: os.version_id,
        ..Fingerprint::default()
    };
    let evidence = kinds::Evidence::new(root, process);
    let found = kinds::detect(&evidence);
    let native_servers = found
        .as_ref()
        .is_none_or(|(kind, _)| kind.then_native_servers);
    if let Some((kind, found)) = found {
        result.runtime_kind = Some(kind.name.into());
        result.runtime_kind_version = found.version;
        result.runtime_kind_implementer = found.implementer;
        result.go_main_module = found.go_main_module;
        result.rust_main_crate = found.rust_main_crate;
        for detected in found.runtimes {
            add_runtime(&mut result, detected);
        }
    }
    if native_servers {
        if let Some(detected) = kinds::native_servers::detect(&evidence) {
            add_runtime(&mut result, detected);
        }
    }
    result
}

/// Appends a detected framework or server to the container's runtimes; the first one found is also
/// `runtime-name`/`runtime-version`.
fn add_runtime(result: &mut Fingerprint, d: kinds::Detected) {
    let Some(name) = values::name(&d.name) else {
        return;
    };
    if result.runtimes.len() >= MAX_RUNTIMES || result.runtimes.iter().any(|r| r.name == name) {
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
