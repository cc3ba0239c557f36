//! The sandbox's steps, each checked from inside the real child: the child runs the real sequence of
//! [`SpawnPlan`] up to a step, then a probe reports what the kernel says about it (raw system calls only,
//! no allocation) over the answer pipe, and the test asserts. Needs root (as in CI); skipped otherwise, with a
//! notice (a failure under REQUIRE_ARTIFACTS=1).

use crate::process::{self, Exit, ReadEnd};
use crate::seccomp::{Program, ANALYZER_SYSCALLS};
use crate::spawn::{Hook, Limits, RlimitResource, SpawnPlan, Step, SETUP_EXIT_BASE};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

const LIMITS: Limits = Limits {
    address_space_bytes: 256 << 20,
    cpu_seconds: 3,
    open_files: 32,
};
/// A file only the prepared root holds: seeing it at `/` proves the chroot.
const MARKER: &str = "sandbox-test-marker";
const FD_BITS: usize = 1024;

/// What the probe reports; every field comes straight from a system call.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
struct Snapshot {
    uid: [u32; 3],
    gid: [u32; 3],
    groups: i32,
    cap_effective: u64,
    cap_permitted: u64,
    cap_inheritable: u64,
    ambient: u32,
    bounding: u32,
    securebits: i32,
    no_new_privs: i32,
    dumpable: i32,
    seccomp: i32,
    chrooted: i32,
    open_fds: [u64; FD_BITS / 64],
    cloexec_fds: [u64; FD_BITS / 64],
    /// (soft, hard) of the plan's limits, in its order; u64::MAX when refused.
    rlimits: [[u64; 2]; 6],
    /// errno of each attempt (0: it worked), in the order of [`ATTEMPTS`].
    attempts: [i32; 7],
}

const ATTEMPTS: [&str; 7] = [
    "socket", "fork", "kill", "ptrace", "setns", "unshare", "execve",
];
const RLIMITS: [RlimitResource; 6] = [
    libc::RLIMIT_AS,
    libc::RLIMIT_CPU,
    libc::RLIMIT_NOFILE,
    libc::RLIMIT_FSIZE,
    libc::RLIMIT_CORE,
    libc::RLIMIT_MEMLOCK,
];

fn errno_of(ret: libc::c_long) -> i32 {
    if ret == -1 {
        // SAFETY: reading the thread's errno.
        unsafe { *libc::__errno_location() }
    } else {
        0
    }
}

