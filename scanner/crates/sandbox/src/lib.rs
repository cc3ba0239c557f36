//! The project's only unsafe code: thin wrappers over the Linux system calls that the privilege-separated
//! scan needs. Everything else in the workspace forbids `unsafe`.
//!
//! Why raw system calls: the coordinator forks from a multi-threaded process, so between `fork` and `exec`
//! the child may only make async-signal-safe calls. Everything the child needs (argv, envp, the seccomp
//! program, rlimits, ids) is built before `fork` in [`spawn::SpawnPlan`]; the child only issues syscalls,
//! and reads nothing the coordinator's heaps hold ([`child_copy`]).
//! x86_64 only: the seccomp program checks the architecture and uses x86_64 syscall numbers.
#![allow(unsafe_code)]

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
compile_error!("the sandbox supports Linux on x86_64 only");

pub mod child_copy;
pub mod fs;
pub mod identity;
pub mod process;
mod raw;
pub mod seccomp;
pub mod spawn;
#[cfg(test)]
mod tests;

use std::io;

/// Turns a `-1` return of a libc call into the thread's `errno`.
fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
