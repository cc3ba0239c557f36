//! Command-line flags.

use crate::cgroup::{is_container_id, Runtime};
use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
Usage: scan-containers [options]

Finds the containers running on this node and prints, for each, what it is made of:
namespace -> pod -> <scheme>://<container id> -> {os-release-id, os-release-version-id, runtime-kind,
runtime-kind-version, runtime-kind-implementer, runtime-name, runtime-version, runtimes: at most 4 {name,
version}}, every value printable ASCII of at most 200 characters (contract/scan-tree.json).
Needs root with CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SYS_PTRACE, CAP_SETUID, CAP_SETGID, CAP_SETPCAP, and the
host's PID namespace.

Options:
  --pod-logs-dir DIR        kubelet's pod logs folder (default /var/log/pods)
  --container-logs-dir DIR  kubelet's container log links (default: the `containers` folder beside it)
  --container-ids IDS       scan only these containers (comma-separated, with or without scheme://)
  --runtime-scheme SCHEME   report ids as SCHEME://<id> instead of the scheme the cgroups imply
                            (containerd, cri-o, docker, podman)
  --concurrency N           containers scanned at once (default: number of CPUs, at most 4); each
                            analyzer may use up to 512 MiB of address space
  --timeout SECONDS         wall-clock limit for one container's analysis (default 10)
  --analyzer PATH           the analyzer executable (default: `analyzer` beside this executable)
  --output FILE             write the tree to FILE atomically instead of stdout
  --report FILE             write a machine-readable account of the run to FILE
  --node-name NAME          node name recorded in the report (default: $NODE_NAME, else the host name)
  --report-identity         have each analyzer report its own uid, gid, capabilities and filters in the
                            report (a check of the sandbox, for tests and audits)
  -h, --help                this text
  -V, --version             the version
";

#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub pod_logs_dir: PathBuf,
    pub container_logs_dir: PathBuf,
    /// Bare 64-hex ids to keep; `None` scans everything.
    pub container_ids: Option<Vec<String>>,
    pub runtime_scheme: Option<Runtime>,
    pub concurrency: usize,
    pub timeout: Duration,
    pub analyzer: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub report: Option<PathBuf>,
    pub node_name: Option<String>,
    pub report_identity: bool,
}

pub enum Parsed {
    Run(Options),
    Help,
    Version,
}

pub fn parse(args: &[String], default_concurrency: usize) -> Result<Parsed, String> {
    let mut pod_logs_dir = PathBuf::from("/var/log/pods");
    let mut container_logs_dir = None;
    let mut options = Options {
        pod_logs_dir: PathBuf::new(),
        container_logs_dir: PathBuf::new(),
        container_ids: None,
        runtime_scheme: None,
        concurrency: default_concurrency.max(1),
        timeout: Duration::from_secs(10),
        analyzer: None,
        output: None,
        report: None,
        node_name: None,
        report_identity: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "-h" | "--help" => return Ok(Parsed::Help),
            "-V" | "--version" => return Ok(Parsed::Version),
            "--pod-logs-dir" => pod_logs_dir = PathBuf::from(value()?),
            "--container-logs-dir" => container_logs_dir = Some(PathBuf::from(value()?)),
            "--container-ids" => options.container_ids = Some(parse_ids(&value()?)?),
            "--runtime-scheme" => {
                let v = value()?;
                options.runtime_scheme = Some(
                    Runtime::from_scheme(&v)
                        .ok_or_else(|| format!("unknown runtime scheme {v:?}"))?,
                );
            }
            "--concurrency" => {
                let v = value()?;
                options.concurrency = v
                    .parse()
                    .ok()
                    .filter(|n| (1..=256).contains(n))
                    .ok_or_else(|| format!("--concurrency must be 1..256, not {v:?}"))?;
            }
            "--timeout" => {
                let v = value()?;
                let seconds: f64 = v
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 3600.0)
                    .ok_or_else(|| format!("--timeout must be seconds in (0, 3600], not {v:?}"))?;
                options.timeout = Duration::from_secs_f64(seconds);
            }
            "--analyzer" => options.analyzer = Some(PathBuf::from(value()?)),
            "--output" => options.output = Some(PathBuf::from(value()?)),
            "--report" => options.report = Some(PathBuf::from(value()?)),
            "--node-name" => options.node_name = Some(value()?),
            "--report-identity" => options.report_identity = true,
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    options.container_logs_dir = container_logs_dir.unwrap_or_else(|| {
        pod_logs_dir
            .parent()
            .map(|p| p.join("containers"))
            .unwrap_or_else(|| "containers".into())
    });
    options.pod_logs_dir = pod_logs_dir;
    Ok(Parsed::Run(options))
}

