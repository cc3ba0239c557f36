//! Finding the node's containers: every process's cgroup names its container and pod; kubelet's log
//! folders name the pods and tell app containers from pod sandboxes.

use crate::cgroup::{self, Runtime};
use crate::pods::{self, ContainerLink, PodName};
use crate::procfs;
use crate::workload::{self, Candidate};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// `/proc/<pid>/cgroup` is a few lines; a longer one is not trusted past this.
const CGROUP_FILE_CAP: usize = 16 * 1024;

#[derive(Debug, Clone)]
pub struct Container {
    pub id: String,
    pub runtime: Runtime,
    pub pod_uid: Option<String>,
    /// Empty when the pod is unknown (see README: containers outside kubelet pods).
    pub namespace: String,
    pub pod: String,
    pub name: Option<String>,
    pub workload: Candidate,
    pub process_count: usize,
}

impl Container {
    pub fn qualified_id(&self, scheme_override: Option<&str>) -> String {
        format!(
            "{}://{}",
            scheme_override.unwrap_or(self.runtime.scheme()),
            self.id
        )
    }
}

#[derive(Debug, Default)]
pub struct Discovery {
    pub containers: Vec<Container>,
    pub sandboxes_skipped: usize,
    pub warnings: Vec<String>,
}

pub struct Sources<'a> {
    pub proc_root: &'a Path,
    pub pod_logs_dir: &'a Path,
    pub container_logs_dir: &'a Path,
    /// The container this scanner runs in, never scanned.
    pub own_container: Option<String>,
}

/// The container of a process, from its cgroup file.
pub fn container_of(proc_root: &Path, pid: &str) -> Option<cgroup::ContainerCgroup> {
    let data = procfs::read_bounded(&proc_root.join(pid).join("cgroup"), CGROUP_FILE_CAP).ok()?;
    cgroup::parse(&String::from_utf8_lossy(&data))
}

pub fn discover(sources: &Sources<'_>) -> std::io::Result<Discovery> {
    let mut discovery = Discovery::default();
    let mut groups: BTreeMap<String, (cgroup::ContainerCgroup, Vec<Candidate>)> = BTreeMap::new();
    for pid in procfs::list_pids(sources.proc_root)? {
        // A process may exit at any moment: whatever cannot be read is simply not there.
        let Some(container) = container_of(sources.proc_root, &pid.to_string()) else {
            continue;
        };
        if sources.own_container.as_deref() == Some(container.id.as_str()) {
            continue;
        }
        let Ok(stat) = procfs::read_stat(sources.proc_root, pid) else {
            continue;
        };
        // What it executes is read below, only where the choice of the workload needs it.
        let candidate = Candidate {
            pid,
            ppid: stat.ppid,
            comm: stat.comm,
            state: stat.state,
            start_time: stat.start_time,
            exe: None,
            argv: Vec::new(),
        };
        groups
            .entry(container.id.clone())
            .or_insert_with(|| (container, Vec::new()))
            .1
            .push(candidate);
    }

    let pod_names = pods::index_pods(sources.pod_logs_dir).unwrap_or_else(|e| {
        discovery.warnings.push(format!(
            "pod logs folder {} unreadable ({e}): pods are not named",
            sources.pod_logs_dir.display()
        ));
        HashMap::new()
    });
    let links = match pods::index_containers(sources.container_logs_dir) {
        Ok(links) => Some(links),
        Err(e) => {
            discovery.warnings.push(format!(
                "container logs folder {} unreadable ({e}): sandboxes are told apart by process name",
                sources.container_logs_dir.display()
            ));
            None
        }
    };

    for (id, (cgroup, mut processes)) in groups {
        let pod: Option<&PodName> = cgroup.pod_uid.as_ref().and_then(|uid| pod_names.get(uid));
        let link: Option<&ContainerLink> = links.as_ref().and_then(|l| l.get(&id));
        if is_sandbox(pod.is_some(), links.is_some(), link.is_some(), &processes) {
            discovery.sandboxes_skipped += 1;
            continue;
        }
        // A container's only process is its workload whatever it executes: two /proc reads fewer for most
        // containers (and every pod sandbox), on every process of a node.
        if processes.len() > 1 {
            for p in &mut processes {
                (p.exe, p.argv) = procfs::read_program(sources.proc_root, p.pid);
            }
        }
        let Some(workload) = workload::choose(&processes).cloned() else {
            continue;
        };
        let (namespace, pod_name) = match (pod, &cgroup.pod_uid) {
            (Some(p), _) => (p.namespace.clone(), p.name.clone()),
            (None, Some(uid)) => (String::new(), uid.clone()),
            (None, None) => (String::new(), String::new()),
        };
        discovery.containers.push(Container {
            id,
            runtime: cgroup.runtime,
            pod_uid: cgroup.pod_uid,
            namespace,
            pod: pod_name,
            name: link.map(|l| l.container.clone()),
            workload,
            process_count: processes.len(),
        });
    }
    discovery.containers.sort_by(|a, b| {
        (&a.namespace, &a.pod, &a.name, &a.id).cmp(&(&b.namespace, &b.pod, &b.name, &b.id))
    });
    Ok(discovery)
}

/// A pod's sandbox ("pause") container has no log link. Where links cannot tell (no links folder, or a pod
/// kubelet does not know), a container whose only live processes are called `pause` is taken for one.
fn is_sandbox(
    pod_named: bool,
    links_readable: bool,
    has_link: bool,
    processes: &[Candidate],
) -> bool {
    if pod_named && links_readable {
        return !has_link;
    }
    let mut live = processes.iter().filter(|p| p.state != 'Z').peekable();
    live.peek().is_some() && live.all(|p| p.comm == "pause")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc(comm: &str) -> Candidate {
        Candidate {
            pid: 1,
            ppid: 0,
            comm: comm.into(),
            state: 'S',
            start_time: 1,
            exe: None,
            argv: Vec::new(),
        }
    }

    #[test]
    fn sandbox_rules() {
        assert!(
            is_sandbox(true, true, false, &[proc("anything")]),
            "named pod, no link"
        );
        assert!(
            !is_sandbox(true, true, true, &[proc("pause")]),
            "a linked container is an app container"
        );
        assert!(is_sandbox(false, true, false, &[proc("pause")]));
        assert!(is_sandbox(true, false, false, &[proc("pause")]));
        assert!(!is_sandbox(
            false,
            false,
            false,
            &[proc("pause"), proc("java")]
        ));
        assert!(!is_sandbox(false, false, false, &[]));
    }
}
