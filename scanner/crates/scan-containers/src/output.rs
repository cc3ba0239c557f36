//! The two outputs: the tree (the `/scan-containers` contract) and the run report.

use crate::answer::IDENTITY_KEYS;
use crate::json_writer::Json;
use crate::Outcome;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `namespace -> pod -> <scheme>://<id> -> fields`, sorted, scanned containers only (failures are in the
/// report). A scanned container with nothing detected is an empty object.
pub fn tree(outcomes: &[Outcome], scheme: Option<&str>) -> Json {
    let mut tree: BTreeMap<&str, BTreeMap<&str, BTreeMap<String, Json>>> = BTreeMap::new();
    for outcome in outcomes {
        let Ok(answer) = &outcome.result else {
            continue;
        };
        let c = &outcome.container;
        let mut fields: Vec<(String, Json)> = answer
            .ordered_fields()
            .into_iter()
            .map(|(k, v)| (k.to_string(), Json::str(v)))
            .collect();
        if !answer.runtimes.is_empty() {
            let list = answer
                .runtimes
                .iter()
                .map(|(name, version)| {
                    let mut entry = vec![("name".to_string(), Json::str(name))];
                    if let Some(v) = version {
                        entry.push(("version".to_string(), Json::str(v)));
                    }
                    Json::Obj(entry)
                })
                .collect();
            fields.push(("runtimes".to_string(), Json::Arr(list)));
        }
        tree.entry(&c.namespace)
            .or_default()
            .entry(&c.pod)
            .or_default()
            .insert(c.qualified_id(scheme), Json::Obj(fields));
    }
    Json::Obj(
        tree.into_iter()
            .map(|(ns, pods)| {
                let pods = pods
                    .into_iter()
                    .map(|(pod, ids)| (pod.to_string(), Json::Obj(ids.into_iter().collect())))
                    .collect();
                (ns.to_string(), Json::Obj(pods))
            })
            .collect(),
    )
}

pub struct RunSummary {
    pub node: String,
    pub started_at: SystemTime,
    pub duration: Duration,
    pub found: usize,
    pub sandboxes_skipped: usize,
    pub warnings: Vec<String>,
    /// The coordinator's own peak resident memory (`VmHWM`) when the report is made, in KiB.
    pub coordinator_max_rss_kb: Option<u64>,
    /// CPU time of the whole run: the coordinator and every sandbox it waited for.
    pub cpu: Option<Duration>,
}

/// The machine-readable account of a run (format documented in README).
pub fn report(run: &RunSummary, outcomes: &[Outcome], scheme: Option<&str>) -> Json {
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let containers = outcomes
        .iter()
        .map(|o| {
            let c = &o.container;
            let mut fields = vec![
                ("namespace".to_string(), Json::str(&c.namespace)),
                ("pod".to_string(), Json::str(&c.pod)),
                ("id".to_string(), Json::str(c.qualified_id(scheme))),
            ];
            if let Some(name) = &c.name {
                fields.push(("container".into(), Json::str(name)));
            }
            fields.push(("pid".into(), Json::Int(i64::from(c.workload.pid))));
            fields.push(("process".into(), Json::str(&c.workload.comm)));
            fields.push(("processes".into(), Json::Int(c.process_count as i64)));
            match &o.result {
                Ok(answer) => {
                    fields.push(("status".into(), Json::str("scanned")));
                    if !answer.dropped.is_empty() {
                        fields.push((
                            "dropped".into(),
                            Json::Arr(answer.dropped.iter().map(Json::str).collect()),
                        ));
                    }
                    if !answer.identity.is_empty() {
                        let identity = IDENTITY_KEYS
                            .iter()
                            .filter_map(|k| {
                                answer
                                    .identity
                                    .get(*k)
                                    .map(|v| (k.to_string(), Json::str(v)))
                            })
                            .collect();
                        fields.push(("analyzer".into(), Json::Obj(identity)));
                    }
                }
                Err(e) => {
                    fields.push(("status".into(), Json::str("failed")));
                    fields.push(("error".into(), Json::str(e)));
                }
            }
            fields.push((
                "durationMs".into(),
                Json::Int(o.duration.as_millis() as i64),
            ));
            if let Some(usage) = o.usage {
                fields.push(("analyzerCpuMs".into(), Json::Int(usage.cpu_ms as i64)));
                fields.push((
                    "analyzerMaxRssKb".into(),
                    Json::Int(usage.max_rss_kb as i64),
                ));
            }
            Json::Obj(fields)
        })
        .collect();
    Json::Obj(
        [
            ("version".into(), Json::Int(1)),
            ("node".into(), Json::str(&run.node)),
            ("startedAt".into(), Json::str(rfc3339(run.started_at))),
            (
                "durationMs".into(),
                Json::Int(run.duration.as_millis() as i64),
            ),
            ("containersFound".into(), Json::Int(run.found as i64)),
            (
                "containersScanned".into(),
                Json::Int((outcomes.len() - failed) as i64),
            ),
            ("containersFailed".into(), Json::Int(failed as i64)),
            (
                "sandboxesSkipped".into(),
                Json::Int(run.sandboxes_skipped as i64),
            ),
            (
                "warnings".into(),
                Json::Arr(run.warnings.iter().map(Json::str).collect()),
            ),
        ]
        .into_iter()
        .chain(
            run.cpu
                .map(|cpu| ("cpuMs".into(), Json::Int(cpu.as_millis() as i64))),
        )
        .chain(
            run.coordinator_max_rss_kb
                .map(|kb| ("coordinatorMaxRssKb".into(), Json::Int(kb as i64))),
        )
        .chain([("containers".into(), Json::Arr(containers))])
        .collect(),
    )
}

/// UTC time as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days conversion, so no date library is needed).
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn write_stdout(doc: &Json) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(doc.to_pretty().as_bytes())?;
    out.flush()
}

