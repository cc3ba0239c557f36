//! Starting the analyzer inside a container, with the container's identity and nothing more.
//!
//! ```text
//! coordinator thread (non-dumpable since start-up) ── fork ──> child 1, outside the container's PID namespace:
//!     keep-list only (fds 0..5) → parent-death signal → setns(mnt, pid, net, ipc, uts, cgroup)
//!     → chroot to the workload's root → close the pidfd and the root → capability bounding and ambient
//!     sets → secure bits → groups → setresgid/setresuid to the workload's ids → non-dumpable again
//!     → clear capabilities → no_new_privs → parent-death signal again → fork
//!       └──> child 2, inside the container's PID namespace, born with its final credentials and fds 0..3:
//!            parent-death signal → rlimits → seccomp → execveat(the analyzer's memfd)
//! ```
//! Child 1 waits for child 2 and exits with its status, so the coordinator waits for and kills only its
//! own direct child; child 2 dies with child 1 (parent-death signal). A failing step exits with
//! [`SETUP_EXIT_BASE`] + the step's number, which [`describe_setup_failure`] names. Why the steps come in
//! this order: docs/security.md ("The sandbox's steps and their order").

use crate::process::pipe;
use crate::seccomp::Program;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::OnceLock;

/// Exit codes at and above this value report a failed sandbox step, not the analyzer's own exit.
pub const SETUP_EXIT_BASE: i32 = 200;

/// Descriptors of child 1 after its first step; child 2 inherits 0..=3 and the exec closes 3.
const FD_INPUT: libc::c_int = 0;
const FD_ANSWER: libc::c_int = 1;
const FD_STDERR: libc::c_int = 2;
const FD_EXEC: libc::c_int = 3;
const FD_PIDFD: libc::c_int = 4;
const FD_ROOT: libc::c_int = 5;
const KEPT_FDS: usize = 6;

/// The sandbox steps, in order; a failing step exits with [`SETUP_EXIT_BASE`] + its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Fds,
    JoinerParentDeath,
    Setns,
    Chroot,
    CloseTarget,
    BoundingSet,
    SecureBits,
    Groups,
    Setresgid,
    Setresuid,
    Dumpable,
    Capset,
    NoNewPrivs,
    JoinerParentDeathRenewed,
    Fork,
    AnalyzerParentDeath,
    Rlimit,
    Seccomp,
    Exec,
}

impl Step {
    pub const ALL: [Step; 19] = [
        Step::Fds,
        Step::JoinerParentDeath,
        Step::Setns,
        Step::Chroot,
        Step::CloseTarget,
        Step::BoundingSet,
        Step::SecureBits,
        Step::Groups,
        Step::Setresgid,
        Step::Setresuid,
        Step::Dumpable,
        Step::Capset,
        Step::NoNewPrivs,
        Step::JoinerParentDeathRenewed,
        Step::Fork,
        Step::AnalyzerParentDeath,
        Step::Rlimit,
        Step::Seccomp,
        Step::Exec,
    ];

    /// A short name (the test hook selects steps by it).
    pub fn name(self) -> &'static str {
        match self {
            Step::Fds => "fds",
            Step::JoinerParentDeath => "joiner-parent-death",
            Step::Setns => "setns",
            Step::Chroot => "chroot",
            Step::CloseTarget => "close-target",
            Step::BoundingSet => "bounding-set",
            Step::SecureBits => "secure-bits",
            Step::Groups => "groups",
            Step::Setresgid => "setresgid",
            Step::Setresuid => "setresuid",
            Step::Dumpable => "dumpable",
            Step::Capset => "capset",
            Step::NoNewPrivs => "no-new-privs",
            Step::JoinerParentDeathRenewed => "joiner-parent-death-renewed",
            Step::Fork => "fork",
            Step::AnalyzerParentDeath => "analyzer-parent-death",
            Step::Rlimit => "rlimit",
            Step::Seccomp => "seccomp",
            Step::Exec => "exec",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Step::Fds => "keeping only the sandbox's own file descriptors",
            Step::JoinerParentDeath => "parent-death signal of the namespace joiner",
            Step::Setns => "setns into the container's namespaces",
            Step::Chroot => "chroot into the workload's root",
            Step::CloseTarget => "closing the workload's pidfd and root",
            Step::BoundingSet => "dropping the capability bounding and ambient sets",
            Step::SecureBits => "setting secure bits",
            Step::Groups => "clearing supplementary groups",
            Step::Setresgid => "setresgid",
            Step::Setresuid => "setresuid",
            Step::Dumpable => "making the sandbox non-dumpable",
            Step::Capset => "clearing capabilities",
            Step::NoNewPrivs => "no_new_privs",
            Step::JoinerParentDeathRenewed => "renewing the namespace joiner's parent-death signal",
            Step::Fork => "fork inside the pid namespace",
            Step::AnalyzerParentDeath => "parent-death signal of the analyzer",
            Step::Rlimit => "setrlimit",
            Step::Seccomp => "installing the seccomp filter",
            Step::Exec => "execveat of the analyzer",
        }
    }

    /// Exits the child, telling the coordinator which step failed. Async-signal-safe.
    fn fail(self) -> ! {
        // SAFETY: _exit has no preconditions.
        unsafe { libc::_exit(SETUP_EXIT_BASE + self as i32) }
    }
}

