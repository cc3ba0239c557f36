//! Which container (and pod) a process belongs to, from its `/proc/<pid>/cgroup`.
//!
//! Handles kubelet's cgroupfs and systemd drivers, cgroup v1 and v2, containerd
//! (`cri-containerd-<id>.scope`, or a plain `<parent>/pod<uid>/<id>`), CRI-O (`crio-<id>.scope`, `crio-<id>`,
//! never `crio-conmon-<id>`), Docker (`docker-<id>.scope`, `/docker/<id>`) and Podman (`libpod-<id>.scope`).

/// The container runtime, as named in kubelet's container ids (`<scheme>://<id>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Runtime {
    Containerd,
    CriO,
    Docker,
    Podman,
}

impl Runtime {
    pub fn scheme(self) -> &'static str {
        match self {
            Runtime::Containerd => "containerd",
            Runtime::CriO => "cri-o",
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
        }
    }

    pub fn from_scheme(scheme: &str) -> Option<Runtime> {
        [
            Runtime::Containerd,
            Runtime::CriO,
            Runtime::Docker,
            Runtime::Podman,
        ]
        .into_iter()
        .find(|r| r.scheme() == scheme)
    }
}

/// A process's container, as its cgroup path names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerCgroup {
    /// 64 lower-case hex digits.
    pub id: String,
    pub runtime: Runtime,
    /// The pod UID (with dashes, as in the API), when the container is in a kubelet pod cgroup.
    pub pod_uid: Option<String>,
}

/// Finds the container in the content of `/proc/<pid>/cgroup`. The first line that names one wins; within
/// a path the outermost container segment wins, so a container cannot pose as another one by creating a
/// nested cgroup named after it.
pub fn parse(content: &str) -> Option<ContainerCgroup> {
    content.lines().find_map(|line| {
        // "hierarchy-ID:controller-list:cgroup-path"; the path may itself contain ':'.
        let path = line.splitn(3, ':').nth(2)?;
        parse_path(path)
    })
}

fn parse_path(path: &str) -> Option<ContainerCgroup> {
    let mut pod_uid = None;
    let mut parent_is_docker = false;
    for segment in path.split('/') {
        if let Some(uid) = pod_segment(segment) {
            pod_uid = Some(uid);
        } else if let Some((id, runtime)) = container_segment(segment, parent_is_docker) {
            return Some(ContainerCgroup {
                id,
                runtime,
                pod_uid,
            });
        }
        parent_is_docker = segment == "docker";
    }
    None
}

/// `pod<uid>` (cgroupfs) or `kubepods[-<qos>]-pod<uid with _>.slice` (systemd).
fn pod_segment(segment: &str) -> Option<String> {
    let raw = if let Some(slice) = segment.strip_suffix(".slice") {
        slice.rsplit_once("-pod")?.1
    } else {
        segment.strip_prefix("pod")?
    };
    let uid = raw.replace('_', "-");
    is_pod_uid(&uid).then_some(uid)
}

/// Pod UIDs are UUIDs, or 32 hex digits for static pods (a hash of their manifest).
pub fn is_pod_uid(uid: &str) -> bool {
    (1..=64).contains(&uid.len())
        && uid
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
        && uid.bytes().any(|b| b != b'-')
}

fn container_segment(segment: &str, parent_is_docker: bool) -> Option<(String, Runtime)> {
    let scope = segment.strip_suffix(".scope").unwrap_or(segment);
    let prefixed = [
        ("cri-containerd-", Runtime::Containerd),
        ("crio-", Runtime::CriO),
        ("docker-", Runtime::Docker),
        ("libpod-", Runtime::Podman),
    ];
    for (prefix, runtime) in prefixed {
        if let Some(id) = scope.strip_prefix(prefix) {
            // crio-conmon-<id> is CRI-O's monitor process, not the container.
            return is_container_id(id).then(|| (id.to_string(), runtime));
        }
    }
    if is_container_id(segment) {
        let runtime = if parent_is_docker {
            Runtime::Docker
        } else {
            Runtime::Containerd
        };
        return Some((segment.to_string(), runtime));
    }
    None
}

