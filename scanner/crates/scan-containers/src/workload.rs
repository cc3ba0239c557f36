//! Choosing the one process of a container that is "the workload".
//!
//! Rule (deterministic): drop zombies; drop wrappers (shells, init shims such as tini or dumb-init) that
//! have a child in the same container, since the child is the real program; of what is left, take the
//! process closest to the top of the container's process tree (wrappers above it not counted), then the
//! one that started first, then the lowest PID. A wrapper with no child is itself the workload (e.g. a container that runs only `bash`).
//!
//! A wrapper is recognised by what the process executes, not by the name it goes by: a shell script
//! started through its `#!/bin/sh` line is named after the script (Debian's `rabbitmq-server` stays the
//! parent of `beam.smp` under that name), but its executable is the shell. See [`is_wrapper`].

use std::collections::{HashMap, HashSet};

/// Programs that only start or supervise the real program, by the file name of what the process executes.
const WRAPPERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "ash",
    "zsh",
    "ksh",
    "mksh",
    "tini",
    "tini-static",
    "dumb-init",
    "catatonit",
    "s6-svscan",
    "s6-supervise",
    "runsvdir",
    "runsv",
    "docker-init",
    // util-linux `su` and `runuser`, and `sudo`, stay the parent of the command they run as another user
    // (Debian's rabbitmq-server, started as root, runs its server script through `su rabbitmq`).
    "su",
    "runuser",
    "sudo",
];

/// Supervisors that are scripts: the interpreter executes them, so they are recognised by the script the
/// interpreter runs (argv[1]: `/usr/bin/python3 /usr/bin/supervisord`).
const SCRIPT_WRAPPERS: &[&str] = &["supervisord"];