/// Names the sandbox step that an exit code reports, if it is one.
pub fn describe_setup_failure(code: i32) -> Option<&'static str> {
    let step = usize::try_from(code.checked_sub(SETUP_EXIT_BASE)?).ok()?;
    Step::ALL.get(step).map(|s| s.describe())
}

/// The highest capability number of the running kernel, read once (`/proc/sys/kernel/cap_last_cap`);
/// 63 if unreadable (a capability the kernel does not know is never in a bounding set).
fn last_capability() -> u32 {
    static LAST: OnceLock<u32> = OnceLock::new();
    *LAST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .filter(|n| *n < 64)
            .unwrap_or(63)
    })
}

/// The capabilities in the calling thread's bounding set, one bit each. Read once per thread: a
/// bounding set only ever shrinks, so the first reading holds every capability still in it, and child 1
/// drops exactly those (dropping one that is gone meanwhile is a no-op). A coordinator that emptied its
/// bounding set at start-up ([`crate::identity::empty_bounding_set`]) leaves child 1 none to drop; each
/// drop is a credential change, about 2 to 3 µs.
fn bounding_set() -> u64 {
    thread_local! {
        static BOUNDING: u64 = (0..=last_capability())
            // SAFETY: PR_CAPBSET_READ only reads; it fails with EINVAL past the last capability.
            .filter(|cap| unsafe { libc::prctl(libc::PR_CAPBSET_READ, *cap as libc::c_ulong, 0, 0, 0) } == 1)
            .fold(0u64, |set, cap| set | (1 << cap));
    }
    BOUNDING.with(|b| *b)
}

/// What the test-only hook does after a step (`step-hook` feature; never in release builds).
#[cfg(any(test, feature = "step-hook"))]
#[derive(Clone, Copy)]
pub enum Hook {
    /// The child stops itself (SIGSTOP) right after this step; SIGCONT lets it go on.
    StopAfter(Step),
    /// The child runs this probe right after this step, then exits 0 (unit tests).
    ProbeAfter(Step, fn()),
}

#[cfg(feature = "step-hook")]
/// Environment variable naming the step after which the child stops (`step-hook` builds only).
pub const STOP_AT_STEP_ENV: &str = "SANDBOX_STOP_AT_STEP";

#[cfg(all(feature = "step-hook", not(test)))]
fn hook_from_env() -> io::Result<Option<Hook>> {
    let Ok(name) = std::env::var(STOP_AT_STEP_ENV) else {
        return Ok(None);
    };
    match Step::ALL.iter().find(|s| s.name() == name) {
        Some(step) => Ok(Some(Hook::StopAfter(*step))),
        None => {
            let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{STOP_AT_STEP_ENV}={name} is no step; steps: {}",
                    names.join(",")
                ),
            ))
        }
    }
}

/// Resource limits of the analyzer; a limit that is hit ends the analysis, never the coordinator.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub address_space_bytes: u64,
    pub cpu_seconds: u64,
    pub open_files: u64,
}

