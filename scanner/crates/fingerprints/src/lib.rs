//! Fingerprints: what a container is made of, read from its files only.
//!
//! Everything here is pure parsing over a [`Root`] (the container's file system as the analyzer sees it)
//! and a [`Process`] (what the coordinator observed of the workload process). No code here executes
//! anything, and every read is bounded by the caller-visible limits in each module.

pub mod bounded;
pub mod os_release;
pub mod root;

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
    pub runtime_name: Option<String>,
    pub runtime_version: Option<String>,
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

/// Runtime kinds and frameworks plug in here (see docs/fingerprints.md).
fn runtime_fingerprint(_root: &dyn Root, _process: &Process, _result: &mut Fingerprint) {}
