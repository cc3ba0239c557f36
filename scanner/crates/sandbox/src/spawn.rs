//! Starting the analyzer inside a container, with the container's identity and nothing more.
//!
//! ```text
//! coordinator thread ── fork ──> child 1: setns(mnt+pid of the workload) → chroot to its root → fork
//!                                  └──> child 2 (inside the container's PID namespace):
//!                                       drop every capability (bounding, ambient, securebits) → clear groups
//!                                       → setresgid/setresuid to the workload's ids → no_new_privs
//!                                       → parent-death signal → rlimits → fds 0..3 only → seccomp
//!                                       → execveat(sealed memfd copy of the analyzer)
//! ```
//! Child 1 waits for child 2 and exits with its status, so the coordinator waits for and kills only its
//! own direct child; child 2 dies with child 1 (parent-death signal). A failing step exits with
//! [`SETUP_EXIT_BASE`] + the step's number, which [`describe_setup_failure`] names.

use crate::process::pipe;
use crate::seccomp::Program;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// Exit codes at and above this value report a failed sandbox step, not the analyzer's own exit.
pub const SETUP_EXIT_BASE: i32 = 200;
/// The sandbox steps, in order; a failing step exits with [`SETUP_EXIT_BASE`] + its number.
#[derive(Debug, Clone, Copy)]
enum Step {
    JoinerParentDeath,
    Setns,
    Chroot,
    Fork,
    BoundingSet,
    SecureBits,
    Groups,
    Setresgid,
    Setresuid,
    Capset,
    NoNewPrivs,
    AnalyzerParentDeath,
    Rlimit,
    Fds,
    Seccomp,
    Exec,
}

impl Step {
    const ALL: [Step; 16] = [
        Step::JoinerParentDeath,
        Step::Setns,
        Step::Chroot,
        Step::Fork,
        Step::BoundingSet,
        Step::SecureBits,
        Step::Groups,
        Step::Setresgid,
        Step::Setresuid,
        Step::Capset,
        Step::NoNewPrivs,
        Step::AnalyzerParentDeath,
        Step::Rlimit,
        Step::Fds,
        Step::Seccomp,
        Step::Exec,
    ];