/// Everything the children need, prepared before `fork` so that they only make system calls.
pub struct SpawnPlan<'a> {
    /// The analyzer, as a sealed memfd (see [`crate::process::sealed_memfd_copy`]).
    pub exec_fd: BorrowedFd<'a>,
    /// Becomes the analyzer's stdin: what the coordinator observed of the workload process.
    pub input_fd: BorrowedFd<'a>,
    /// Becomes the analyzer's stderr (see [`crate::process::stderr_sink`]).
    pub stderr_fd: BorrowedFd<'a>,
    /// pidfd of the workload process: its namespaces are joined through it.
    pub target_pidfd: BorrowedFd<'a>,
    /// `/proc/<pid>/root` of the workload process, opened `O_PATH` before any namespace change.
    pub root_fd: BorrowedFd<'a>,
    pub uid: u32,
    pub gid: u32,
    pub limits: Limits,
    pub seccomp: &'a Program,
    argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
    rlimits: Vec<(RlimitResource, libc::rlimit)>,
    /// The bounding set child 1 inherits (see [`bounding_set`]).
    bounding: u64,
    #[cfg(any(test, feature = "step-hook"))]
    hook: Option<Hook>,
}

/// The type of `setrlimit`'s resource argument: glibc declares its own enum type, musl an int.
#[cfg(target_env = "gnu")]
pub(crate) type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
pub(crate) type RlimitResource = libc::c_int;

/// A started analyzer: the coordinator's direct child and the read end of its stdout.
#[derive(Debug)]
pub struct Running {
    pub pid: i32,
    pub stdout: File,
}

/// The namespaces child 1 joins: all of the workload's but its user namespace (the ids the coordinator
/// reads from `/proc` are the host's).
const NAMESPACES: libc::c_int = libc::CLONE_NEWNS
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWCGROUP;

/// uid 0 gains no capabilities on exec (NOROOT, locked). KEEP_CAPS keeps the permitted set across the
/// uid change, so that the child stays protected by its capabilities until it is non-dumpable again;
/// the capset step then empties every set, and exec clears KEEP_CAPS for good (it is locked).
const SECURE_BITS: libc::c_ulong = (1 << 0) | (1 << 1) | (1 << 4) | (1 << 5);

