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

fn openat2_in_root(root: BorrowedFd<'_>, path: &str, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c_path = CString::new(path)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: c_path and how outlive the call; the kernel copies `how` (size given) and the path.
    let fd = check(unsafe {
        libc::syscall(
            libc::SYS_openat2,
            root.as_raw_fd(),
            c_path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    })?;
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
