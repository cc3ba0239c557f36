//! Starting the analyzer inside a container, with the container's identity and nothing more.
//!
//! ```text
//! coordinator thread (non-dumpable since start-up, every signal blocked for the moment)
//!   ── clone(CLONE_VM) ──> child 1, in the coordinator's memory on a stack of its own (a fork when
//!       fs.suid_dumpable is 1), outside the container's PID namespace:
//!     keep-list only (fds 0..5) → parent-death signal → setns(mnt, pid, net, ipc, uts, cgroup)
//!     → chroot to the workload's root → close the pidfd and the root → capability bounding and ambient
//!     sets → secure bits → groups → setresgid/setresuid to the workload's ids → non-dumpable again
//!     → clear capabilities → no_new_privs → parent-death signal again → fork
//!       └──> child 2, in memory of its own (a copy), inside the container's PID namespace, born with its
//!            final credentials and fds 0..3: the coordinator's signal mask → parent-death signal
//!            → rlimits → seccomp → execveat(the analyzer's memfd)
//! ```
//! Child 2 reads one self-contained record (`AnalyzerStart`: arguments, rlimits, the seccomp program)
//! that child 1 carries on its stack, so the coordinator may leave its heaps out of child 2's copy
//! ([`crate::child_copy`]), which saves their copy and tear-down per container.
//! Child 1 waits for child 2 and exits with its status, so the coordinator waits for and kills only its
//! own direct child; child 2 dies with child 1 (parent-death signal). A failing step exits with
//! [`SETUP_EXIT_BASE`] + the step's number, which [`describe_setup_failure`] names. Why the steps come in
//! this order, and why child 1 may share the coordinator's memory: docs/security.md ("The sandbox's
//! steps and their order"). Sharing saves a copy and a teardown of the coordinator's memory per
//! container (about 0.3 ms of CPU in a VM, docs/benchmarks.md); it is why child 1 makes its system
//! calls through the `raw` module only.

use crate::process::pipe;
use crate::raw;
use crate::seccomp::Program;
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
        raw::exit(SETUP_EXIT_BASE + self as i32)
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

/// Whether child 1 may run in the coordinator's memory (`clone` with `CLONE_VM`, no copy of the
/// coordinator's memory to make and tear down) rather than in a copy of it (`fork`). Each uid or gid
/// change of a child 1 resets the dumpability of the memory it runs in to `fs.suid_dumpable`; with
/// shared memory that is the coordinator's, and every other child 1 running in it. 0 and 2 keep it out
/// of reach of unprivileged processes (2 means root-only dumps, and ptrace then needs `CAP_SYS_PTRACE`);
/// 1 would make it briefly reachable by a process of the workload's uid, so then child 1 is a fork, as
/// is it when the sysctl is unreadable. Read once: only the node's root can change it.
pub(crate) fn joiner_may_share_memory() -> bool {
    static SHARE: OnceLock<bool> = OnceLock::new();
    *SHARE.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/fs/suid_dumpable")
            .is_ok_and(|s| matches!(s.trim(), "0" | "2"))
    })
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
    /// What child 2 reads (the seccomp program among it), copied into each child 1's start record (see
    /// [`AnalyzerStart`]); child 1 reads the test-only hook here.
    analyzer: AnalyzerStart,
    /// The bounding set child 1 inherits (see [`bounding_set`]).
    bounding: u64,
    /// Whether child 1 runs in the coordinator's memory (see [`joiner_may_share_memory`]).
    share_memory: bool,
}

/// The type of `setrlimit`'s resource argument: glibc declares its own enum type, musl an int.
#[cfg(target_env = "gnu")]
pub(crate) type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(target_env = "gnu"))]
pub(crate) type RlimitResource = libc::c_int;