/// Runs inside the sandboxed child after a step; writes a [`Snapshot`] to fd 1 (the answer pipe).
fn probe() {
    let mut s = Snapshot::default();
    // SAFETY (whole block): system calls into local, correctly sized buffers; the forked child is
    // single-threaded, and nothing here allocates.
    unsafe {
        let [u0, u1, u2] = &mut s.uid;
        libc::getresuid(u0, u1, u2);
        let [g0, g1, g2] = &mut s.gid;
        libc::getresgid(g0, g1, g2);
        s.groups = libc::getgroups(0, std::ptr::null_mut());
        #[repr(C)]
        struct Header {
            version: u32,
            pid: libc::c_int,
        }
        let mut header = Header {
            version: 0x2008_0522,
            pid: 0,
        };
        let mut data = [0u32; 6];
        libc::syscall(
            libc::SYS_capget,
            &mut header as *mut Header,
            data.as_mut_ptr(),
        );
        s.cap_effective = u64::from(data[0]) | (u64::from(data[3]) << 32);
        s.cap_permitted = u64::from(data[1]) | (u64::from(data[4]) << 32);
        s.cap_inheritable = u64::from(data[2]) | (u64::from(data[5]) << 32);
        for cap in 0..64 {
            if libc::prctl(libc::PR_CAPBSET_READ, cap, 0, 0, 0) == 1 {
                s.bounding += 1;
            }
            if libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_IS_SET, cap, 0, 0) == 1 {
                s.ambient += 1;
            }
        }
        s.securebits = libc::prctl(libc::PR_GET_SECUREBITS, 0, 0, 0, 0);
        s.no_new_privs = libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
        s.dumpable = libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0);
        s.seccomp = libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0);
        let marker = libc::open(
            c"/sandbox-test-marker".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        );
        if marker >= 0 {
            s.chrooted = 1;
            libc::close(marker);
        }
        // Descriptors before anything below opens one.
        for fd in 0..FD_BITS {
            let flags = libc::fcntl(fd as libc::c_int, libc::F_GETFD);
            if flags >= 0 {
                s.open_fds[fd / 64] |= 1 << (fd % 64);
                if flags & libc::FD_CLOEXEC != 0 {
                    s.cloexec_fds[fd / 64] |= 1 << (fd % 64);
                }
            }
        }
        for (slot, resource) in s.rlimits.iter_mut().zip(RLIMITS) {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            *slot = if libc::getrlimit(resource, &mut limit) == 0 {
                [limit.rlim_cur, limit.rlim_max]
            } else {
                [u64::MAX, u64::MAX]
            };
        }
        // Each attempt has a harmless normal outcome that is not EPERM, so EPERM means "refused".
        let socket = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        s.attempts[0] = errno_of(socket as libc::c_long);
        if socket >= 0 {
            libc::close(socket);
        }
        let child = libc::syscall(libc::SYS_clone, libc::SIGCHLD as libc::c_ulong, 0, 0, 0, 0);
        if child == 0 {
            libc::_exit(0);
        }
        s.attempts[1] = errno_of(child);
        s.attempts[2] = errno_of(libc::kill(libc::getpid(), 0) as libc::c_long);
        s.attempts[3] = errno_of(libc::syscall(libc::SYS_ptrace, -1 as libc::c_long, 0, 0, 0));
        s.attempts[4] = errno_of(libc::setns(-1, 0) as libc::c_long);
        s.attempts[5] = errno_of(libc::unshare(0) as libc::c_long);
        s.attempts[6] = errno_of(libc::syscall(
            libc::SYS_execve,
            std::ptr::null::<libc::c_char>(),
            0,
            0,
        ));
        let bytes = std::slice::from_raw_parts(
            &s as *const Snapshot as *const u8,
            std::mem::size_of::<Snapshot>(),
        );
        libc::write(1, bytes.as_ptr().cast(), bytes.len());
    }
}

/// A fixture whose analyzer is the host's static busybox; None (the test skipped, saying why) when not root or
/// without /bin/busybox.
fn busybox_fixture(tag: &str) -> Option<Fixture> {
    if !is_root() {
        return None;
    }
    let Ok(busybox) = std::fs::read("/bin/busybox") else {
        eprintln!("SKIPPED: no /bin/busybox (make deps installs busybox-static)");
        return None;
    };
    let exec = process::sealed_executable_copy("busybox", &busybox).expect("memfd");
    Some(Fixture::new(tag, exec))
}

/// Whether the test runs as root; if not, the test is skipped with a notice (or fails under
/// REQUIRE_ARTIFACTS=1, as in CI: see the test-support crate).
fn is_root() -> bool {
    // SAFETY: no arguments.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    test_support::skip(
        "the sandbox tests need root (they join namespaces and change ids)",
        "run them as root, as make test-scanner does",
    );
    false
}

/// What the sandbox gets in a test: its own process as the "workload" (so setns joins our own
/// namespaces), a fresh folder as its root, and stray descriptors, with and without close-on-exec, as
/// another scan's would be at the moment of the fork.
struct Fixture {
    root_dir: std::path::PathBuf,
    root: OwnedFd,
    pidfd: OwnedFd,
    input: OwnedFd,
    exec: OwnedFd,
    stderr: OwnedFd,
    _strays: Vec<OwnedFd>,
    seccomp: Program,
}