/// `a,b,c` where each is `<64 hex>` or `<scheme>://<64 hex>`.
fn parse_ids(list: &str) -> Result<Vec<String>, String> {
    let ids: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let bare = match item.split_once("://") {
                Some((scheme, id)) if Runtime::from_scheme(scheme).is_some() => id,
                Some((scheme, _)) => {
                    return Err(format!(
                        "unknown runtime scheme {scheme:?} in --container-ids"
                    ))
                }
                None => item,
            };
            let bare = bare.to_ascii_lowercase();
            if is_container_id(&bare) {
                Ok(bare)
            } else {
                Err(format!("{item:?} is not a container id (64 hex digits)"))
            }
        })
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err("--container-ids is empty".into());
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Options, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&args, 4)? {
            Parsed::Run(o) => Ok(o),
            _ => Err("not a run".into()),
        }
    }

    const ID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

    #[test]
    fn defaults() {
        let o = run(&[]).unwrap();
        assert_eq!(o.pod_logs_dir, PathBuf::from("/var/log/pods"));
        assert_eq!(o.container_logs_dir, PathBuf::from("/var/log/containers"));
        assert_eq!((o.concurrency, o.timeout), (4, Duration::from_secs(10)));
        assert_eq!(o.container_ids, None);
    }

    #[test]
    fn container_logs_dir_follows_pod_logs_dir() {
        let o = run(&["--pod-logs-dir", "/x/log/pods"]).unwrap();
        assert_eq!(o.container_logs_dir, PathBuf::from("/x/log/containers"));
        let o = run(&["--pod-logs-dir=/x/log/pods", "--container-logs-dir", "/y"]).unwrap();
        assert_eq!(o.container_logs_dir, PathBuf::from("/y"));
    }

    #[test]
    fn container_ids_with_and_without_scheme() {
        let upper = ID.to_uppercase();
        let list = format!("containerd://{ID}, cri-o://{upper},{ID}");
        let o = run(&["--container-ids", &list]).unwrap();
        assert_eq!(
            o.container_ids,
            Some(vec![ID.to_string(), ID.to_string(), ID.to_string()])
        );
        assert!(run(&["--container-ids", "abc"])
            .unwrap_err()
            .contains("not a container id"));
        assert!(run(&["--container-ids", &format!("rkt://{ID}")])
            .unwrap_err()
            .contains("unknown runtime scheme"));
        assert!(run(&["--container-ids", ","]).is_err());
    }

    #[test]
    fn bad_values_are_refused_clearly() {
        assert!(run(&["--concurrency", "0"])
            .unwrap_err()
            .contains("--concurrency"));
        assert!(run(&["--timeout", "-1"]).unwrap_err().contains("--timeout"));
        assert!(run(&["--timeout", "NaN"])
            .unwrap_err()
            .contains("--timeout"));
        assert!(run(&["--runtime-scheme", "rkt"])
            .unwrap_err()
            .contains("rkt"));
        assert!(run(&["--output"]).unwrap_err().contains("needs a value"));
        assert!(run(&["--bogus"]).unwrap_err().contains("unknown argument"));
    }

    #[test]
    fn scheme_override() {
        assert_eq!(
            run(&["--runtime-scheme", "cri-o"]).unwrap().runtime_scheme,
            Some(Runtime::CriO)
        );
    }
}
