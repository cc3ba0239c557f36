//! Classic-BPF seccomp programs, built before `fork` and installed with one system call.
//!
//! Hand-written rather than a crate: the program is a short list of comparisons, and the privileged
//! coordinator keeps to the standard library and libc (see docs/security.md).

use crate::check;
use std::io;

const AUDIT_ARCH_X86_64: u32 = 0xC000_003E;
/// x32 system calls have this bit set; they are refused outright.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
/// Offsets in `struct seccomp_data`.
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;

/// A ready-to-install filter program.
#[derive(Debug, Clone)]
pub struct Program {
    instructions: Vec<libc::sock_filter>,
}

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

impl Program {
    /// Allows exactly `allowed` system calls; any other fails with EPERM (so the program sees an error
    /// rather than dying mid-answer); a foreign architecture or x32 call kills the process.
    pub fn allow_only(allowed: &[libc::c_long]) -> Program {
        Self::build(
            allowed,
            SECCOMP_RET_ALLOW,
            SECCOMP_RET_ERRNO | libc::EPERM as u32,
        )
    }

    /// Refuses `denied` system calls with EPERM and allows the rest (meant to be stacked on top of an
    /// allow-list, since filters combine to the most restrictive answer).
    pub fn deny(denied: &[libc::c_long]) -> Program {
        Self::build(
            denied,
            SECCOMP_RET_ERRNO | libc::EPERM as u32,
            SECCOMP_RET_ALLOW,
        )
    }

    fn build(listed: &[libc::c_long], on_match: u32, otherwise: u32) -> Program {
        assert!(listed.len() < 250, "jump offsets are 8 bits");
        let mut p = vec![
            stmt(BPF_LD_W_ABS, OFFSET_ARCH),
            jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
            stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
            stmt(BPF_LD_W_ABS, OFFSET_NR),
            jump(BPF_JGE_K, X32_SYSCALL_BIT, 0, 1),
            stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        ];
        let n = listed.len();
        for (i, &nr) in listed.iter().enumerate() {
            // On a match, jump over the remaining comparisons and the `otherwise` return.
            let to_match = (n - i) as u8;
            p.push(jump(BPF_JEQ_K, nr as u32, to_match, 0));
        }
        p.push(stmt(BPF_RET_K, otherwise));
        p.push(stmt(BPF_RET_K, on_match));
        Program { instructions: p }
    }

    /// Installs the filter on the calling thread. Async-signal-safe: no allocation, one system call.
    /// The caller must have set `no_new_privs` (or hold CAP_SYS_ADMIN).
    pub fn install(&self) -> io::Result<()> {
        let prog = libc::sock_fprog {
            len: self.instructions.len() as libc::c_ushort,
            filter: self.instructions.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: `prog` points into `self.instructions`, alive for the call; the kernel copies it.
        check(unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &prog as *const libc::sock_fprog,
            )
        })
        .map(|_| ())
    }
}

/// What the analyzer may do once it runs: read files, write its answer, manage memory, exit. No network,
/// no new processes, no signals to others, no ptrace, no writes to files (RLIMIT_FSIZE is 0 as well).
/// `execveat` is here only because the filter is installed before the analyzer itself is executed; the
/// analyzer then stacks [`analyzer_no_exec`] as its first act.
pub const ANALYZER_SYSCALLS: &[libc::c_long] = &[
    libc::SYS_read,
    libc::SYS_pread64,
    libc::SYS_readv,
    libc::SYS_write,
    libc::SYS_writev,
    libc::SYS_close,
    libc::SYS_openat,
    libc::SYS_openat2,
    libc::SYS_open,
    libc::SYS_fstat,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_lseek,
    libc::SYS_getdents64,
    libc::SYS_readlink,
    libc::SYS_readlinkat,
    libc::SYS_fcntl,
    libc::SYS_mmap,
    libc::SYS_munmap,
    libc::SYS_mremap,
    libc::SYS_mprotect,
    libc::SYS_brk,
    libc::SYS_madvise,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_rt_sigreturn,
    libc::SYS_sigaltstack,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_futex,
    libc::SYS_getrandom,
    libc::SYS_clock_gettime,
    libc::SYS_gettimeofday,
    libc::SYS_sched_getaffinity,
    libc::SYS_sched_yield,
    libc::SYS_getpid,
    libc::SYS_gettid,
    libc::SYS_getppid,
    libc::SYS_tgkill,
    libc::SYS_getuid,
    libc::SYS_geteuid,
    libc::SYS_getgid,
    libc::SYS_getegid,
    libc::SYS_getresuid,
    libc::SYS_getresgid,
    libc::SYS_getgroups,
    libc::SYS_capget,
    libc::SYS_prctl,
    libc::SYS_arch_prctl,
    libc::SYS_set_tid_address,
    libc::SYS_set_robust_list,
    libc::SYS_rseq,
    libc::SYS_uname,
    libc::SYS_getcwd,
    libc::SYS_seccomp,
    libc::SYS_execveat,
    libc::SYS_exit,
    libc::SYS_exit_group,
];

/// The analyzer's own filter: it never executes anything, not even itself again.
pub fn analyzer_no_exec() -> Program {
    Program::deny(&[libc::SYS_execve, libc::SYS_execveat])
}