/// A started analyzer: the coordinator's direct child (child 1) and the read end of its stdout. Child 1
/// may run on a stack this owns and read the plan this borrows, so dropping it unwaited kills and reaps
/// the child first.
pub struct Running<'p> {
    /// Only this handle kills and reaps it (a reaped PID may be recycled).
    pid: i32,
    pub stdout: File,
    stack: Option<Stack>,
    reaped: bool,
    _plan: std::marker::PhantomData<&'p ()>,
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
        let limit = |v: u64| libc::rlimit {
            rlim_cur: v,
            rlim_max: v,
        };
        let rlimits = [
            (libc::RLIMIT_AS, limit(limits.address_space_bytes)),
            (libc::RLIMIT_CPU, limit(limits.cpu_seconds)),
            (libc::RLIMIT_NOFILE, limit(limits.open_files)),
            (libc::RLIMIT_FSIZE, limit(0)),
            (libc::RLIMIT_CORE, limit(0)),
            (libc::RLIMIT_MEMLOCK, limit(0)),
        ];
        let analyzer = AnalyzerStart::new(args, seccomp, rlimits)?;
        #[cfg(all(feature = "step-hook", not(test)))]
        let analyzer = AnalyzerStart {
            hook: hook_from_env()?,
            ..analyzer
        };
        Ok(SpawnPlan {
            exec_fd,
            input_fd,
            stderr_fd,
            target_pidfd,
            root_fd,
            uid,
            gid,
            limits,
            analyzer,
            bounding: bounding_set(),
            share_memory: joiner_may_share_memory(),
        })
    }

    /// Makes child 1 a fork (false) or a process in the coordinator's memory (true), whatever
    /// `fs.suid_dumpable` says (tests of both ways).
    #[cfg(test)]
    pub fn with_shared_memory(mut self, share: bool) -> Self {
        self.share_memory = share;
        self
    }

    /// Sets the test-only hook.
    #[cfg(any(test, feature = "step-hook"))]
    pub fn with_hook(mut self, hook: Option<Hook>) -> Self {
        self.analyzer.hook = hook;
        self
    }

    /// Starts child 1 (see the module documentation) and returns once it runs.
    pub fn spawn(&self) -> io::Result<Running<'_>> {
        let (read_end, write_end) = pipe()?;
        // Child 1's keep-list: where each descriptor is now, at the index it is to have.
        let mut keep = [-1; KEPT_FDS];
        keep[FD_INPUT as usize] = self.input_fd.as_raw_fd();
        keep[FD_ANSWER as usize] = write_end.as_raw_fd();
        keep[FD_STDERR as usize] = self.stderr_fd.as_raw_fd();
        keep[FD_EXEC as usize] = self.exec_fd.as_raw_fd();
        keep[FD_PIDFD as usize] = self.target_pidfd.as_raw_fd();
        keep[FD_ROOT as usize] = self.root_fd.as_raw_fd();
        let mut start = JoinerStart {
            plan: (self as *const SpawnPlan<'_>).cast(),
            // SAFETY: getpid has no preconditions.
            coordinator: unsafe { libc::getpid() },
            keep,
            signal_mask: 0,
            analyzer_usage: std::ptr::null_mut(),
            analyzer: self.analyzer,
        };
        let stack = if self.share_memory {
            Some(Stack::take()?)
        } else {
            None
        };
        // Child 1 starts with every signal blocked, so that no handler of the coordinator ever runs in it
        // (in shared memory a handler would run on the coordinator's data); child 2 restores the mask.
        let blocked = raw::sigprocmask(libc::SIG_BLOCK, &!0, Some(&mut start.signal_mask));
        if blocked < 0 {
            return Err(io::Error::from_raw_os_error(-blocked as i32));
        }
        let child = match &stack {
            Some(stack) => {
                // The start record goes at the top of child 1's stack, which outlives child 1 (Running
                // owns it until child 1 is reaped); child 1's frames grow down from below it.
                start.analyzer_usage = stack.analyzer_usage();
                let at =
                    (stack.analyzer_usage() as usize - std::mem::size_of::<JoinerStart>()) & !63;
                let at = at as *mut JoinerStart;
                // SAFETY: `at` is 64-byte aligned, inside the mapping, and nothing else uses it; the child
                // is started on the stack below it, runs `joiner_entry` only, and the plan it reads is
                // borrowed by the returned Running, which reaps the child before the borrow ends.
                unsafe {
                    start.analyzer_usage.write(std::mem::zeroed());
                    at.write(start);
                    raw::clone_vm(at.cast(), joiner_entry, at.cast::<u8>().cast_const())
                }
            }
            // SAFETY: the child only calls `namespace_joiner`, which makes raw system calls on data
            // prepared above and never returns.
            None => match unsafe { raw::fork() } {
                0 => self.namespace_joiner(&start),
                pid => pid,
            },
        };
        // This thread's mask, as it was before the block above.
        raw::sigprocmask(libc::SIG_SETMASK, &start.signal_mask, None);
        if child < 0 {
            return Err(io::Error::from_raw_os_error(-child as i32));
        }
        drop(write_end);
        Ok(Running {
            pid: child as i32,
            stdout: File::from(read_end),
            stack,
            reaped: false,
            _plan: std::marker::PhantomData,
        })
    }

    /// The test-only hook after a step of child 1, compiled out of release builds. The probe uses libc
    /// (errno), so it runs in a forked copy of child 1, in memory of its own.
    #[inline(always)]
    fn after_in_joiner(&self, _step: Step) {
        #[cfg(any(test, feature = "step-hook"))]
        match self.analyzer.hook {
            Some(Hook::StopAfter(s)) if s == _step => stop_self(),
            Some(Hook::ProbeAfter(s, probe)) if s == _step => {
                // SAFETY: fork, then the copy runs the probe and exits; this process waits for it.
                unsafe {
                    if raw::fork() == 0 {
                        probe();
                        raw::exit(0);
                    }
                }
                let status = wait_for_any_child(std::ptr::null_mut());
                raw::exit(if status == Some(0) { 0 } else { 1 });
            }
            _ => {}
        }
    }

    /// Child 1. Never returns. When it shares the coordinator's memory it may only make system calls
    /// through [`raw`], read the plan and `start`, and write its own stack: no allocation, no libc call
    /// (errno and libc's state belong to the coordinator's threads), no lock, nothing that can panic.
    fn namespace_joiner(&self, start: &JoinerStart) -> ! {
        let keep = &start.keep;
        let coordinator = start.coordinator;
        let ok = |answer: raw::Answer| answer >= 0;
        // SAFETY (whole function): raw system calls with integer arguments, pointers to static C strings,
        // to this function's locals or to data prepared before the child started.
        unsafe {
            // First of all: nothing but the keep-list, at fixed numbers. Whatever other threads of the
            // coordinator had open at the clone (another container's pidfd, root or answer pipe) is gone
            // before this process touches any namespace. Copies go above every source, then down.
            let mut above = KEPT_FDS as libc::c_int;
            for fd in keep {
                above = above.max(fd.saturating_add(1));
            }
            let mut copies = [-1; KEPT_FDS];
            for (copy, fd) in copies.iter_mut().zip(keep) {
                let dup = raw::syscall3(
                    libc::SYS_fcntl,
                    *fd as usize,
                    libc::F_DUPFD_CLOEXEC as usize,
                    above as usize,
                );
                if dup < 0 {
                    Step::Fds.fail();
                }
                *copy = dup as libc::c_int;
            }
            for (target, copy) in copies.iter().enumerate() {
                let flags = if target <= FD_STDERR as usize {
                    0
                } else {
                    libc::O_CLOEXEC as usize
                };
                if raw::syscall3(libc::SYS_dup3, *copy as usize, target, flags) != target as isize {
                    Step::Fds.fail();
                }
            }
            if !ok(raw::syscall3(
                libc::SYS_close_range,
                KEPT_FDS,
                u32::MAX as usize,
                0,
            )) {
                Step::Fds.fail();
            }
            self.after_in_joiner(Step::Fds);
            if !ok(raw::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as usize))
                || raw::syscall0(libc::SYS_getppid) != coordinator as isize
            {
                Step::JoinerParentDeath.fail();
            }
            self.after_in_joiner(Step::JoinerParentDeath);
            if !ok(raw::syscall2(
                libc::SYS_setns,
                FD_PIDFD as usize,
                NAMESPACES as usize,
            )) {
                Step::Setns.fail();
            }
            self.after_in_joiner(Step::Setns);
            // The mount namespace's root may not be the workload's root (a runtime that uses chroot), so
            // enter the root the workload itself sees.
            if !ok(raw::syscall1(libc::SYS_fchdir, FD_ROOT as usize))
                || !ok(raw::syscall1(libc::SYS_chroot, c".".as_ptr() as usize))
                || !ok(raw::syscall1(libc::SYS_chdir, c"/".as_ptr() as usize))
            {
                Step::Chroot.fail();
            }
            self.after_in_joiner(Step::Chroot);
            if !ok(raw::syscall3(
                libc::SYS_close_range,
                FD_PIDFD as usize,
                FD_ROOT as usize,
                0,
            )) {
                Step::CloseTarget.fail();
            }
            self.after_in_joiner(Step::CloseTarget);
            // Capabilities, while CAP_SETPCAP is still effective.
            raw::syscall(
                libc::SYS_prctl,
                [
                    libc::PR_CAP_AMBIENT as usize,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL as usize,
                    0,
                    0,
                    0,
                    0,
                ],
            );
            for cap in 0..64u32 {
                if self.bounding & (1 << cap) != 0
                    && !ok(raw::prctl(libc::PR_CAPBSET_DROP, cap as usize))
                {
                    Step::BoundingSet.fail();
                }
            }
            self.after_in_joiner(Step::BoundingSet);
            if !ok(raw::prctl(libc::PR_SET_SECUREBITS, SECURE_BITS as usize)) {
                Step::SecureBits.fail();
            }
            self.after_in_joiner(Step::SecureBits);
            // The system calls themselves: libc's setgroups, setresgid and setresuid would change the ids
            // of every thread of the coordinator.
            if !ok(raw::syscall2(libc::SYS_setgroups, 0, 0)) {
                Step::Groups.fail();
            }
            self.after_in_joiner(Step::Groups);
            let gid = self.gid as usize;
            if !ok(raw::syscall3(libc::SYS_setresgid, gid, gid, gid)) {
                Step::Setresgid.fail();
            }
            self.after_in_joiner(Step::Setresgid);
            let uid = self.uid as usize;
            if !ok(raw::syscall3(libc::SYS_setresuid, uid, uid, uid)) {
                Step::Setresuid.fail();
            }
            self.after_in_joiner(Step::Setresuid);
            // A change of uid or gid resets dumpability to fs.suid_dumpable, which may be 1.
            if !ok(raw::prctl(libc::PR_SET_DUMPABLE, 0)) {
                Step::Dumpable.fail();
            }
            self.after_in_joiner(Step::Dumpable);
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
            if !ok(raw::syscall2(
                libc::SYS_capset,
                &header as *const CapHeader as usize,
                empty.as_ptr() as usize,
            )) {
                Step::Capset.fail();
            }
            self.after_in_joiner(Step::Capset);
            if !ok(raw::prctl(libc::PR_SET_NO_NEW_PRIVS, 1)) {
                Step::NoNewPrivs.fail();
            }
            self.after_in_joiner(Step::NoNewPrivs);
            // The uid change cleared the parent-death signal; if the coordinator died meanwhile, we were
            // reparented and getppid() changed.
            if !ok(raw::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as usize))
                || raw::syscall0(libc::SYS_getppid) != coordinator as isize
            {
                Step::JoinerParentDeathRenewed.fail();
            }
            self.after_in_joiner(Step::JoinerParentDeathRenewed);
            let joiner = raw::syscall0(libc::SYS_getpid) as libc::pid_t;
            // A real fork: child 2 gets memory of its own, a copy, never the coordinator's.
            let analyzer = raw::fork();
            if analyzer < 0 {
                Step::Fork.fail();
            }
            if analyzer == 0 {
                // Child 2 reads only the record in `start`: on child 1's stack when child 1 shares the
                // coordinator's memory, the one mapping of it that child 2 surely has (crate::child_copy).
                start.analyzer.run(joiner, start.signal_mask);
            }
            // Only child 2 may hold the answer pipe, so the coordinator sees EOF when it ends.
            raw::syscall3(libc::SYS_close_range, 0, u32::MAX as usize, 0);
            match wait_for_any_child(start.analyzer_usage) {
                Some(code) => raw::exit(code),
                None => raw::exit(127),
            }
        }
    }
}

