//! The container's file system as the analyzer sees it: `/` after the coordinator's chroot. Every open
//! goes through openat2 with RESOLVE_IN_ROOT and no magic links, opens regular files only and never
//! blocks; the kernel's own pseudo file systems are off limits.

use fingerprints::Root;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

pub struct ContainerRoot {
    root: OwnedFd,
}

/// Not container content: reading them tells nothing about the image and some never end.
const PSEUDO: &[&str] = &["/proc", "/sys", "/dev"];

fn refuse_pseudo(path: &str) -> io::Result<()> {
    let inside = |p: &&str| {
        path == *p
            || path
                .strip_prefix(*p)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    if !path.starts_with('/') || PSEUDO.iter().any(inside) {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "path outside the image",
        ));
    }
    Ok(())
}

impl ContainerRoot {
    pub fn open() -> io::Result<ContainerRoot> {
        Ok(ContainerRoot {
            root: sandbox::fs::open_root("/")?,
        })
    }
}

impl Root for ContainerRoot {
    fn open(&self, path: &str) -> io::Result<File> {
        refuse_pseudo(path)?;
        sandbox::fs::open_regular_in_root(self.root.as_fd(), path)
    }

    fn read_dir(&self, path: &str, max: usize) -> io::Result<Vec<String>> {
        refuse_pseudo(path)?;
        // Resolve with the same confinement first; listing by path is then confined by the chroot.
        drop(sandbox::fs::open_dir_in_root(self.root.as_fd(), path)?);
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)?.take(max) {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn read_link(&self, path: &str) -> io::Result<String> {
        refuse_pseudo(path)?;
        let target = std::fs::read_link(path)?;
        target
            .into_os_string()
            .into_string()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "non-UTF-8 link"))
    }
}

#[cfg(test)]
mod tests {
    use super::refuse_pseudo;

    #[test]
    fn pseudo_file_systems_are_refused() {
        for path in [
            "/proc/self/environ",
            "/proc",
            "/sys/kernel",
            "/dev/zero",
            "relative/path",
        ] {
            assert!(refuse_pseudo(path).is_err(), "{path}");
        }
        for path in [
            "/etc/os-release",
            "/procfoo",
            "/devices.txt",
            "/usr/lib/os-release",
        ] {
            assert!(refuse_pseudo(path).is_ok(), "{path}");
        }
    }
}