/// Exactly 64 lower-case hex digits.
pub fn is_container_id(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    const UID: &str = "6b1c7a8e-2d4f-4e1a-9c3b-5a6d7e8f9a0b";
    const UID_SYSTEMD: &str = "6b1c7a8e_2d4f_4e1a_9c3b_5a6d7e8f9a0b";

    fn found(content: &str) -> Option<(String, Runtime, Option<String>)> {
        parse(content).map(|c| (c.id, c.runtime, c.pod_uid))
    }

    fn expect(runtime: Runtime, pod: bool) -> Option<(String, Runtime, Option<String>)> {
        Some((ID.to_string(), runtime, pod.then(|| UID.to_string())))
    }

    #[test]
    fn cgroupfs_v1_containerd_every_qos() {
        for parent in ["/kubepods/besteffort", "/kubepods/burstable", "/kubepods"] {
            let content = format!(
                "12:pids:{parent}/pod{UID}/{ID}\n11:memory:{parent}/pod{UID}/{ID}\n1:name=systemd:{parent}/pod{UID}/{ID}\n0::/\n"
            );
            assert_eq!(
                found(&content),
                expect(Runtime::Containerd, true),
                "{parent}"
            );
        }
    }

    #[test]
    fn cgroupfs_v2_containerd() {
        assert_eq!(
            found(&format!("0::/kubepods/burstable/pod{UID}/{ID}\n")),
            expect(Runtime::Containerd, true)
        );
    }

    #[test]
    fn systemd_v2_containerd_and_crio() {
        let slice = format!(
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{UID_SYSTEMD}.slice"
        );
        assert_eq!(
            found(&format!("0::{slice}/cri-containerd-{ID}.scope\n")),
            expect(Runtime::Containerd, true)
        );
        assert_eq!(
            found(&format!("0::{slice}/crio-{ID}.scope\n")),
            expect(Runtime::CriO, true)
        );
        let guaranteed =
            format!("0::/kubepods.slice/kubepods-pod{UID_SYSTEMD}.slice/crio-{ID}.scope\n");
        assert_eq!(found(&guaranteed), expect(Runtime::CriO, true));
    }

    #[test]
    fn systemd_v1_crio_with_nested_cgroup() {
        let content = format!(
            "4:memory:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_SYSTEMD}.slice/crio-{ID}.scope/container\n"
        );
        assert_eq!(found(&content), expect(Runtime::CriO, true));
    }

    #[test]
    fn cgroupfs_crio() {
        assert_eq!(
            found(&format!("0::/kubepods/besteffort/pod{UID}/crio-{ID}\n")),
            expect(Runtime::CriO, true)
        );
    }

    #[test]
    fn crio_conmon_is_not_a_container() {
        let slice = format!(
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{UID_SYSTEMD}.slice"
        );
        assert_eq!(found(&format!("0::{slice}/crio-conmon-{ID}.scope\n")), None);
    }

    #[test]
    fn containers_outside_kubernetes() {
        assert_eq!(
            found(&format!("0::/system.slice/docker-{ID}.scope\n")),
            expect(Runtime::Docker, false)
        );
        assert_eq!(
            found(&format!("9:cpu:/docker/{ID}\n")),
            expect(Runtime::Docker, false)
        );
        assert_eq!(
            found(&format!("0::/machine.slice/libpod-{ID}.scope\n")),
            expect(Runtime::Podman, false)
        );
        assert_eq!(
            found(&format!("0::/default/{ID}\n")),
            expect(Runtime::Containerd, false)
        );
    }

    #[test]
    fn host_processes_and_garbage() {
        for content in [
            "0::/init.scope\n",
            "0::/system.slice/containerd.service\n",
            "12:pids:/user.slice/user-0.slice/session-1.scope\n",
            "",
            "garbage",
            &format!("0::/kubepods/besteffort/pod{UID}/{}\n", &ID[..63]),
            &format!("0::/kubepods/besteffort/pod{UID}/{}\n", ID.to_uppercase()),
        ] {
            assert_eq!(found(content), None, "{content:?}");
        }
    }

    #[test]
    fn outermost_container_segment_wins() {
        let other = "a".repeat(64);
        let content =
            format!("0::/kubepods/besteffort/pod{UID}/{ID}/cri-containerd-{other}.scope\n");
        assert_eq!(found(&content), expect(Runtime::Containerd, true));
    }

    #[test]
    fn static_pod_uid_is_a_hash() {
        let hash = "4b1c4b8b8d2ef8e7c2d1bbdba2c4f8a4";
        let c = parse(&format!("0::/kubepods/burstable/pod{hash}/{ID}\n")).expect("container");
        assert_eq!(c.pod_uid.as_deref(), Some(hash));
    }

    #[test]
    fn scheme_round_trip() {
        for r in [
            Runtime::Containerd,
            Runtime::CriO,
            Runtime::Docker,
            Runtime::Podman,
        ] {
            assert_eq!(Runtime::from_scheme(r.scheme()), Some(r));
        }
        assert_eq!(Runtime::from_scheme("rkt"), None);
    }
}
