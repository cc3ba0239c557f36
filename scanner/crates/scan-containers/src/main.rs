//! `scan-containers`: the privileged coordinator. See docs/security.md for what runs with which privilege.

use scan_containers::answer;
mod cgroup;
mod cli;
#[cfg(test)]
mod contract_check;
mod discovery;
mod json_writer;
mod log;
mod output;
mod pods;
mod procfs;
mod sandboxed_analysis;
mod workload;

use discovery::{Container, Discovery, Sources};
use sandbox::seccomp::{Program, ANALYZER_SYSCALLS};
use sandbox::spawn::Limits;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Exit codes: the scan as a whole could not run. Per-container failures never change the exit code.
const EXIT_FAILURE: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_NOT_PRIVILEGED: u8 = 3;

/// The analyzer's limits. The fingerprints' own caps keep a hostile container's worst case near 200 MiB
/// (a 64 MiB nested jar beside a 32 MiB central directory, ...); the address space allows for that with room.
/// Peak memory of a scan is at most `concurrency` times this, plus the coordinator's ~16 MiB.
const LIMITS: Limits = Limits {
    address_space_bytes: 512 << 20,
    cpu_seconds: 5,
    open_files: 64,
};
/// Default concurrency: the number of CPUs, but no more than this, so that the default memory bound
/// (see [`LIMITS`]) stays near 2 GiB on large nodes.
const MAX_DEFAULT_CONCURRENCY: usize = 4;
/// A real analyzer binary is a few MiB.
const ANALYZER_MAX_BYTES: u64 = 64 * 1024 * 1024;