impl<'a> SpawnPlan<'a> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        exec_fd: BorrowedFd<'a>,
        input_fd: BorrowedFd<'a>,
        stderr_fd: BorrowedFd<'a>,
        target_pidfd: BorrowedFd<'a>,
        root_fd: BorrowedFd<'a>,
        uid: u32,
        gid: u32,
        limits: Limits,
        seccomp: &'a Program,
        args: &[&str],
    ) -> io::Result<SpawnPlan<'a>> {
        let argv = args
            .iter()
            .map(|a| {
                CString::new(*a)
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in argument"))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        argv_ptrs.push(std::ptr::null());
        let limit = |v: u64| libc::rlimit {
            rlim_cur: v,
            rlim_max: v,
        };
        let rlimits = vec![
            (libc::RLIMIT_AS, limit(limits.address_space_bytes)),
            (libc::RLIMIT_CPU, limit(limits.cpu_seconds)),
            (libc::RLIMIT_NOFILE, limit(limits.open_files)),
            (libc::RLIMIT_FSIZE, limit(0)),
            (libc::RLIMIT_CORE, limit(0)),
            (libc::RLIMIT_MEMLOCK, limit(0)),
        ];
        Ok(SpawnPlan {
            exec_fd,
            input_fd,
            stderr_fd,
            target_pidfd,
            root_fd,
            uid,
            gid,
            limits,
            seccomp,
            argv,
            argv_ptrs,
            // The analyzer gets an empty environment: nothing of the host leaks in.
            envp_ptrs: vec![std::ptr::null()],
            rlimits,
            bounding: bounding_set(),
            #[cfg(all(feature = "step-hook", not(test)))]
            hook: hook_from_env()?,
            #[cfg(test)]
            hook: None,
        })
    }

    /// Sets the test-only hook.
    #[cfg(any(test, feature = "step-hook"))]
    pub fn with_hook(mut self, hook: Option<Hook>) -> Self {
        self.hook = hook;
        self
    }

    /// Forks child 1 (see the module documentation) and returns once it runs.
    pub fn spawn(&self) -> io::Result<Running> {
        debug_assert_eq!(self.argv.len() + 1, self.argv_ptrs.len());
        let (read_end, write_end) = pipe()?;
        // Child 1's keep-list: where each descriptor is now, at the index it is to have.
        let mut keep = [-1; KEPT_FDS];
        keep[FD_INPUT as usize] = self.input_fd.as_raw_fd();
        keep[FD_ANSWER as usize] = write_end.as_raw_fd();
        keep[FD_STDERR as usize] = self.stderr_fd.as_raw_fd();
        keep[FD_EXEC as usize] = self.exec_fd.as_raw_fd();
        keep[FD_PIDFD as usize] = self.target_pidfd.as_raw_fd();
        keep[FD_ROOT as usize] = self.root_fd.as_raw_fd();
        // SAFETY: getpid has no preconditions.
        let coordinator = unsafe { libc::getpid() };
        // SAFETY: after fork the child only calls `namespace_joiner`, which makes async-signal-safe system
        // calls on data prepared above and never returns.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => self.namespace_joiner(coordinator, &keep),
            pid => {
                drop(write_end);
                Ok(Running {
                    pid,
                    stdout: File::from(read_end),
                })
            }
        }
    }

    /// The test-only hook after `step`; compiled out of release builds.
    #[inline(always)]
    fn after(&self, _step: Step) {
        #[cfg(any(test, feature = "step-hook"))]
        match self.hook {
            // SAFETY: raise (tgkill) and _exit are async-signal-safe.
            Some(Hook::StopAfter(s)) if s == _step => unsafe {
                libc::raise(libc::SIGSTOP);
            },
            Some(Hook::ProbeAfter(s, probe)) if s == _step => {
                probe();
                // SAFETY: as above.
                unsafe { libc::_exit(0) }
            }
            _ => {}
        }
    }

    /// Child 1. Never returns.
    fn namespace_joiner(&self, coordinator: libc::pid_t, keep: &[libc::c_int; KEPT_FDS]) -> ! {
        // SAFETY (whole function): raw system calls with integer arguments, pointers to static C strings
        // or to data prepared before fork.
        unsafe {
            // First of all: nothing but the keep-list, at fixed numbers. Whatever other threads of the
            // coordinator had open at the fork (another container's pidfd, root or answer pipe) is gone
            // before this process touches any namespace. Copies go above every source, then down.
            let above = keep
                .iter()
                .copied()
                .max()
                .unwrap_or(0)
                .max(KEPT_FDS as i32 - 1)
                + 1;
            let mut copies = [-1; KEPT_FDS];
            for (copy, fd) in copies.iter_mut().zip(keep) {
                *copy = libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, above);
                if *copy < 0 {
                    Step::Fds.fail();
                }
            }
            for (target, copy) in copies.iter().enumerate() {
                let target = target as libc::c_int;
                let flags = if target <= FD_STDERR {
                    0
                } else {
                    libc::O_CLOEXEC
                };
                if libc::dup3(*copy, target, flags) != target {
                    Step::Fds.fail();
                }
            }
            if libc::syscall(libc::SYS_close_range, KEPT_FDS as u32, u32::MAX, 0u32) != 0 {
                Step::Fds.fail();
            }
            self.after(Step::Fds);
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                || libc::getppid() != coordinator
            {
                Step::JoinerParentDeath.fail();
            }
            self.after(Step::JoinerParentDeath);
            if libc::setns(FD_PIDFD, NAMESPACES) != 0 {
                Step::Setns.fail();
            }
            self.after(Step::Setns);
            // The mount namespace's root may not be the workload's root (a runtime that uses chroot), so
            // enter the root the workload itself sees.
            if libc::fchdir(FD_ROOT) != 0
                || libc::chroot(c".".as_ptr()) != 0
                || libc::chdir(c"/".as_ptr()) != 0
            {
                Step::Chroot.fail();
            }
            self.after(Step::Chroot);
            if libc::syscall(libc::SYS_close_range, FD_PIDFD as u32, FD_ROOT as u32, 0u32) != 0 {
                Step::CloseTarget.fail();
            }
            self.after(Step::CloseTarget);
            // Capabilities, while CAP_SETPCAP is still effective.
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            );
            for cap in 0..64u32 {
                if self.bounding & (1 << cap) != 0
                    && libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0
                {
                    Step::BoundingSet.fail();
                }
            }
            self.after(Step::BoundingSet);
            if libc::prctl(libc::PR_SET_SECUREBITS, SECURE_BITS, 0, 0, 0) != 0 {
                Step::SecureBits.fail();
            }
            self.after(Step::SecureBits);
            if libc::setgroups(0, std::ptr::null()) != 0 {
                Step::Groups.fail();
            }
            self.after(Step::Groups);
            if libc::setresgid(self.gid, self.gid, self.gid) != 0 {
                Step::Setresgid.fail();
            }
            self.after(Step::Setresgid);
            if libc::setresuid(self.uid, self.uid, self.uid) != 0 {
                Step::Setresuid.fail();
            }
            self.after(Step::Setresuid);
            // A change of uid or gid resets dumpability to fs.suid_dumpable, which may be 1.
            if libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 {
                Step::Dumpable.fail();
            }
            self.after(Step::Dumpable);
            #[repr(C)]
            struct CapHeader {
                version: u32,
                pid: libc::c_int,
            }
            let header = CapHeader {
                version: 0x2008_0522,
                pid: 0,
            };
            let empty = [0u32; 6];
            if libc::syscall(
                libc::SYS_capset,
                &header as *const CapHeader,
                empty.as_ptr(),
            ) != 0
            {
                Step::Capset.fail();
            }
            self.after(Step::Capset);
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                Step::NoNewPrivs.fail();
            }
            self.after(Step::NoNewPrivs);
            // The uid change cleared the parent-death signal; if the coordinator died meanwhile, we were
            // reparented and getppid() changed.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                || libc::getppid() != coordinator
            {
                Step::JoinerParentDeathRenewed.fail();
            }
            self.after(Step::JoinerParentDeathRenewed);
            let joiner = libc::getpid();
            let analyzer = libc::fork();
            if analyzer == -1 {
                Step::Fork.fail();
            }
            if analyzer == 0 {
                self.analyzer_child(joiner);
            }
            // Only child 2 may hold the answer pipe, so the coordinator sees EOF when it ends.
            libc::syscall(libc::SYS_close_range, 0u32, u32::MAX, 0u32);
            let mut status = 0;
            while libc::waitpid(analyzer, &mut status, 0) == -1 {
                if *libc::__errno_location() != libc::EINTR {
                    libc::_exit(127);
                }
            }
            if libc::WIFSIGNALED(status) {
                // Re-raise nothing: report the signal the way a shell does.
                libc::_exit(128 + libc::WTERMSIG(status));
            }
            libc::_exit(libc::WEXITSTATUS(status));
        }
    }

    /// Child 2, inside the container's PID namespace, with its final credentials and fds 0..=3 (3 closes
    /// on exec). `joiner` is child 1's PID in its own namespace. Never returns.
    fn analyzer_child(&self, joiner: libc::pid_t) -> ! {
        self.after(Step::Fork);
        // SAFETY (whole function): raw system calls on prepared data; see the module documentation.
        unsafe {
            // The parent is outside the container's PID namespace (getppid() is 0 there) or, when the
            // workload shares the joiner's namespace, the joiner itself; anything else means the joiner
            // died before the signal was set and we were reparented.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                Step::AnalyzerParentDeath.fail();
            }
            let parent = libc::getppid();
            if parent != 0 && parent != joiner {
                Step::AnalyzerParentDeath.fail();
            }
            self.after(Step::AnalyzerParentDeath);
            for (resource, limit) in &self.rlimits {
                if libc::setrlimit(*resource, limit) != 0 {
                    Step::Rlimit.fail();
                }
            }
            self.after(Step::Rlimit);
            if self.seccomp.install().is_err() {
                Step::Seccomp.fail();
            }
            self.after(Step::Seccomp);
            libc::syscall(
                libc::SYS_execveat,
                FD_EXEC,
                c"".as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
                libc::AT_EMPTY_PATH,
            );
            Step::Exec.fail();
        }
    }
}