#[derive(Clone, Copy)]
/// What child 1 starts from; when it shares the coordinator's memory, this lies at the top of its stack.
struct JoinerStart {
    /// The [`SpawnPlan`] (borrowed by the [`Running`] that reaps the child).
    plan: *const (),
    coordinator: libc::pid_t,
    keep: [libc::c_int; KEPT_FDS],
    /// The coordinator thread's signal mask, for child 2 to restore.
    signal_mask: u64,
    /// Where child 1 leaves what child 2 used, when it shares the coordinator's memory (null otherwise):
    /// a slot at the top of its stack that the coordinator reads once child 1 is reaped.
    analyzer_usage: *mut libc::rusage,
    /// Everything child 2 reads, here so that it reads nothing outside child 1's stack.
    analyzer: AnalyzerStart,
}

/// The most instructions of a seccomp program child 2 can carry: the analyzer's allow-list has about 130, and
/// the builder's 8-bit jumps keep any program under about 270 (a test builds the longest).
const FILTER_CAPACITY: usize = 512;
/// The most analyzer arguments, and their bytes with a NUL after each.
const MAX_ARGS: usize = 16;
const ARGS_CAPACITY: usize = 1024;
/// The resource limits child 2 sets (see [`SpawnPlan::new`]).
const RLIMITS: usize = 6;