/// Writes beside the target, syncs, then renames: a reader sees the old file or the whole new one.
pub fn write_atomically(path: &Path, doc: &Json) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file path"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(name);
    temp_name.push(format!(".tmp-{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(doc.to_pretty().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(1_795_454_003)),
            "2026-11-23T17:13:23Z"
        );
    }

    #[test]
    fn atomic_write_replaces_whole_file() {
        let dir = std::env::temp_dir().join(format!("atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scan.json");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, &Json::Obj(vec![])).unwrap();
        let content = std::fs::read_to_string(&path).unwrap();
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(content, "{}\n");
        assert_eq!(leftovers, 1);
        assert!(write_atomically(&dir.join("missing/x.json"), &Json::Obj(vec![])).is_err());
    }
}

#[cfg(test)]
mod tree_tests {
    use super::*;
    use crate::answer;
    use crate::cgroup::Runtime;
    use crate::discovery::Container;
    use crate::workload::Candidate;

    #[test]
    fn the_tree_lists_every_runtime_in_order_after_the_seven_keys() {
        let answer = answer::parse(b"runtime-kind=Java\nruntime-name=Spring Boot\nruntime-version=3.5.13\nruntimes.0.name=Spring Boot\nruntimes.0.version=3.5.13\nruntimes.1.name=Apache Tomcat\ndone\n", false)
            .expect("valid");
        let container = Container {
            id: "a".repeat(64),
            runtime: Runtime::Containerd,
            pod_uid: None,
            namespace: "shop".into(),
            pod: "web".into(),
            name: None,
            workload: Candidate {
                pid: 1,
                ppid: 0,
                comm: "java".into(),
                state: 'S',
                start_time: 0,
                exe: None,
                argv: Vec::new(),
            },
            process_count: 1,
        };
        let outcome = Outcome {
            container,
            result: Ok(answer),
            usage: None,
            duration: Duration::ZERO,
        };
        let text = tree(&[outcome], None).to_pretty();
        let expected = format!(
            "{{\n  \"shop\": {{\n    \"web\": {{\n      \"containerd://{}\": {{\n        \"runtime-kind\": \"Java\",\n        \"runtime-name\": \"Spring Boot\",\n        \"runtime-version\": \"3.5.13\",\n        \"runtimes\": [\n          {{\n            \"name\": \"Spring Boot\",\n            \"version\": \"3.5.13\"\n          }},\n          {{\n            \"name\": \"Apache Tomcat\"\n          }}\n        ]\n      }}\n    }}\n  }}\n}}\n",
            "a".repeat(64)
        );
        assert_eq!(text, expected);
    }
}