impl Fixture {
    fn new(tag: &str, exec: OwnedFd) -> Fixture {
        // As the coordinator does first thing: children inherit it.
        crate::identity::set_not_dumpable().expect("PR_SET_DUMPABLE");
        let root_dir =
            std::env::temp_dir().join(format!("sandbox-test-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&root_dir).expect("root folder");
        std::fs::File::create(root_dir.join(MARKER)).expect("marker");
        // The test runs as root; children change to other ids and must still traverse it.
        std::fs::set_permissions(
            &root_dir,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let root = crate::fs::open_root(root_dir.to_str().expect("utf-8")).expect("root fd");
        let pidfd = process::pidfd_open(std::process::id() as i32).expect("pidfd");
        let input = process::sealed_memfd_copy("input", b"input").expect("input");
        let stray_plain = std::fs::File::open("/dev/null").expect("stray");
        // SAFETY: F_SETFD on a descriptor we own clears close-on-exec, as an fd leaked by a careless
        // open would be.
        unsafe { libc::fcntl(stray_plain.as_raw_fd(), libc::F_SETFD, 0) };
        let strays = vec![
            OwnedFd::from(stray_plain),
            OwnedFd::from(std::fs::File::open("/").expect("stray")),
        ];
        Fixture {
            root_dir,
            root,
            pidfd,
            input,
            exec,
            stderr: process::stderr_sink().expect("stderr sink"),
            _strays: strays,
            seccomp: Program::allow_only(ANALYZER_SYSCALLS),
        }
    }

    fn plan(&self, uid: u32, gid: u32, args: &[&str]) -> SpawnPlan<'_> {
        SpawnPlan::new(
            self.exec.as_fd(),
            self.input.as_fd(),
            self.stderr.as_fd(),
            self.pidfd.as_fd(),
            self.root.as_fd(),
            uid,
            gid,
            LIMITS,
            &self.seccomp,
            args,
        )
        .expect("plan")
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root_dir);
    }
}

/// Runs the real sandbox up to and including `step`, as `uid`/`gid`, with child 1 in the coordinator's
/// memory or in a copy of it, and returns the probe's report.
fn snapshot_after(fixture: &Fixture, step: Step, uid: u32, gid: u32, shared: bool) -> Snapshot {
    let plan = fixture
        .plan(uid, gid, &["probe"])
        .with_shared_memory(shared)
        .with_hook(Some(Hook::ProbeAfter(step, probe)));
    let running = plan.spawn().expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(10);
    let read = process::read_bounded(&running.stdout, 64 * 1024, deadline);
    let (exit, _) = running.wait().expect("wait");
    let (bytes, end) = read.expect("read");
    assert_eq!(end, ReadEnd::Eof, "{step:?}");
    assert_eq!(exit, Exit::Code(0), "{step:?}: the child failed");
    assert_eq!(bytes.len(), std::mem::size_of::<Snapshot>(), "{step:?}");
    let mut s = Snapshot::default();
    // SAFETY: Snapshot is plain old data of exactly this size, written by `probe` in this same binary.
    unsafe {
        std::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            &mut s as *mut Snapshot as *mut u8,
            bytes.len(),
        )
    };
    s
}

fn fds(bits: &[u64; FD_BITS / 64]) -> Vec<usize> {
    (0..FD_BITS)
        .filter(|fd| bits[fd / 64] & (1 << (fd % 64)) != 0)
        .collect()
}

fn index(step: Step) -> usize {
    Step::ALL.iter().position(|s| *s == step).expect("a step")
}