/// What child 2 reads, as one self-contained value: no pointer into the coordinator's memory, so that
/// child 2 needs nothing of it but child 1's stack, where this is copied (see [`crate::child_copy`]).
#[derive(Clone, Copy)]
struct AnalyzerStart {
    rlimits: [(RlimitResource, libc::rlimit); RLIMITS],
    filter: [libc::sock_filter; FILTER_CAPACITY],
    filter_len: u16,
    /// The analyzer's arguments, each followed by a NUL, and where each starts.
    args: [u8; ARGS_CAPACITY],
    arg_starts: [u16; MAX_ARGS],
    argc: usize,
    /// What the test-only hook does, after a step of either child.
    #[cfg(any(test, feature = "step-hook"))]
    hook: Option<Hook>,
}

impl AnalyzerStart {
    fn new(
        args: &[&str],
        seccomp: &Program,
        rlimits: [(RlimitResource, libc::rlimit); RLIMITS],
    ) -> io::Result<AnalyzerStart> {
        let invalid = |what: String| io::Error::new(io::ErrorKind::InvalidInput, what);
        let instructions = seccomp.instructions();
        if instructions.len() > FILTER_CAPACITY {
            return Err(invalid(format!(
                "the seccomp program has {} instructions, more than the sandbox carries ({FILTER_CAPACITY})",
                instructions.len()
            )));
        }
        let bytes: usize = args.iter().map(|a| a.len() + 1).sum();
        if args.len() > MAX_ARGS || bytes > ARGS_CAPACITY {
            return Err(invalid(format!(
                "the analyzer's arguments exceed what the sandbox carries ({MAX_ARGS} arguments, {ARGS_CAPACITY} bytes)"
            )));
        }
        let empty = libc::sock_filter {
            code: 0,
            jt: 0,
            jf: 0,
            k: 0,
        };
        let mut start = AnalyzerStart {
            rlimits,
            filter: [empty; FILTER_CAPACITY],
            filter_len: instructions.len() as u16,
            args: [0; ARGS_CAPACITY],
            arg_starts: [0; MAX_ARGS],
            argc: args.len(),
            #[cfg(any(test, feature = "step-hook"))]
            hook: None,
        };
        start.filter[..instructions.len()].copy_from_slice(instructions);
        let mut at = 0;
        for (arg, first) in args.iter().zip(start.arg_starts.iter_mut()) {
            if arg.as_bytes().contains(&0) {
                return Err(invalid("NUL in argument".into()));
            }
            *first = at as u16;
            start.args[at..at + arg.len()].copy_from_slice(arg.as_bytes());
            at += arg.len() + 1;
        }
        Ok(start)
    }