fn main() -> ExitCode {
    // Before anything else: every child forks from here and inherits this, so no child is ever reachable
    // through /proc/<pid>/ (fd, root, maps, mem) by a process without CAP_SYS_PTRACE, not even between
    // two of its sandbox steps (docs/security.md).
    if let Err(e) = sandbox::identity::set_not_dumpable() {
        log::error(
            "making the scanner non-dumpable",
            &[("error", &e.to_string())],
        );
        return ExitCode::from(EXIT_FAILURE);
    }
    // Also before any thread starts (the bounding set is per thread and inherited): the coordinator never
    // executes anything itself, so it needs no bounding set, and no sandbox has to drop one (each drop is
    // a credential change; docs/security.md). Its own effective and permitted capabilities stay. Without
    // CAP_SETPCAP (EPERM) the scan cannot run anyway, which `check_privileges` reports.
    if let Err(e) = sandbox::identity::empty_bounding_set().or_else(|e| {
        if e.raw_os_error() == Some(libc::EPERM) {
            Ok(())
        } else {
            Err(e)
        }
    }) {
        log::error(
            "emptying the capability bounding set",
            &[("error", &e.to_string())],
        );
        return ExitCode::from(EXIT_FAILURE);
    }
    if let Err(e) = sandbox::process::ensure_standard_fds()
        .and_then(|()| sandbox::process::close_inherited_on_exec())
    {
        log::error("standard descriptors", &[("error", &e.to_string())]);
        return ExitCode::from(EXIT_FAILURE);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(MAX_DEFAULT_CONCURRENCY);
    let options = match cli::parse(&args, cpus) {
        Ok(cli::Parsed::Run(options)) => options,
        Ok(cli::Parsed::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Ok(cli::Parsed::Version) => {
            println!("scan-containers {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            log::error("invalid command line", &[("error", &e)]);
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::NotPrivileged(e)) => {
            log::error("not privileged enough to scan containers", &[("error", &e)]);
            ExitCode::from(EXIT_NOT_PRIVILEGED)
        }
        Err(Failure::Other(e)) => {
            log::error("scan failed", &[("error", &e)]);
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

enum Failure {
    NotPrivileged(String),
    Other(String),
}

/// The outcome of one container.
pub struct Outcome {
    pub container: Container,
    pub result: Result<answer::Answer, String>,
    /// What the analyzer used, when one ran.
    pub usage: Option<sandbox::process::Usage>,
    pub duration: Duration,
}

fn run(options: &cli::Options) -> Result<(), Failure> {
    let started_at = SystemTime::now();
    let started = Instant::now();
    let proc_root = Path::new("/proc");
    check_privileges(proc_root).map_err(Failure::NotPrivileged)?;
    let scanner = prepare_scanner(options, proc_root).map_err(Failure::Other)?;

    let own_container = discovery::container_of(proc_root, "self").map(|c| c.id);
    let sources = Sources {
        proc_root,
        pod_logs_dir: &options.pod_logs_dir,
        container_logs_dir: &options.container_logs_dir,
        own_container,
    };
    let Discovery {
        mut containers,
        sandboxes_skipped,
        warnings,
    } = discovery::discover(&sources).map_err(|e| Failure::Other(format!("reading /proc: {e}")))?;
    for warning in &warnings {
        log::warn(warning, &[]);
    }
    let found = containers.len();
    if let Some(ids) = &options.container_ids {
        containers.retain(|c| ids.contains(&c.id));
        for id in ids
            .iter()
            .filter(|id| !containers.iter().any(|c| &c.id == *id))
        {
            log::warn("requested container not found on this node", &[("id", id)]);
        }
    }
    log::info(
        "containers discovered",
        &[
            ("found", &found.to_string()),
            ("selected", &containers.len().to_string()),
            ("sandboxes_skipped", &sandboxes_skipped.to_string()),
            ("concurrency", &options.concurrency.to_string()),
        ],
    );

    let outcomes = scan_all(&scanner, containers, options.concurrency);
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let scheme = options.runtime_scheme.map(|r| r.scheme());
    for outcome in &outcomes {
        if let Err(e) = &outcome.result {
            let id = outcome.container.qualified_id(scheme);
            log::warn("container not scanned", &[("id", &id), ("error", e)]);
        }
    }
    let tree = output::tree(&outcomes, scheme);
    match &options.output {
        Some(path) => output::write_atomically(path, &tree)
            .map_err(|e| Failure::Other(format!("writing {}: {e}", path.display())))?,
        None => output::write_stdout(&tree)
            .map_err(|e| Failure::Other(format!("writing stdout: {e}")))?,
    }
    if let Some(path) = &options.report {
        let run = output::RunSummary {
            node: node_name(options),
            started_at,
            duration: started.elapsed(),
            found,
            sandboxes_skipped,
            warnings,
            coordinator_max_rss_kb: procfs::read_bounded(&proc_root.join("self/status"), 16 * 1024)
                .ok()
                .and_then(|s| procfs::parse_status_peak_rss_kb(&String::from_utf8_lossy(&s))),
            cpu: sandbox::process::cpu_used_with_children().ok(),
        };
        let report = output::report(&run, &outcomes, scheme);
        output::write_atomically(path, &report)
            .map_err(|e| Failure::Other(format!("writing {}: {e}", path.display())))?;
    }
    log::info(
        "scan finished",
        &[
            ("scanned", &(outcomes.len() - failed).to_string()),
            ("failed", &failed.to_string()),
            ("duration_ms", &started.elapsed().as_millis().to_string()),
        ],
    );
    Ok(())
}

/// Scans with at most `concurrency` containers in flight; results keep the containers' order.
fn scan_all(
    scanner: &sandboxed_analysis::Scanner,
    containers: Vec<Container>,
    concurrency: usize,
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> =
        Mutex::new((0..containers.len()).map(|_| None).collect());
    let workers = concurrency.min(containers.len());
    let ready = Barrier::new(workers);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                // A thread's first allocation gives it its malloc arena. Once every worker has one, and
                // before any sandbox starts, the coordinator's memory is left out of every sandbox's copy
                // (sandbox::child_copy): CPU saved per container, and no child 2 holds its data.
                drop(std::hint::black_box(Box::new(0u8)));
                if ready.wait().is_leader() {
                    exclude_coordinator_memory();
                }
                ready.wait();
                scan_from(scanner, &containers, &next, &results);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

fn exclude_coordinator_memory() {
    if let Err(e) = sandbox::child_copy::exclude_coordinator_memory() {
        log::warn(
            "the scanner's memory is copied into every sandbox (more CPU per container)",
            &[("error", &e.to_string())],
        );
    }
}

/// One worker: takes the next container until none is left.
fn scan_from(
    scanner: &sandboxed_analysis::Scanner,
    containers: &[Container],
    next: &AtomicUsize,
    results: &Mutex<Vec<Option<Outcome>>>,
) {
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(container) = containers.get(index) else {
            break;
        };
        let started = Instant::now();
        let (result, usage) = scanner.scan(container);
        let outcome = Outcome {
            container: container.clone(),
            result,
            usage,
            duration: started.elapsed(),
        };
        if let Ok(mut slots) = results.lock() {
            slots[index] = Some(outcome);
        }
    }
}

fn prepare_scanner(
    options: &cli::Options,
    proc_root: &Path,
) -> Result<sandboxed_analysis::Scanner, String> {
    let analyzer_path = match &options.analyzer {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("locating this executable: {e}"))?
            .with_file_name("analyzer"),
    };
    let analyzer = read_analyzer(&analyzer_path)?;
    let analyzer = match sandbox::process::sealed_executable_copy("analyzer", &analyzer) {
        Ok(memfd) => memfd,
        // vm.memfd_noexec=2 forbids executable memfds: fall back to the file itself, which the scanner
        // image ships read-only (docs/security.md).
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
            log::warn(
                "executable memfds are forbidden here (vm.memfd_noexec); executing the analyzer file itself",
                &[("path", &analyzer_path.display().to_string())],
            );
            std::fs::File::open(&analyzer_path)
                .map(std::os::fd::OwnedFd::from)
                .map_err(|e| format!("opening the analyzer {}: {e}", analyzer_path.display()))?
        }
        Err(e) => return Err(format!("copying the analyzer into a sealed memfd: {e}")),
    };
    let stderr_sink =
        sandbox::process::stderr_sink().map_err(|e| format!("the analyzers' stderr: {e}"))?;
    let mut analyzer_args = vec!["analyzer".to_string()];
    if options.report_identity {
        analyzer_args.push("--report-identity".into());
    }
    Ok(sandboxed_analysis::Scanner {
        proc_root: proc_root.to_path_buf(),
        analyzer,
        stderr_sink,
        seccomp: Program::allow_only(ANALYZER_SYSCALLS),
        limits: LIMITS,
        timeout: options.timeout,
        analyzer_args,
        report_identity: options.report_identity,
    })
}

fn read_analyzer(path: &PathBuf) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| format!("opening the analyzer {}: {e}", path.display()))?;
    let mut data = Vec::new();
    file.take(ANALYZER_MAX_BYTES + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("reading the analyzer {}: {e}", path.display()))?;
    if data.len() as u64 > ANALYZER_MAX_BYTES || !data.starts_with(b"\x7fELF") {
        return Err(format!("{} is not an analyzer executable", path.display()));
    }
    Ok(data)
}

/// The capabilities the scan needs, from the `CapEff` line of our own status.
fn check_privileges(proc_root: &Path) -> Result<(), String> {
    const NEEDED: &[(u32, &str)] = &[
        (6, "CAP_SETGID"),
        (7, "CAP_SETUID"),
        (8, "CAP_SETPCAP"),
        (18, "CAP_SYS_CHROOT"),
        (19, "CAP_SYS_PTRACE"),
        (21, "CAP_SYS_ADMIN"),
    ];
    let status = procfs::read_bounded(&proc_root.join("self/status"), 16 * 1024)
        .map_err(|e| format!("reading /proc/self/status: {e}"))?;
    let status = String::from_utf8_lossy(&status);
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .ok_or("no CapEff in /proc/self/status")?;
    let missing: Vec<&str> = NEEDED
        .iter()
        .filter(|(bit, _)| effective & (1 << bit) == 0)
        .map(|(_, n)| *n)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "missing {} (run as root in a privileged container with hostPID)",
            missing.join(", ")
        ))
    }
}

fn node_name(options: &cli::Options) -> String {
    options
        .node_name
        .clone()
        .or_else(|| std::env::var("NODE_NAME").ok())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_default()
}