/// Every step of both children, for a root workload and a non-root one, with child 1 in the
/// coordinator's memory and in a copy of it: each property holds from the step that establishes it to
/// the exec.
#[test]
fn each_step_has_its_effect_and_keeps_the_earlier_ones() {
    if !is_root() {
        return;
    }
    let exec = process::sealed_executable_copy("exec", b"not run").expect("exec");
    let fixture = Fixture::new("steps", exec);
    for ((uid, gid), shared) in [(0, 0), (65534, 65533)]
        .into_iter()
        .flat_map(|ids| [(ids, true), (ids, false)])
    {
        for step in Step::ALL.iter().copied().filter(|s| *s != Step::Exec) {
            let s = snapshot_after(&fixture, step, uid, gid, shared);
            let at = |from: Step| index(step) >= index(from);
            let what = format!("uid {uid}, shared memory {shared}, after {step:?}: {s:?}");
            assert_eq!(s.dumpable, 0, "never dumpable: {what}");
            let open = fds(&s.open_fds);
            let cloexec = fds(&s.cloexec_fds);
            if at(Step::CloseTarget) {
                assert_eq!(open, [0, 1, 2, 3], "{what}");
                assert_eq!(cloexec, [3], "only fds 0-2 survive the exec: {what}");
            } else {
                assert_eq!(
                    open,
                    [0, 1, 2, 3, 4, 5],
                    "nothing but the keep-list: {what}"
                );
                assert_eq!(cloexec, [3, 4, 5], "{what}");
            }
            assert_eq!(s.chrooted == 1, at(Step::Chroot), "{what}");
            if at(Step::BoundingSet) {
                assert_eq!((s.bounding, s.ambient), (0, 0), "{what}");
            } else {
                assert!(s.bounding > 0, "{what}");
            }
            if at(Step::SecureBits) {
                assert_eq!(
                    s.securebits & 0x3f,
                    0x33,
                    "NOROOT and KEEP_CAPS, both locked: {what}"
                );
            }
            if at(Step::Groups) {
                assert_eq!(s.groups, 0, "{what}");
            }
            if at(Step::Setresgid) {
                assert_eq!(s.gid, [gid; 3], "{what}");
            } else {
                assert_eq!(s.gid, [0; 3], "{what}");
            }
            if at(Step::Setresuid) {
                assert_eq!(s.uid, [uid; 3], "{what}");
            } else {
                assert_eq!(s.uid, [0; 3], "{what}");
            }
            if step == Step::Setresuid || step == Step::Dumpable {
                // KEEP_CAPS: the permitted set outlives the uid change until capset empties it, so
                // the child is never an unprivileged, dumpable process of the workload's uid.
                assert_ne!(s.cap_permitted, 0, "{what}");
            }
            if at(Step::Capset) {
                assert_eq!(
                    (s.cap_effective, s.cap_permitted, s.cap_inheritable),
                    (0, 0, 0),
                    "{what}"
                );
            }
            assert_eq!(s.no_new_privs == 1, at(Step::NoNewPrivs), "{what}");
            if step == Step::Rlimit {
                let expected = [
                    LIMITS.address_space_bytes,
                    LIMITS.cpu_seconds,
                    LIMITS.open_files,
                    0,
                    0,
                    0,
                ];
                let got: Vec<[u64; 2]> = s.rlimits.to_vec();
                let want: Vec<[u64; 2]> = expected.iter().map(|v| [*v, *v]).collect();
                assert_eq!(got, want, "{what}");
            }
            if at(Step::Seccomp) {
                assert_eq!(s.seccomp, 2, "{what}");
                for (name, errno) in ATTEMPTS.iter().zip(s.attempts) {
                    assert_eq!(errno, libc::EPERM, "seccomp refuses {name}: {what}");
                }
            } else {
                assert_eq!(s.seccomp, 0, "{what}");
                for (name, errno) in ATTEMPTS.iter().zip(s.attempts) {
                    assert_ne!(errno, libc::EPERM, "{name} is not refused yet: {what}");
                }
            }
        }
    }
}

/// A step that fails exits with the code that names it, and the coordinator's side says which.
#[test]
fn a_failing_step_is_named() {
    if !is_root() {
        return;
    }
    let exec = process::sealed_executable_copy("exec", b"not an executable").expect("exec");
    let fixture = Fixture::new("fail", exec);
    for shared in [true, false] {
        let plan = fixture
            .plan(65534, 65534, &["x"])
            .with_shared_memory(shared);
        let (exit, _) = plan.spawn().expect("spawn").wait().expect("wait");
        let code = SETUP_EXIT_BASE + index(Step::Exec) as i32;
        assert_eq!(exit, Exit::Code(code), "shared memory {shared}");
    }
    let code = SETUP_EXIT_BASE + index(Step::Exec) as i32;
    assert_eq!(
        crate::spawn::describe_setup_failure(code),
        Some("execveat of the analyzer")
    );
}

/// The analyzer's own first act: not dumpable, no new privileges, and no exec of anything, ever.
#[test]
fn the_analyzer_restricts_itself_and_never_executes_again() {
    let (read_end, write_end) = process::pipe().expect("pipe");
    // SAFETY: the child makes system calls only and exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        // SAFETY (child): system calls on local data, then _exit.
        unsafe {
            let mut out = [0i32; 4];
            if crate::identity::restrict_self().is_ok() {
                out[0] = libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0);
                out[1] = libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
                out[2] = libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0);
                // Normally EBADF (no such descriptor); refused by the filter, EPERM.
                let argv = [std::ptr::null::<libc::c_char>()];
                out[3] = errno_of(libc::syscall(
                    libc::SYS_execveat,
                    -1,
                    c"".as_ptr(),
                    argv.as_ptr(),
                    argv.as_ptr(),
                    libc::AT_EMPTY_PATH,
                ));
            } else {
                out = [-1; 4];
            }
            libc::write(write_end.as_raw_fd(), out.as_ptr().cast(), 16);
            libc::_exit(0);
        }
    }
    drop(write_end);
    let (bytes, _) = process::read_bounded(
        &std::fs::File::from(read_end),
        64,
        Instant::now() + Duration::from_secs(10),
    )
    .expect("read");
    process::wait(pid).expect("wait");
    let got: Vec<i32> = bytes
        .chunks_exact(4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(got, [0, 1, 2, libc::EPERM]);
}