    /// The test-only hook after a step of child 2, compiled out of release builds.
    #[inline(always)]
    fn after(&self, _step: Step) {
        #[cfg(any(test, feature = "step-hook"))]
        match self.hook {
            Some(Hook::StopAfter(s)) if s == _step => stop_self(),
            Some(Hook::ProbeAfter(s, probe)) if s == _step => {
                probe();
                raw::exit(0);
            }
            _ => {}
        }
    }

    /// Child 2, inside the container's PID namespace, with its final credentials and fds 0..=3 (3 closes
    /// on exec), in memory of its own. `joiner` is child 1's PID in its own namespace, `signal_mask` the
    /// coordinator thread's. Reads only `self` and its own stack; never returns.
    fn run(&self, joiner: libc::pid_t, signal_mask: u64) -> ! {
        // Built here, on this process's own stack: pointers into `self`, which lies on it too.
        let mut argv = [std::ptr::null::<libc::c_char>(); MAX_ARGS + 1];
        for (slot, first) in argv.iter_mut().zip(&self.arg_starts).take(self.argc) {
            *slot = self.args.as_ptr().wrapping_add(usize::from(*first)).cast();
        }
        // An empty environment: nothing of the host leaks in.
        let envp = [std::ptr::null::<libc::c_char>()];
        // SAFETY (whole function): raw system calls on data in `self` and on this stack; see the module
        // documentation.
        unsafe {
            raw::sigprocmask(libc::SIG_SETMASK, &signal_mask, None);
            self.after(Step::Fork);
            // The parent is outside the container's PID namespace (getppid() is 0 there) or, when the
            // workload shares the joiner's namespace, the joiner itself; anything else means the joiner
            // died before the signal was set and we were reparented.
            if raw::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as usize) < 0 {
                Step::AnalyzerParentDeath.fail();
            }
            let parent = raw::syscall0(libc::SYS_getppid);
            if parent != 0 && parent != joiner as isize {
                Step::AnalyzerParentDeath.fail();
            }
            self.after(Step::AnalyzerParentDeath);
            for (resource, limit) in &self.rlimits {
                if raw::syscall4(
                    libc::SYS_prlimit64,
                    0,
                    *resource as usize,
                    limit as *const libc::rlimit as usize,
                    0,
                ) < 0
                {
                    Step::Rlimit.fail();
                }
            }
            self.after(Step::Rlimit);
            if crate::seccomp::install_raw(self.filter.as_ptr(), self.filter_len) < 0 {
                Step::Seccomp.fail();
            }
            self.after(Step::Seccomp);
            raw::syscall(
                libc::SYS_execveat,
                [
                    FD_EXEC as usize,
                    c"".as_ptr() as usize,
                    argv.as_ptr() as usize,
                    envp.as_ptr() as usize,
                    libc::AT_EMPTY_PATH as usize,
                    0,
                ],
            );
            Step::Exec.fail();
        }
    }
}

