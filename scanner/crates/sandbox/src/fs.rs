//! Opening files inside a container root without leaving it.

use crate::check;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::fs::FileTypeExt;

/// Opens `path` for reading, resolved as if `root` were `/`: `..`, absolute symlinks and magic links
/// (`/proc/*/root`, `/proc/*/fd/*`) cannot leave it. Never blocks (FIFOs are opened non-blocking) and
/// returns an error for anything but a regular file, so devices, FIFOs and sockets are never read.
pub fn open_regular_in_root(root: BorrowedFd<'_>, path: &str) -> io::Result<File> {
    let fd = openat2_in_root(
        root,
        path,
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
    )?;
    let file = File::from(fd);
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{path} is {what}"),
        ))
    }
}

/// Opens a directory inside `root` (same confinement as [`open_regular_in_root`]).
pub fn open_dir_in_root(root: BorrowedFd<'_>, path: &str) -> io::Result<OwnedFd> {
    openat2_in_root(root, path, libc::O_RDONLY | libc::O_DIRECTORY)
}

/// How often a lookup that a concurrent rename or mount made the kernel refuse is tried again.
const OPENAT2_RETRIES: u32 = 64;

fn openat2_in_root(root: BorrowedFd<'_>, path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c_path = CString::new(path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // With RESOLVE_IN_ROOT the kernel fails a path with `..` in it (Debian's /etc/os-release link has one)
    // with EAGAIN when any rename or mount anywhere on the node raced the lookup; it asks callers to retry.
    let mut attempts = 0;
    let fd = loop {
        // SAFETY: c_path and how outlive the call; the kernel copies `how` (size given) and the path.
        let result = check(unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c_path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        });
        match result {
            Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && attempts < OPENAT2_RETRIES => {
                attempts += 1;
            }
            other => break other?,
        }
    };
    // SAFETY: openat2 returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Opens a directory of the host as a root for [`open_regular_in_root`] (e.g. `/` after `chroot`).
pub fn open_root(path: &str) -> io::Result<OwnedFd> {
    let c_path = CString::new(path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // SAFETY: plain open of a NUL-terminated path; the result is checked.
    let fd = check(unsafe {
        libc::open(
            c_path.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        ) as libc::c_long
    })?;
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// A path through `..` while renames happen elsewhere: the kernel refuses some lookups (EAGAIN), and
    /// every one must still succeed.
    #[test]
    fn lookups_through_dot_dot_survive_concurrent_renames() {
        let dir = std::env::temp_dir().join(format!("sandbox-fs-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).expect("dir");
        std::fs::write(dir.join("os-release"), "ID=x\n").expect("file");
        std::os::unix::fs::symlink("../os-release", dir.join("etc/os-release")).expect("link");
        let root = open_root(dir.to_str().expect("utf-8")).expect("root");
        let stop = AtomicBool::new(false);
        let failures = std::thread::scope(|scope| {
            scope.spawn(|| {
                let (a, b) = (dir.join("renamed-a"), dir.join("renamed-b"));
                std::fs::write(&a, "").expect("rename source");
                while !stop.load(Ordering::Relaxed) {
                    let _ = std::fs::rename(&a, &b);
                    let _ = std::fs::rename(&b, &a);
                }
            });
            let failures = (0..20_000)
                .filter(|_| open_regular_in_root(root.as_fd(), "/etc/os-release").is_err())
                .count();
            stop.store(true, Ordering::Relaxed);
            failures
        });
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(failures, 0);
    }
}
