//! Choosing the one process of a container that is "the workload".
//!
//! Rule (deterministic): drop zombies; drop wrappers (shells, init shims such as tini or dumb-init) that
//! have a child in the same container, since the child is the real program; of what is left, take the
//! process closest to the top of the container's process tree, then the one that started first, then the
//! lowest PID. A wrapper with no child is itself the workload (e.g. a container that runs only `bash`).

use std::collections::{HashMap, HashSet};

/// Programs that only start or supervise the real program.
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
    "supervisord",
    "entrypoint.sh",
    "docker-init",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub pid: i32,
    pub ppid: i32,
    pub comm: String,
    pub state: char,
    pub start_time: u64,
}

pub fn is_wrapper(comm: &str) -> bool {
    WRAPPERS.contains(&comm)
}

/// Picks the workload among the processes of one container; `None` only if all are zombies.
pub fn choose(processes: &[Candidate]) -> Option<&Candidate> {
    let pids: HashSet<i32> = processes.iter().map(|p| p.pid).collect();
    let has_child: HashSet<i32> = processes
        .iter()
        .filter(|p| pids.contains(&p.ppid))
        .map(|p| p.ppid)
        .collect();
    let parent: HashMap<i32, i32> = processes.iter().map(|p| (p.pid, p.ppid)).collect();
    let depth = |mut pid: i32| {
        let mut depth = 0usize;
        // Bounded: a cycle cannot exist in a real process tree, but the data is read at different moments.
        while let Some(&ppid) = parent.get(&pid) {
            if !pids.contains(&ppid) || depth > processes.len() {
                break;
            }
            depth += 1;
            pid = ppid;
        }
        depth
    };
    processes
        .iter()
        .filter(|p| p.state != 'Z' && p.state != 'X')
        .filter(|p| !(is_wrapper(&p.comm) && has_child.contains(&p.pid)))
        .min_by_key(|p| (depth(p.pid), p.start_time, p.pid))
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