/// Child 1's first instruction when it shares the coordinator's memory.
extern "C" fn joiner_entry(start: *const u8) -> ! {
    // SAFETY: `spawn` wrote a JoinerStart there, on this child's own stack, and the plan it points to is
    // borrowed by the Running that reaps this child: both outlive it.
    let start = unsafe { &*start.cast::<JoinerStart>() };
    // SAFETY: as above.
    let plan = unsafe { &*start.plan.cast::<SpawnPlan<'_>>() };
    plan.namespace_joiner(start)
}

/// Waits for any child of the calling process (child 1 has one at a time) with the bare system call,
/// retrying on EINTR, and writes what it used to `usage` unless that is null; its exit code, or 128 + the
/// signal that killed it, the way a shell reports it.
fn wait_for_any_child(usage: *mut libc::rusage) -> Option<i32> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: wait4 writes the status into a local and the usage into `usage`, null or the slot
        // `spawn` reserved for it on this child's stack.
        let r = unsafe {
            raw::syscall4(
                libc::SYS_wait4,
                -1isize as usize,
                &mut status as *mut libc::c_int as usize,
                libc::__WALL as usize,
                usage as usize,
            )
        };
        if r > 0 {
            break;
        }
        if r != -(libc::EINTR as isize) {
            return None;
        }
    }
    if libc::WIFSIGNALED(status) {
        Some(128 + libc::WTERMSIG(status))
    } else {
        Some(libc::WEXITSTATUS(status))
    }
}