    fn describe(self) -> &'static str {
        match self {
            Step::JoinerParentDeath => "parent-death signal of the namespace joiner",
            Step::Setns => "setns into the container's mount and pid namespaces",
            Step::Chroot => "chroot into the workload's root",
            Step::Fork => "fork inside the pid namespace",
            Step::BoundingSet => "dropping the capability bounding set",
            Step::SecureBits => "setting secure bits",
            Step::Groups => "clearing supplementary groups",
            Step::Setresgid => "setresgid",
            Step::Setresuid => "setresuid",
            Step::Capset => "clearing capabilities",
            Step::NoNewPrivs => "no_new_privs",
            Step::AnalyzerParentDeath => "parent-death signal of the analyzer",
            Step::Rlimit => "setrlimit",
            Step::Fds => "arranging file descriptors",
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
    /// Becomes the analyzer's stderr (the host's `/dev/null`).
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
    rlimits: Vec<(libc::__rlimit_resource_t, libc::rlimit)>,
}

/// A started analyzer: the coordinator's direct child and the read end of its stdout.
#[derive(Debug)]
pub struct Running {
    pub pid: i32,
    pub stdout: File,
}

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
        })
    }

    /// Forks child 1 (see the module documentation) and returns once it runs.
    pub fn spawn(&self) -> io::Result<Running> {
        debug_assert_eq!(self.argv.len() + 1, self.argv_ptrs.len());
        let (read_end, write_end) = pipe()?;
        // SAFETY: getpid has no preconditions.
        let coordinator = unsafe { libc::getpid() };
        // SAFETY: after fork the child only calls `namespace_joiner`, which makes async-signal-safe system
        // calls on data prepared above and never returns.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => self.namespace_joiner(coordinator, &write_end),
            pid => {
                drop(write_end);
                Ok(Running {
                    pid,
                    stdout: File::from(read_end),
                })
            }
        }
    }

    /// Child 1. Never returns.
    fn namespace_joiner(&self, coordinator: libc::pid_t, write_end: &OwnedFd) -> ! {
        // SAFETY (whole function): raw system calls with integer arguments or pointers to static C strings.
        unsafe {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0
                || libc::getppid() != coordinator
            {
                Step::JoinerParentDeath.fail();
            }
            let namespaces = libc::CLONE_NEWNS | libc::CLONE_NEWPID;
            if libc::setns(self.target_pidfd.as_raw_fd(), namespaces) != 0 {
                Step::Setns.fail();
            }
            // The mount namespace's root may not be the workload's root (a runtime that uses chroot), so
            // enter the root the workload itself sees.
            if libc::fchdir(self.root_fd.as_raw_fd()) != 0
                || libc::chroot(c".".as_ptr()) != 0
                || libc::chdir(c"/".as_ptr()) != 0
            {
                Step::Chroot.fail();
            }
            let analyzer = libc::fork();
            if analyzer == -1 {
                Step::Fork.fail();
            }
            if analyzer == 0 {
                self.analyzer_child(write_end);
            }
            // Only child 2 may hold the pipe, so the coordinator sees EOF when it ends.
            libc::close(write_end.as_raw_fd());
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

    /// Child 2, inside the container's PID namespace. Never returns.
    fn analyzer_child(&self, write_end: &OwnedFd) -> ! {
        // SAFETY (whole function): raw system calls on prepared data; see the module documentation.
        unsafe {
            // Our parent as we see it now: 0 when it is outside the container's PID namespace. Die with it
            // from the start; the setting is renewed below, after the uid change clears it.
            let parent = libc::getppid();
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            // Capabilities first, while CAP_SETPCAP is still effective.
            libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_CLEAR_ALL,
                0,
                0,
                0,
            );
            for cap in 0..64 {
                if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0
                    && *libc::__errno_location() != libc::EINVAL
                {
                    Step::BoundingSet.fail();
                }
            }
            // uid 0 gains no capabilities on exec (NOROOT), and keep-caps stays off; both locked.
            const SECBIT_NOROOT: libc::c_ulong = 1 << 0;
            const SECBIT_NOROOT_LOCKED: libc::c_ulong = 1 << 1;
            const SECBIT_KEEP_CAPS_LOCKED: libc::c_ulong = 1 << 5;
            let bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_KEEP_CAPS_LOCKED;
            if libc::prctl(libc::PR_SET_SECUREBITS, bits, 0, 0, 0) != 0 {
                Step::SecureBits.fail();
            }
            if libc::setgroups(0, std::ptr::null()) != 0 {
                Step::Groups.fail();
            }
            if libc::setresgid(self.gid, self.gid, self.gid) != 0 {
                Step::Setresgid.fail();
            }
            if libc::setresuid(self.uid, self.uid, self.uid) != 0 {
                Step::Setresuid.fail();
            }
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
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                Step::NoNewPrivs.fail();
            }
            // Renewed after the uid change, which clears it; if the parent died meanwhile, we were
            // reparented and getppid() changed.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 || libc::getppid() != parent
            {
                Step::AnalyzerParentDeath.fail();
            }
            for (resource, limit) in &self.rlimits {
                if libc::setrlimit(*resource, limit) != 0 {
                    Step::Rlimit.fail();
                }
            }
            // fd 0: input, 1: answer pipe, 2: /dev/null, 3: the analyzer (close-on-exec); nothing else.
            let exec_copy = libc::fcntl(self.exec_fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10);
            if exec_copy < 0
                || libc::dup2(self.input_fd.as_raw_fd(), 0) != 0
                || libc::dup2(write_end.as_raw_fd(), 1) != 1
                || libc::dup2(self.stderr_fd.as_raw_fd(), 2) != 2
                || libc::dup3(exec_copy, 3, libc::O_CLOEXEC) != 3
                || libc::syscall(libc::SYS_close_range, 4u32, u32::MAX, 0u32) != 0
            {
                Step::Fds.fail();
            }
            if self.seccomp.install().is_err() {
                Step::Seccomp.fail();
            }
            libc::syscall(
                libc::SYS_execveat,
                3,
                c"".as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
                libc::AT_EMPTY_PATH,
            );
            Step::Exec.fail();
        }
    }
}
