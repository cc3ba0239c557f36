//! Test-only [`Root`] over a host directory, confined like the real one: symlinks (absolute ones
//! included) resolve inside the base directory, and only regular files open.

use crate::read::paths;
use crate::root::Root;
use std::fs::File;
use std::io;
use std::path::PathBuf;

pub struct HostRoot {
    pub base: PathBuf,
}

impl HostRoot {
    pub fn new(base: impl Into<PathBuf>) -> HostRoot {
        HostRoot { base: base.into() }
    }

    fn host(&self, path: &str) -> PathBuf {
        self.base.join(path.trim_start_matches('/'))
    }

    fn resolved(&self, path: &str) -> io::Result<PathBuf> {
        paths::resolve(self, path)
            .map(|p| self.host(&p))
            .ok_or_else(|| io::Error::other("symlink loop"))
    }
}

impl Root for HostRoot {
    fn open(&self, path: &str) -> io::Result<File> {
        let host = self.resolved(path)?;
        if !std::fs::metadata(&host)?.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        File::open(host)
    }

    fn read_dir(&self, path: &str, max: usize) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.resolved(path)?)?.take(max) {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn read_link(&self, path: &str) -> io::Result<String> {
        Ok(std::fs::read_link(self.host(path))?
            .to_string_lossy()
            .into_owned())
    }
}

/// A fresh, empty directory under the system temp dir (removed by the caller's `TempDir` drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fingerprints-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel.trim_start_matches('/'))
    }

    /// Copies a host file to `rel` inside the temp dir, creating parents.
    pub fn copy(&self, from: &str, rel: &str) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {from}: {e}"));
    }

    pub fn write(&self, rel: &str, data: &[u8]) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::write(to, data).expect("write");
    }

    pub fn symlink(&self, target: &str, rel: &str) {
        let at = self.path(rel);
        std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, at).expect("symlink");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The cache of real artifacts fetched by `hack/fetch-test-artifacts`; a missing one fails the test.
pub fn artifact(name: &str) -> String {
    let base = std::env::var("CONTAINER_SCANNER_ARTIFACTS").unwrap_or_else(|_| {
        format!(
            "{}/.cache/container-scanner/artifacts",
            std::env::var("HOME").unwrap_or_default()
        )
    });
    let path = format!("{base}/{name}");
    assert!(
        std::path::Path::new(&path).exists(),
        "test artifact {path} is missing: run hack/fetch-test-artifacts first"
    );
    path
}

/// A file of the machine the tests need (a JDK, node, python, postgres); missing fails the test.
pub fn machine_file(path: &str) -> String {
    assert!(
        std::path::Path::new(path).exists(),
        "{path} is missing on this machine: run hack/fetch-test-artifacts (it installs what the tests read)"
    );
    path.to_owned()
}
