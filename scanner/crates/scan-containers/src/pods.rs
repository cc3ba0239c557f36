//! Naming pods and containers from kubelet's log folders, without asking the container runtime.
//!
//! kubelet keeps `<pod-logs-dir>/<namespace>_<pod>_<uid>/` for every pod on the node, and beside it
//! `containers/<pod>_<namespace>_<container>-<id>.log` links for every app container (never for the pod's
//! sandbox). Namespace, pod and container names cannot contain `_` (DNS-1123), so both names split cleanly.

use crate::cgroup::{is_container_id, is_pod_uid};
use std::collections::HashMap;
use std::io;
use std::path::Path;

/// Folders beyond this many are ignored (kubelet's default is 110 pods per node).
pub const MAX_ENTRIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodName {
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerLink {
    pub namespace: String,
    pub pod: String,
    pub container: String,
}

/// Parses `<namespace>_<pod>_<uid>`.
pub fn parse_pod_folder(name: &str) -> Option<(String, PodName)> {
    let mut parts = name.split('_');
    let (namespace, pod, uid) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !is_dns_label(namespace)
        || !is_dns_subdomain(pod)
        || !is_pod_uid(uid)
    {
        return None;
    }
    Some((
        uid.to_string(),
        PodName {
            namespace: namespace.to_string(),
            name: pod.to_string(),
        },
    ))
}

/// Parses `<pod>_<namespace>_<container>-<64 hex id>.log`.
pub fn parse_container_link(name: &str) -> Option<(String, ContainerLink)> {
    let stem = name.strip_suffix(".log")?;
    let (rest, id) = stem.rsplit_once('-')?;
    let mut parts = rest.split('_');
    let (pod, namespace, container) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !is_container_id(id)
        || !is_dns_subdomain(pod)
        || !is_dns_label(namespace)
        || !is_dns_label(container)
    {
        return None;
    }
    let link = ContainerLink {
        namespace: namespace.into(),
        pod: pod.into(),
        container: container.into(),
    };
    Some((id.to_string(), link))
}

/// RFC 1123 label: namespaces and container names.
pub fn is_dns_label(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: pod names.
pub fn is_dns_subdomain(s: &str) -> bool {
    (1..=253).contains(&s.len()) && s.split('.').all(is_dns_label)
}

/// Reads the entry names of a folder, at most [`MAX_ENTRIES`], skipping names that are not UTF-8.
fn entry_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)?.take(MAX_ENTRIES) {
        if let Ok(name) = entry?.file_name().into_string() {
            names.push(name);
        }
    }
    Ok(names)
}

/// Pod UID -> namespace and name, from the pod logs folder.
pub fn index_pods(pod_logs_dir: &Path) -> io::Result<HashMap<String, PodName>> {
    Ok(entry_names(pod_logs_dir)?
        .iter()
        .filter_map(|n| parse_pod_folder(n))
        .collect())
}

/// Container id -> container link, from the container logs folder.
pub fn index_containers(container_logs_dir: &Path) -> io::Result<HashMap<String, ContainerLink>> {
    Ok(entry_names(container_logs_dir)?
        .iter()
        .filter_map(|n| parse_container_link(n))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    #[test]
    fn pod_folders() {
        let (uid, pod) = parse_pod_folder(
            "kube-system_coredns-5d78c9869d-x2x7k_6b1c7a8e-2d4f-4e1a-9c3b-5a6d7e8f9a0b",
        )
        .expect("valid folder");
        assert_eq!(uid, "6b1c7a8e-2d4f-4e1a-9c3b-5a6d7e8f9a0b");
        assert_eq!(
            pod,
            PodName {
                namespace: "kube-system".into(),
                name: "coredns-5d78c9869d-x2x7k".into()
            }
        );
        let (uid, pod) =
            parse_pod_folder("kube-system_etcd-node.example.com_4b1c4b8b8d2ef8e7c2d1bbdba2c4f8a4")
                .expect("static pod with a dotted name");
        assert_eq!(
            (uid.as_str(), pod.name.as_str()),
            ("4b1c4b8b8d2ef8e7c2d1bbdba2c4f8a4", "etcd-node.example.com")
        );
    }

    #[test]
    fn bad_pod_folders() {
        for name in [
            "",
            "ns_pod",
            "ns_pod_uid_extra",
            "NS_pod_6b1c7a8e-2d4f-4e1a-9c3b-5a6d7e8f9a0b",
            "ns_pod_not-a-uid!",
            "-ns_pod_6b1c7a8e",
            "ns_pod..x_6b1c7a8e",
            "ns_pod_---",
        ] {
            assert_eq!(parse_pod_folder(name), None, "{name}");
        }
    }

    #[test]
    fn container_links() {
        let (id, link) = parse_container_link(&format!("web-7d9f_shop_nginx-proxy-{ID}.log"))
            .expect("valid link");
        assert_eq!(id, ID);
        assert_eq!(
            link,
            ContainerLink {
                namespace: "shop".into(),
                pod: "web-7d9f".into(),
                container: "nginx-proxy".into()
            }
        );
    }

    #[test]
    fn bad_container_links() {
        for name in [
            format!("web_shop_nginx-{ID}"),
            format!("web_shop_nginx-{}.log", &ID[1..]),
            format!("web_shop-{ID}.log"),
            format!("web_shop_a_b-{ID}.log"),
            format!("web_Shop_nginx-{ID}.log"),
            "0.log".to_string(),
        ] {
            assert_eq!(parse_container_link(&name), None, "{name}");
        }
    }

    #[test]
    fn indexes_read_real_folders() {
        let dir = std::env::temp_dir().join(format!("pods-index-{}", std::process::id()));
        let pods = dir.join("pods");
        let containers = dir.join("containers");
        std::fs::create_dir_all(pods.join("shop_web-1_6b1c7a8e-2d4f-4e1a-9c3b-5a6d7e8f9a0b/nginx"))
            .unwrap();
        std::fs::create_dir_all(pods.join("not a pod folder")).unwrap();
        std::fs::create_dir_all(&containers).unwrap();
        std::os::unix::fs::symlink(
            "/nowhere/0.log",
            containers.join(format!("web-1_shop_nginx-{ID}.log")),
        )
        .unwrap();
        let pod_index = index_pods(&pods).unwrap();
        let container_index = index_containers(&containers).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(pod_index.len(), 1);
        assert_eq!(
            pod_index["6b1c7a8e-2d4f-4e1a-9c3b-5a6d7e8f9a0b"].name,
            "web-1"
        );
        assert_eq!(container_index[ID].container, "nginx");
        assert!(index_pods(&dir.join("missing")).is_err());
    }
}
