//! Process handles and descriptors that the coordinator holds on to across a scan.

use crate::check;
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Instant;

/// A pidfd: refers to one process for its whole life, so a recycled PID can never be mistaken for it.
pub fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: no pointers; the result is a new descriptor or -1.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

/// Whether the process behind a pidfd still runs (a zombie counts as gone).
pub fn pidfd_is_alive(pidfd: BorrowedFd<'_>) -> bool {
    // SAFETY: signal 0 only checks for existence; no pointers are passed.
    unsafe { libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), 0, 0usize, 0) == 0 }
}

/// A copy of an executable (or of any data a child reads) in a sealed, anonymous memory file. Executing this instead of the file on disk
/// means a container can neither reach nor overwrite the scanner's binary through `/proc/<pid>/exe`
/// (the attack of CVE-2019-5736).
pub fn sealed_memfd_copy(name: &str, content: &[u8]) -> io::Result<OwnedFd> {
    let c_name = CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in name"))?;
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // MFD_EXEC (Linux 6.3+) states the intent to execute; older kernels reject the flag, so retry without.
    // SAFETY: c_name is NUL-terminated and alive for the call.
    let fd = match check(
        unsafe { libc::memfd_create(c_name.as_ptr(), flags | libc::MFD_EXEC) } as libc::c_long,
    ) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            // SAFETY: as above.
            check(unsafe { libc::memfd_create(c_name.as_ptr(), flags) } as libc::c_long)?
        }
        other => other?,
    };
    // SAFETY: a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    let mut file = File::from(fd);
    file.write_all(content)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on a descriptor we own, integer argument.
    check(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } as libc::c_long)?;
    // A child that inherits the descriptor reads it from the start.
    file.rewind()?;
    Ok(OwnedFd::from(file))
}

/// [`sealed_memfd_copy`] of an executable, then made execute-only (mode 0111, owned by root): a process
/// that executes a file it cannot read is non-dumpable from the exec on (the kernel's `would_dump`), so
/// the analyzer is never reachable through `/proc/<pid>/` before its own first instruction. The sandbox
/// drops every capability before the exec, so a uid-0 analyzer cannot read it either.
pub fn sealed_executable_copy(name: &str, content: &[u8]) -> io::Result<OwnedFd> {
    let fd = sealed_memfd_copy(name, content)?;
    // SAFETY: fchmod on a descriptor we own, integer mode.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), 0o111) } as libc::c_long)?;
    Ok(fd)
}

/// The analyzer's stderr: the write end of a pipe whose read end is already closed. A write fails with
/// EPIPE; nothing of the host (not even its `/dev/null`) is handed into a container.
pub fn stderr_sink() -> io::Result<OwnedFd> {
    let (read_end, write_end) = pipe()?;
    drop(read_end);
    Ok(write_end)
}

/// A pipe whose both ends close on exec; the child re-plumbs the end it needs onto fd 1.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors pipe2 writes.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } as libc::c_long)?;
    // SAFETY: two new descriptors that nothing else owns.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Why reading a child's answer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadEnd {
    /// The writer closed the pipe.
    Eof,
    /// More than the allowed number of bytes arrived.
    TooLarge,
    /// The deadline passed first.
    Deadline,
}

/// Reads from a pipe until EOF, at most `cap` bytes, until `deadline`; never blocks past the deadline.
pub fn read_bounded(pipe: &File, cap: usize, deadline: Instant) -> io::Result<(Vec<u8>, ReadEnd)> {
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok((out, ReadEnd::Deadline));
        }
        let mut pfd = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = left.as_millis().clamp(1, i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut pfd, 1, ms) };
        if ready < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if ready == 0 {
            continue;
        }
        let n = match (&*pipe).read(&mut chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            return Ok((out, ReadEnd::Eof));
        }
        if out.len() + n > cap {
            return Ok((out, ReadEnd::TooLarge));
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

/// Sends SIGKILL to a child of ours (ignores "already gone").
pub fn kill(pid: i32) {
    // SAFETY: no pointers; the pid is our own unreaped child, so it cannot have been recycled.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

/// What a reaped child used, its own waited-for descendants included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// User plus system CPU time.
    pub cpu_ms: u64,
    /// Peak resident set size of the largest process.
    pub max_rss_kb: u64,
}

/// Reaps a child of ours, waiting for it, with what it used.
pub fn wait(pid: i32) -> io::Result<(Exit, Usage)> {
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value for the kernel to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: status and usage are valid to write to.
        let r = unsafe { libc::wait4(pid, &mut status, libc::__WALL, &mut usage) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let ms = |t: libc::timeval| (t.tv_sec.max(0) as u64) * 1000 + (t.tv_usec.max(0) as u64) / 1000;
    let used = Usage {
        cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
        max_rss_kb: usage.ru_maxrss.max(0) as u64,
    };
    let exit = if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(libc::WEXITSTATUS(status))
    };
    Ok((exit, used))
}

/// CPU time (user plus system) used so far by this process and by every child it has reaped, their own
/// reaped descendants included: the whole cost of a scan, coordinator and sandboxes.
pub fn cpu_used_with_children() -> io::Result<std::time::Duration> {
    let mut total = std::time::Duration::ZERO;
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: zeroed rusage is a valid value for the kernel to overwrite.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: usage is valid to write to.
        check(unsafe { libc::getrusage(who, &mut usage) } as libc::c_long)?;
        for t in [usage.ru_utime, usage.ru_stime] {
            total += std::time::Duration::from_secs(t.tv_sec.max(0) as u64)
                + std::time::Duration::from_micros(t.tv_usec.max(0) as u64);
        }
    }
    Ok(total)
}

/// Marks every descriptor from 3 up close-on-exec, including any the scanner inherited from whatever
/// started it: together with the close-on-exec flag of everything it opens, no descriptor of the
/// coordinator survives an exec.
pub fn close_inherited_on_exec() -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: integer arguments only.
    check(unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) })
        .map(|_| ())
}

/// Closes descriptors 0, 1 and 2: the analyzer's last act once its answer is written. The kernel drops
/// a process's memory before its descriptors when it exits, and for that moment the process no longer
/// counts as non-dumpable, so a same-uid process could otherwise open what it still holds.
pub fn close_standard_descriptors() {
    for fd in 0..3 {
        // SAFETY: closing our own standard descriptors; nothing uses them afterwards.
        unsafe { libc::close(fd) };
    }
}

/// Makes sure descriptors 0, 1 and 2 are open (on `/dev/null` if they were not), so that no pipe or
/// file the coordinator opens later can land on them and be mistaken for a standard stream.
pub fn ensure_standard_fds() -> io::Result<()> {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor.
        if unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1 {
            // open returns the lowest free descriptor, which is `fd` here; it is never closed.
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")?;
            std::mem::forget(file);
        }
    }
    Ok(())
}
