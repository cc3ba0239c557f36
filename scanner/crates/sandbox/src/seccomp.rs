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

/// Where a comparison of the search tree goes: an instruction of the tree (by index), or a return.
#[derive(Clone, Copy)]
enum Target {
    Local(usize),
    Match,
    NoMatch,
}

struct Compare {
    code: u16,
    k: u32,
    jt: Target,
    jf: Target,
}

/// Up to this many numbers are compared one by one; more are split in two by one `>=`.
const LEAF: usize = 4;

/// Comparisons that find the system call number among `sorted` numbers in about log2(n) steps rather
/// than n. The kernel runs every new filter once per system call number when it is installed (to cache
/// the constant answers, with interrupts off), so a linear list of 60 numbers cost each sandbox about
/// 60 µs; and every system call of the analyzer runs it too.
fn search_tree(sorted: &[u32]) -> Vec<Compare> {
    if sorted.len() <= LEAF {
        let last = sorted.len().saturating_sub(1);
        if sorted.is_empty() {
            return vec![Compare {
                code: BPF_JEQ_K,
                k: 0,
                jt: Target::NoMatch,
                jf: Target::NoMatch,
            }];
        }
        return sorted
            .iter()
            .enumerate()
            .map(|(i, &nr)| Compare {
                code: BPF_JEQ_K,
                k: nr,
                jt: Target::Match,
                jf: if i == last {
                    Target::NoMatch
                } else {
                    Target::Local(i + 1)
                },
            })
            .collect();
    }
    let (low, high) = sorted.split_at(sorted.len() / 2);
    let shift = |tree: Vec<Compare>, by: usize| {
        tree.into_iter().map(move |c| {
            let moved = |t| match t {
                Target::Local(i) => Target::Local(i + by),
                other => other,
            };
            Compare {
                jt: moved(c.jt),
                jf: moved(c.jf),
                ..c
            }
        })
    };
    let low = search_tree(low);
    let high = search_tree(high);
    let high_at = 1 + low.len();
    let mut tree = vec![Compare {
        code: BPF_JGE_K,
        k: sorted[sorted.len() / 2],
        jt: Target::Local(high_at),
        jf: Target::Local(1),
    }];
    let low_len = low.len();
    tree.extend(shift(low, 1));
    tree.extend(shift(high, 1 + low_len));
    tree
}

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
        let mut sorted: Vec<u32> = listed.iter().map(|&nr| nr as u32).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut p = vec![
            stmt(BPF_LD_W_ABS, OFFSET_ARCH),
            jump(BPF_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
            stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
            stmt(BPF_LD_W_ABS, OFFSET_NR),
            jump(BPF_JGE_K, X32_SYSCALL_BIT, 0, 1),
            stmt(BPF_RET_K, SECCOMP_RET_KILL_PROCESS),
        ];
        let tree = search_tree(&sorted);
        // The two returns follow the tree: `otherwise`, then `on_match`.
        let (no_match, matched) = (tree.len(), tree.len() + 1);
        for (at, insn) in tree.iter().enumerate() {
            let offset = |target: Target| -> u8 {
                let to = match target {
                    Target::Local(to) => to,
                    Target::Match => matched,
                    Target::NoMatch => no_match,
                };
                u8::try_from(to - at - 1).expect("the allow-list is short enough for 8-bit jumps")
            };
            p.push(jump(insn.code, insn.k, offset(insn.jt), offset(insn.jf)));
        }
        p.push(stmt(BPF_RET_K, otherwise));
        p.push(stmt(BPF_RET_K, on_match));
        Program { instructions: p }
    }

    /// The program's instructions (child 2 carries a copy: crate::spawn).
    pub(crate) fn instructions(&self) -> &[libc::sock_filter] {
        &self.instructions
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

/// Installs the `len` instructions at `filter` with the bare system call (no errno): the kernel's answer,
/// 0 or -errno. For child 2, which may touch nothing but its own stack.
///
/// # Safety
/// `filter` must point to `len` readable instructions.
pub(crate) unsafe fn install_raw(filter: *const libc::sock_filter, len: u16) -> crate::raw::Answer {
    let prog = libc::sock_fprog {
        len,
        filter: filter.cast_mut(),
    };
    // SAFETY: the caller's `filter` holds `len` instructions, alive for the call; the kernel copies them.
    unsafe {
        crate::raw::syscall3(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER as usize,
            0,
            &prog as *const libc::sock_fprog as usize,
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a program the way the kernel does (the instructions used here only) and counts the steps.
    fn run(p: &Program, arch: u32, nr: u32) -> (u32, usize) {
        let (mut acc, mut pc, mut steps) = (0u32, 0usize, 0usize);
        loop {
            let insn = p.instructions[pc];
            steps += 1;
            pc += 1;
            match insn.code {
                BPF_LD_W_ABS => acc = if insn.k == OFFSET_ARCH { arch } else { nr },
                BPF_RET_K => return (insn.k, steps),
                BPF_JEQ_K | BPF_JGE_K => {
                    let taken = if insn.code == BPF_JEQ_K {
                        acc == insn.k
                    } else {
                        acc >= insn.k
                    };
                    pc += usize::from(if taken { insn.jt } else { insn.jf });
                }
                code => panic!("unexpected instruction {code:#x}"),
            }
        }
    }

    #[test]
    fn the_allow_list_allows_exactly_its_calls_in_few_steps() {
        let p = Program::allow_only(ANALYZER_SYSCALLS);
        let refused = SECCOMP_RET_ERRNO | libc::EPERM as u32;
        let mut most_steps = 0;
        for nr in 0..1024u32 {
            let (answer, steps) = run(&p, AUDIT_ARCH_X86_64, nr);
            let listed = ANALYZER_SYSCALLS.contains(&libc::c_long::from(nr));
            assert_eq!(
                answer,
                if listed { SECCOMP_RET_ALLOW } else { refused },
                "{nr}"
            );
            most_steps = most_steps.max(steps);
        }
        // A list compared one by one takes as many steps as it has numbers.
        assert!(
            most_steps <= 16,
            "{most_steps} steps for {} calls",
            ANALYZER_SYSCALLS.len()
        );
        for nr in [0, libc::SYS_read as u32, X32_SYSCALL_BIT | 1] {
            assert_eq!(run(&p, 0x4000_0003, nr).0, SECCOMP_RET_KILL_PROCESS); // i386
        }
        assert_eq!(
            run(&p, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT).0,
            SECCOMP_RET_KILL_PROCESS
        );
    }

    #[test]
    fn the_deny_list_refuses_exactly_its_calls() {
        let p = analyzer_no_exec();
        for nr in 0..1024u32 {
            let denied = [libc::SYS_execve, libc::SYS_execveat].contains(&libc::c_long::from(nr));
            let expected = if denied {
                SECCOMP_RET_ERRNO | libc::EPERM as u32
            } else {
                SECCOMP_RET_ALLOW
            };
            assert_eq!(run(&p, AUDIT_ARCH_X86_64, nr).0, expected, "{nr}");
        }
        for list in [&[][..], &[7], &[1, 2, 3, 4, 5], &[9, 3, 3, 1]] {
            let p = Program::allow_only(list);
            for nr in 0..16u32 {
                let allowed = list.contains(&libc::c_long::from(nr));
                assert_eq!(
                    run(&p, AUDIT_ARCH_X86_64, nr).0 == SECCOMP_RET_ALLOW,
                    allowed,
                    "{list:?} {nr}"
                );
            }
        }
    }
}
