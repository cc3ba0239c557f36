//! The two inputs of every fingerprint: the container's file system and the workload process.

use std::fs::File;
use std::io;

/// The container's file system, seen from inside it. Implementations must confine every path to the
/// container root (symlinks, `..`), open regular files only, and never block (FIFOs, devices).
pub trait Root {
    /// Opens a regular file by absolute path inside the root.
    fn open(&self, path: &str) -> io::Result<File>;
    /// Lists at most `max` entry names of a directory (no `.`/`..`), in no particular order.
    fn read_dir(&self, path: &str, max: usize) -> io::Result<Vec<String>>;
    /// Reads a symbolic link's target (not followed) inside the root.
    fn read_link(&self, path: &str) -> io::Result<String>;
}

/// What the coordinator saw of the workload process, from the host's `/proc/<pid>`.
/// Every list is already bounded by the coordinator; paths are as the container sees them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Process {
    /// Target of `/proc/<pid>/exe` (may end in " (deleted)").
    pub exe: Option<String>,
    /// `/proc/<pid>/cmdline`, split on NUL.
    pub argv: Vec<String>,
    /// `/proc/<pid>/environ`, split on the first `=`.
    pub env: Vec<(String, String)>,
    /// Distinct file paths from `/proc/<pid>/maps`, in first-seen order.
    pub mapped_files: Vec<String>,
    /// Target of `/proc/<pid>/cwd` as the container sees it; relative `-jar`/`-cp` paths resolve
    /// against it (`/` when absent).
    pub cwd: Option<String>,
}

impl Process {
    /// The value of an environment variable of the process, if set.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}