/// Executables that are many programs at once and run as the one argv[0] names (`/bin/sh -> busybox`).
const MULTI_CALL: &[&str] = &["busybox", "toybox"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pid: i32,
    pub ppid: i32,
    pub comm: String,
    pub state: char,
    pub start_time: u64,
    /// What the process executes (its `exe` link as the container sees it); `None` when unreadable, or
    /// not read: discovery reads it (and `argv`) only for containers of more than one process.
    pub exe: Option<String>,
    /// Its first two arguments: the name a multi-call binary runs as, the script an interpreter runs.
    pub argv: Vec<String>,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether the process only starts or supervises another program: the program it executes (the
/// executable's file name; for busybox the applet argv[0] names) is a shell or an init shim, or the
/// script an interpreter runs is a supervisor. Only when the executable cannot be read (the process is
/// exiting) does the kernel's process name stand in for it.
pub fn is_wrapper(c: &Candidate) -> bool {
    let Some(exe) = c.exe.as_deref() else {
        return WRAPPERS.contains(&c.comm.as_str());
    };
    let exe = file_name(exe.strip_suffix(" (deleted)").unwrap_or(exe));
    let program = match c.argv.first() {
        Some(arg0) if MULTI_CALL.contains(&exe) => file_name(arg0),
        _ => exe,
    };
    let script = c
        .argv
        .get(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| file_name(a));
    WRAPPERS.contains(&program) || script.is_some_and(|s| SCRIPT_WRAPPERS.contains(&s))
}

/// Picks the workload among the processes of one container; `None` only if all are zombies.
pub fn choose(processes: &[Candidate]) -> Option<&Candidate> {
    let by_pid: HashMap<i32, &Candidate> = processes.iter().map(|p| (p.pid, p)).collect();
    let has_child: HashSet<i32> = processes
        .iter()
        .filter(|p| by_pid.contains_key(&p.ppid))
        .map(|p| p.ppid)
        .collect();
    let wrapper: HashSet<i32> = processes
        .iter()
        .filter(|p| is_wrapper(p))
        .map(|p| p.pid)
        .collect();
    // Ancestors in the container that are not wrappers: a daemon that detached (reparented to a wrapper
    // at the top, as epmd is under rabbitmq-server's scripts) is not closer to the top than the server
    // the wrappers started.
    let depth = |p: &Candidate| {
        let (mut depth, mut steps, mut ppid) = (0usize, 0usize, p.ppid);
        // Bounded: a cycle cannot exist in a real process tree, but the data is read at different moments.
        while let Some(parent) = by_pid.get(&ppid) {
            if steps > processes.len() {
                break;
            }
            steps += 1;
            if !wrapper.contains(&parent.pid) {
                depth += 1;
            }
            ppid = parent.ppid;
        }
        depth
    };
    processes
        .iter()
        .filter(|p| p.state != 'Z' && p.state != 'X')
        .filter(|p| !(wrapper.contains(&p.pid) && has_child.contains(&p.pid)))
        .min_by_key(|p| (depth(p), p.start_time, p.pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, comm: &str, start_time: u64) -> Candidate {
        Candidate {
            pid,
            ppid,
            comm: comm.into(),
            state: 'S',
            start_time,
            exe: None,
            argv: Vec::new(),
        }
    }

    /// A process as discovery sees it: what it executes and its first arguments.
    fn run(
        pid: i32,
        ppid: i32,
        comm: &str,
        start_time: u64,
        exe: &str,
        argv: &[&str],
    ) -> Candidate {
        Candidate {
            exe: Some(exe.into()),
            argv: argv.iter().map(|a| a.to_string()).collect(),
            ..p(pid, ppid, comm, start_time)
        }
    }

    fn chosen(processes: &[Candidate]) -> Option<i32> {
        choose(processes).map(|c| c.pid)
    }

    #[test]
    fn single_process() {
        assert_eq!(chosen(&[p(10, 5, "java", 100)]), Some(10));
    }

    #[test]
    fn init_shim_and_shell_wrapper_are_skipped() {
        // tini -> sh -c "exec-less script" -> java (+ a JVM helper child of java)
        let tree = [
            p(10, 5, "tini", 100),
            p(11, 10, "sh", 101),
            p(12, 11, "java", 102),
            p(13, 12, "jspawnhelper", 103),
        ];
        assert_eq!(chosen(&tree), Some(12));
        let dumb_init = [p(20, 5, "dumb-init", 1), p(21, 20, "node", 2)];
        assert_eq!(chosen(&dumb_init), Some(21));
    }

    #[test]
    fn a_shell_script_is_a_wrapper_whatever_its_name() {
        // Debian's rabbitmq-server, as /proc shows it: `#!/bin/sh` scripts (each named after its script, its
        // executable the shell): /usr/sbin/rabbitmq-server runs /usr/lib/rabbitmq/bin/rabbitmq-server, which
        // stays the parent of the emulator; epmd detaches and is reparented to the top, started after it.
        let dash = "/usr/bin/dash";
        let erts = "/usr/lib/erlang/erts-13.1.5/bin";
        let script = run(
            10,
            5,
            "rabbitmq-server",
            100,
            dash,
            &["/bin/sh", "/usr/sbin/rabbitmq-server"],
        );
        let inner = run(
            11,
            10,
            "rabbitmq-server",
            101,
            dash,
            &["/bin/sh", "/usr/lib/rabbitmq/bin/rabbitmq-server"],
        );
        let beam = run(
            12,
            11,
            "beam.smp",
            102,
            &format!("{erts}/beam.smp"),
            &["beam.smp", "-W"],
        );
        let setup = run(
            13,
            12,
            "erl_child_setup",
            103,
            &format!("{erts}/erl_child_setup"),
            &["erl_child_setup"],
        );
        let epmd = run(
            14,
            10,
            "epmd",
            104,
            &format!("{erts}/epmd"),
            &["epmd", "-daemon"],
        );
        assert_eq!(
            chosen(&[script.clone(), inner, beam.clone(), setup, epmd]),
            Some(12)
        );
        // Started as root, the script switches user through util-linux su, which stays a parent.
        let su = run(15, 10, "su", 100, "/usr/bin/su", &["su", "rabbitmq"]);
        let under_su = run(
            16,
            15,
            "rabbitmq-server",
            101,
            dash,
            &["/bin/sh", "/usr/lib/rabbitmq/bin/rabbitmq-server"],
        );
        let beam_su = run(
            17,
            16,
            "beam.smp",
            102,
            &format!("{erts}/beam.smp"),
            &["beam.smp"],
        );
        assert_eq!(chosen(&[script.clone(), su, under_su, beam_su]), Some(17));
        // By name alone, the script would have been taken for the workload.
        assert!(!WRAPPERS.contains(&"rabbitmq-server"));
        // Busybox runs as the applet argv[0] names; a script under an interpreter by the script's name.
        let ash = run(
            20,
            5,
            "start.sh",
            1,
            "/bin/busybox",
            &["/bin/sh", "/start.sh"],
        );
        assert_eq!(chosen(&[ash, p(21, 20, "app", 2)]), Some(21));
        let supervisord = run(
            30,
            5,
            "supervisord",
            1,
            "/usr/bin/python3.11",
            &["/usr/bin/python3", "/usr/bin/supervisord", "-n"],
        );
        assert_eq!(chosen(&[supervisord, p(31, 30, "nginx", 2)]), Some(31));
        // A program that calls itself `sh` is not a wrapper: what it executes says so.
        let named_sh = run(40, 5, "sh", 1, "/usr/local/bin/app", &["sh"]);
        assert_eq!(chosen(&[named_sh, p(41, 40, "helper", 2)]), Some(40));
        // A Python program is the workload even with children; its script is not a supervisor.
        let python = run(
            50,
            5,
            "python3",
            1,
            "/usr/bin/python3.11",
            &["python3", "/srv/app.py"],
        );
        assert_eq!(chosen(&[python, p(51, 50, "worker", 2)]), Some(50));
        // The lone script is still the workload.
        assert_eq!(chosen(&[script]), Some(10));
        assert_eq!(chosen(&[beam]), Some(12));
    }

    #[test]
    fn a_lone_shell_is_the_workload() {
        assert_eq!(chosen(&[p(10, 5, "bash", 100)]), Some(10));
    }

    #[test]
    fn master_process_wins_over_workers() {
        let nginx = [
            p(30, 5, "nginx", 10),
            p(31, 30, "nginx", 11),
            p(32, 30, "nginx", 12),
        ];
        assert_eq!(chosen(&nginx), Some(30));
    }

    #[test]
    fn exec_session_loses_to_the_older_main_process() {
        // `kubectl exec` starts a shell whose parent is outside the container, like the main process.
        let tree = [p(50, 5, "bash", 900), p(40, 4, "python3", 100)];
        assert_eq!(chosen(&tree), Some(40));
    }

    #[test]
    fn ties_fall_back_to_the_lowest_pid_and_order_does_not_matter() {
        let a = [p(61, 1, "app", 7), p(60, 1, "app", 7)];
        let b = [p(60, 1, "app", 7), p(61, 1, "app", 7)];
        assert_eq!(chosen(&a), Some(60));
        assert_eq!(chosen(&b), Some(60));
    }

    #[test]
    fn zombies_are_never_chosen() {
        let mut zombie = p(70, 1, "app", 1);
        zombie.state = 'Z';
        assert_eq!(chosen(&[zombie.clone(), p(71, 1, "app", 2)]), Some(71));
        assert_eq!(chosen(&[zombie]), None);
    }

    #[test]
    fn parent_cycle_does_not_hang() {
        let tree = [p(80, 81, "a", 1), p(81, 80, "b", 2)];
        assert!(chosen(&tree).is_some());
    }
}