/// Stops the calling process (test hook) with bare system calls, libc's `raise` being off limits in
/// child 1; `tgkill`, as `raise` does, since the seccomp allow-list has it and not `kill`.
#[cfg(any(test, feature = "step-hook"))]
fn stop_self() {
    // SAFETY: integer arguments only.
    unsafe {
        let process = raw::syscall0(libc::SYS_getpid);
        let thread = raw::syscall0(libc::SYS_gettid);
        raw::syscall3(
            libc::SYS_tgkill,
            process as usize,
            thread as usize,
            libc::SIGSTOP as usize,
        );
    }
}

/// Child 1's stack when it shares the coordinator's memory: an anonymous mapping with a guard page below
/// it. A coordinator thread keeps the last one for its next spawn (see [`Running`]).
struct Stack {
    base: *mut libc::c_void,
}

pub(crate) const STACK_BYTES: usize = 128 << 10;
const STACK_GUARD_BYTES: usize = 4096;

thread_local! {
    static SPARE_STACK: std::cell::Cell<Option<Stack>> = const { std::cell::Cell::new(None) };
}

impl Stack {
    fn take() -> io::Result<Stack> {
        if let Some(stack) = SPARE_STACK.with(|s| s.take()) {
            return Ok(stack);
        }
        let stack = Stack {
            base: crate::child_copy::map_stack()?,
        };
        // SAFETY: the lowest page of the mapping just made; an overflow faults there instead of running
        // into the coordinator's memory below.
        if unsafe { libc::mprotect(stack.base, STACK_GUARD_BYTES, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The slot where child 1 leaves child 2's usage: the top of the stack, 64-byte aligned.
    fn analyzer_usage(&self) -> *mut libc::rusage {
        let top = self.base as usize + STACK_BYTES;
        ((top - std::mem::size_of::<libc::rusage>()) & !63) as *mut libc::rusage
    }

    /// What child 2 used, as child 1 left it (zero if child 2 never ran). Only once child 1 is reaped.
    fn read_analyzer_usage(&self) -> libc::rusage {
        // SAFETY: the slot is inside our mapping, initialised by `spawn`, and child 1, the only other
        // writer, has been reaped.
        unsafe { self.analyzer_usage().read() }
    }

    /// Keeps the stack for this thread's next spawn. Only for a stack whose child has been reaped.
    fn recycle(self) {
        SPARE_STACK.with(|s| s.set(Some(self)));
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        // SAFETY: our own mapping, which no live child uses (a Stack is dropped only once its child
        // has been reaped, or never started).
        unsafe { crate::child_copy::unmap_stack(self.base) };
    }
}

impl Running<'_> {
    /// Child 1's PID.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Sends SIGKILL to child 1 (child 2 follows it by its parent-death signal).
    pub fn kill(&self) {
        if !self.reaped {
            crate::process::kill(self.pid);
        }
    }

    /// Waits for child 1 and reaps it, with what it and child 2 used: CPU time of both; peak memory
    /// of the analyzer (child 2) alone when child 1 ran in the coordinator's memory (its own peak would
    /// be the coordinator's), else the larger of the two.
    pub fn wait(mut self) -> io::Result<(crate::process::Exit, crate::process::Usage)> {
        let (exit, mut usage) = crate::process::wait(self.pid)?;
        self.reaped = true;
        if let Some(stack) = &self.stack {
            usage.max_rss_kb = stack.read_analyzer_usage().ru_maxrss.max(0) as u64;
        }
        Ok((exit, usage))
    }
}

impl Drop for Running<'_> {
    /// A child not waited for is killed and reaped here: its stack, and the plan it reads, must outlive it.
    fn drop(&mut self) {
        if !self.reaped {
            crate::process::kill(self.pid);
            loop {
                match crate::process::wait(self.pid) {
                    Ok(_) => break,
                    Err(e) if e.raw_os_error() == Some(libc::ECHILD) => break,
                    Err(_) => {}
                }
            }
        }
        if let Some(stack) = self.stack.take() {
            stack.recycle();
        }
    }
}