/// The exec itself: a workload-uid analyzer executed from the execute-only memfd is non-dumpable from
/// its first instruction (its `/proc/<pid>/` files belong to root), while one executed from a readable
/// copy is dumpable (and would be reachable until its own prctl). Executes the host's static busybox
/// (`cat`, blocked reading its stdin) as the "analyzer"; skipped without it.
#[test]
fn an_execute_only_analyzer_is_never_dumpable() {
    if !is_root() {
        return;
    }
    let Ok(busybox) = std::fs::read("/bin/busybox") else {
        eprintln!("SKIPPED: no /bin/busybox (make deps installs busybox-static)");
        return;
    };
    let suid_dumpable = std::fs::read_to_string("/proc/sys/fs/suid_dumpable").unwrap_or_default();
    let uid = 65534;
    for execute_only in [true, false] {
        let exec = if execute_only {
            process::sealed_executable_copy("busybox", &busybox)
        } else {
            process::sealed_memfd_copy("busybox", &busybox)
        }
        .expect("memfd");
        let mut fixture = Fixture::new(if execute_only { "x" } else { "rx" }, exec);
        // The analyzer's stdin: a pipe we hold open, so `cat` blocks on it.
        let (stdin_read, mut stdin_write) = {
            let (r, w) = process::pipe().expect("pipe");
            (r, std::fs::File::from(w))
        };
        fixture.input = stdin_read;
        let plan = fixture.plan(uid, uid, &["cat"]);
        let running = plan.spawn().expect("spawn");
        let child1 = running.pid();
        let mut owner = None;
        let deadline = Instant::now() + Duration::from_secs(10);
        while owner.is_none() && Instant::now() < deadline {
            let children =
                std::fs::read_to_string(format!("/proc/{child1}/task/{child1}/children"))
                    .unwrap_or_default();
            if let Some(pid) = children.split_whitespace().next() {
                // Once it runs the memfd, it blocks reading its stdin.
                let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                if exe.to_string_lossy().contains("memfd:busybox") && stat.contains(") S ") {
                    owner = std::fs::metadata(format!("/proc/{pid}/status"))
                        .ok()
                        .map(|m| std::os::unix::fs::MetadataExt::uid(&m));
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = stdin_write.write_all(b"");
        drop(stdin_write);
        running.kill();
        let ended = running.wait();
        let owner =
            owner.unwrap_or_else(|| panic!("the exec'd child never blocked in read: {ended:?}"));
        let expected = if execute_only && suid_dumpable.trim() != "1" {
            0
        } else {
            uid
        };
        assert_eq!(
            owner, expected,
            "execute-only {execute_only}, fs.suid_dumpable {suid_dumpable}"
        );
    }
}

/// Sandboxes started from several threads at once with child 1 in the coordinator's memory: each runs
/// its analyzer (the host's static busybox, `true`) to a clean exit while the starting threads go on
/// using their heap and errno; and a sandbox dropped without a wait is killed and reaped (its child 1
/// runs on a stack that the drop frees). Skipped without /bin/busybox.
#[test]
fn sandboxes_in_shared_memory_run_side_by_side_and_end_with_their_handle() {
    let Some(fixture) = busybox_fixture("side-by-side") else {
        return;
    };
    // This process's own peak so far, which child 1's own peak (in this memory) would be at least.
    let own_peak_kb: u64 = std::fs::read_to_string("/proc/self/status")
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    std::thread::scope(|scope| {
        for thread in 0..4u8 {
            let fixture = &fixture;
            scope.spawn(move || {
                for round in 0..40u8 {
                    let plan = fixture
                        .plan(65534, 65534, &["true"])
                        .with_shared_memory(true);
                    let running = plan.spawn().expect("spawn");
                    let heap = vec![thread ^ round; 64 * 1024];
                    // SAFETY: sets this thread's errno, which child 1 must leave alone.
                    unsafe { *libc::__errno_location() = 1000 + i32::from(round) };
                    let (exit, usage) = running.wait().expect("wait");
                    assert_eq!(exit, Exit::Code(0), "thread {thread}, round {round}");
                    // Child 1 hands over the analyzer's own peak, not the coordinator's memory.
                    assert!(
                        usage.max_rss_kb > 0 && usage.max_rss_kb < own_peak_kb,
                        "{usage:?}, this process's peak {own_peak_kb} kB"
                    );
                    assert!(heap.iter().all(|b| *b == thread ^ round));
                    // SAFETY: reads this thread's errno.
                    let errno = unsafe { *libc::__errno_location() };
                    assert!(errno == 1000 + i32::from(round) || errno == libc::EINTR);
                }
            });
        }
    });
    let (stdin_read, stdin_write) = process::pipe().expect("pipe");
    let mut fixture = fixture;
    fixture.input = stdin_read;
    let plan = fixture
        .plan(65534, 65534, &["cat"])
        .with_shared_memory(true);
    let running = plan.spawn().expect("spawn");
    let pid = running.pid();
    std::thread::sleep(Duration::from_millis(50));
    drop(running);
    // SAFETY: signal 0 only asks whether the process exists; reaped, it does not.
    let gone = unsafe { libc::kill(pid, 0) } == -1 && errno_of(-1) == libc::ESRCH;
    assert!(gone, "child 1 ({pid}) was not reaped by the drop");
    drop(stdin_write);
}

/// Child 2 carries its arguments in its own record (spawn::AnalyzerStart): they reach the analyzer exactly,
/// in both ways of running child 1, with an empty environment.
#[test]
fn the_analyzer_gets_exactly_its_arguments_and_an_empty_environment() {
    let Some(fixture) = busybox_fixture("arguments") else {
        return;
    };
    let output = |args: &[&str], shared: bool| {
        let plan = fixture.plan(65534, 65534, args).with_shared_memory(shared);
        let running = plan.spawn().expect("spawn");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut &running.stdout, &mut out).expect("read");
        let (exit, _) = running.wait().expect("wait");
        assert_eq!(exit, Exit::Code(0), "{args:?}");
        out
    };
    for shared in [true, false] {
        let args = ["echo", "two words", "", "ünïcode", "--flag=x"];
        assert_eq!(output(&args, shared), format!("{}\n", args[1..].join(" ")));
        assert_eq!(output(&["env"], shared), "", "no environment");
    }
}

#[test]
fn arguments_beyond_what_child_2_carries_are_refused_and_every_filter_fits() {
    let fixture_fd = || process::sealed_memfd_copy("x", b"x").expect("memfd");
    let (a, b, c, d, e) = (
        fixture_fd(),
        fixture_fd(),
        fixture_fd(),
        fixture_fd(),
        fixture_fd(),
    );
    let allow = Program::allow_only(ANALYZER_SYSCALLS);
    let plan = |args: &[&str], seccomp: &Program| {
        SpawnPlan::new(
            a.as_fd(),
            b.as_fd(),
            c.as_fd(),
            d.as_fd(),
            e.as_fd(),
            1,
            1,
            LIMITS,
            seccomp,
            args,
        )
        .map(|_| ())
    };
    assert!(plan(&["analyzer", "--report-identity"], &allow).is_ok());
    let many = vec!["a"; 17];
    let error = plan(&many, &allow).expect_err("17 arguments");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    assert!(error.to_string().contains("arguments"), "{error}");
    let long = "x".repeat(2000);
    assert!(plan(&["analyzer", &long], &allow).is_err(), "2000 bytes");
    assert!(plan(&["nul\0inside"], &allow).is_err());
    // The longest allow-list the builder makes (its jumps are 8-bit) still fits child 2's record.
    let longest = (ANALYZER_SYSCALLS.len()..)
        .map_while(|n| {
            let calls: Vec<libc::c_long> = (0..n as libc::c_long).collect();
            std::panic::catch_unwind(|| Program::allow_only(&calls)).ok()
        })
        .last()
        .expect("the analyzer's allow-list builds");
    assert!(plan(&["analyzer"], &longest).is_ok());
}
