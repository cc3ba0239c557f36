//! Scanning one container: pin its workload process, gather what only a privileged process can read
//! about it, and run the analyzer inside the container with the workload's identity.

use crate::answer::{self, Answer};
use crate::discovery::{self, Container};
use crate::procfs;
use sandbox::process::{self, Exit, ReadEnd, Usage};
use sandbox::seccomp::Program;
use sandbox::spawn::{self, Limits, SpawnPlan};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The analyzer's answer is a few short lines.
pub const ANSWER_CAP: usize = 16 * 1024;
const CMDLINE_CAP: usize = 64 * 1024;
const ENVIRON_CAP: usize = 64 * 1024;
/// A large JVM maps a few thousand files; this keeps all of them.
const MAPS_CAP: usize = 4 * 1024 * 1024;

/// Only these variables of the workload reach the analyzer: they locate runtimes. The rest of the
/// environment (tokens, passwords) never leaves the coordinator.
const ENV_PASSED: &[&str] = &[
    "PATH",
    "CLASSPATH",
    "JAVA_HOME",
    "JRE_HOME",
    "JAVA_VERSION",
    "CATALINA_HOME",
    "CATALINA_BASE",
    "JBOSS_HOME",
    "KAFKA_HOME",
    "NODE_VERSION",
    "PYTHON_VERSION",
    "PYTHONHOME",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "GOROOT",
    "DOTNET_ROOT",
    "RUBY_VERSION",
    "PHP_VERSION",
    "ERL_LIBS",
];

pub struct Scanner {
    pub proc_root: PathBuf,
    pub analyzer: OwnedFd,
    /// The analyzers' stderr (see [`sandbox::process::stderr_sink`]).
    pub stderr_sink: OwnedFd,
    pub seccomp: Program,
    pub limits: Limits,
    pub timeout: Duration,
    pub analyzer_args: Vec<String>,
    pub report_identity: bool,
}

impl Scanner {
    /// Scans one container: its answer or why there is none, and what the analyzer used if it ran.
    pub fn scan(&self, container: &Container) -> (Result<Answer, String>, Option<Usage>) {
        let mut usage = None;
        let result = self.scan_with_usage(container, &mut usage);
        (result, usage)
    }

    fn scan_with_usage(
        &self,
        container: &Container,
        usage: &mut Option<Usage>,
    ) -> Result<Answer, String> {
        let pid = container.workload.pid;
        let proc_dir = self.proc_root.join(pid.to_string());
        let gone =
            |what: &str| format!("the container's process {pid} exited before the scan ({what})");

        // From here on the pidfd pins the process: if it ends, the final liveness check fails, so nothing
        // read in between can come from a process that reused the PID.
        let pidfd = process::pidfd_open(pid).map_err(|_| gone("pidfd"))?;
        let stat = procfs::read_stat(&self.proc_root, pid).map_err(|_| gone("stat"))?;
        if stat.start_time != container.workload.start_time {
            return Err(format!("PID {pid} was reused by another process"));
        }
        match discovery::container_of(&self.proc_root, &pid.to_string()) {
            Some(c) if c.id == container.id => {}
            _ => return Err(format!("PID {pid} no longer belongs to the container")),
        }
        let root =
            sandbox::fs::open_root(&path_str(&proc_dir.join("root"))?).map_err(|_| gone("root"))?;
        let status = procfs::read_bounded(&proc_dir.join("status"), 16 * 1024)
            .map_err(|_| gone("status"))?;
        let (uid, gid) = procfs::parse_status_ids(&String::from_utf8_lossy(&status))
            .ok_or_else(|| format!("unreadable uid/gid in /proc/{pid}/status"))?;
        let input = self.gather_input(&proc_dir).map_err(|e| gone(&e))?;
        if !process::pidfd_is_alive(pidfd.as_fd()) {
            return Err(gone("before the analyzer started"));
        }

        let input_fd = process::sealed_memfd_copy("scan-input", &input)
            .map_err(|e| format!("input memfd: {e}"))?;
        let args: Vec<&str> = self.analyzer_args.iter().map(String::as_str).collect();
        let plan = SpawnPlan::new(
            self.analyzer.as_fd(),
            input_fd.as_fd(),
            self.stderr_sink.as_fd(),
            pidfd.as_fd(),
            root.as_fd(),
            uid,
            gid,
            self.limits,
            &self.seccomp,
            &args,
        )
        .map_err(|e| format!("analyzer arguments: {e}"))?;
        let started = Instant::now();
        let running = plan.spawn().map_err(|e| format!("fork: {e}"))?;
        let read = process::read_bounded(&running.stdout, ANSWER_CAP, started + self.timeout);
        let needs_kill = !matches!(read, Ok((_, ReadEnd::Eof)));
        if needs_kill {
            running.kill();
        }
        let (exit, used) = running
            .wait()
            .map_err(|e| format!("waiting for the analyzer: {e}"))?;
        *usage = Some(used);
        let (bytes, end) = read.map_err(|e| format!("reading the analyzer's answer: {e}"))?;
        match (end, exit) {
            (ReadEnd::Deadline, _) => {
                Err(format!("the analyzer timed out after {:?}", self.timeout))
            }
            (ReadEnd::TooLarge, _) => {
                Err(format!("the analyzer's answer exceeded {ANSWER_CAP} bytes"))
            }
            (ReadEnd::Eof, Exit::Code(0)) => answer::parse(&bytes, self.report_identity),
            (ReadEnd::Eof, Exit::Code(code)) => Err(describe_exit(code)),
            (ReadEnd::Eof, Exit::Signal(signal)) => Err(format!(
                "the analyzer's sandbox was killed by signal {signal}"
            )),
        }
    }

    /// What the analyzer cannot read itself (it lacks the ptrace access these files need): the
    /// workload's executable path, working directory, command line, selected environment and mapped files, framed as
    /// `scan-input 1\n` then `<name> <length>\n<bytes>` for each.
    fn gather_input(&self, proc_dir: &Path) -> Result<Vec<u8>, String> {
        let link = |name: &str| {
            std::fs::read_link(proc_dir.join(name))
                .map(|p| p.into_os_string().into_encoded_bytes())
                .unwrap_or_default()
        };
        let (exe, cwd) = (link("exe"), link("cwd"));
        let cmdline =
            procfs::read_bounded(&proc_dir.join("cmdline"), CMDLINE_CAP).map_err(|_| "cmdline")?;
        let environ =
            procfs::read_bounded(&proc_dir.join("environ"), ENVIRON_CAP).map_err(|_| "environ")?;
        let maps = procfs::read_bounded(&proc_dir.join("maps"), MAPS_CAP).map_err(|_| "maps")?;
        let mut input = b"scan-input 1\n".to_vec();
        for (name, data) in [
            ("exe", exe),
            ("cwd", cwd),
            ("cmdline", cmdline),
            ("environ", filter_environ(&environ)),
            ("maps", maps),
        ] {
            input.extend_from_slice(format!("{name} {}\n", data.len()).as_bytes());
            input.extend_from_slice(&data);
        }
        Ok(input)
    }
}

/// Keeps the `NAME=value` entries whose name is in [`ENV_PASSED`] (a cut last entry is dropped).
fn filter_environ(environ: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let complete = environ.len() < ENVIRON_CAP;
    let mut entries: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
    if !complete {
        entries.pop();
    }
    for entry in entries {
        let name = entry.split(|b| *b == b'=').next().unwrap_or_default();
        if entry.contains(&b'=') && ENV_PASSED.iter().any(|n| n.as_bytes() == name) {
            out.extend_from_slice(entry);
            out.push(0);
        }
    }
    out
}

fn describe_exit(code: i32) -> String {
    if let Some(step) = spawn::describe_setup_failure(code) {
        return format!("the analyzer's sandbox could not be set up: {step} failed");
    }
    match code.checked_sub(128) {
        Some(signal) if signal == libc::SIGXCPU => {
            "the analyzer exceeded its CPU time limit".into()
        }
        Some(signal) if signal > 0 && signal < 65 => {
            format!("the analyzer was killed by signal {signal}")
        }
        _ => format!("the analyzer failed with exit status {code}"),
    }
}

fn path_str(path: &Path) -> Result<String, String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| format!("non-UTF-8 path {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environ_keeps_only_runtime_locators() {
        let env = b"PATH=/usr/bin\0DB_PASSWORD=hunter2\0JAVA_HOME=/opt/jdk\0JAVA_HOMEX=1\0broken\0";
        assert_eq!(
            filter_environ(env),
            b"PATH=/usr/bin\0JAVA_HOME=/opt/jdk\0".to_vec()
        );
    }

    #[test]
    fn cut_environ_drops_its_last_entry() {
        let mut env = b"JAVA_HOME=/opt/jdk\0".to_vec();
        env.resize(ENVIRON_CAP - 5, b'x');
        env.extend_from_slice(b"\0PATH");
        assert_eq!(filter_environ(&env), b"JAVA_HOME=/opt/jdk\0".to_vec());
    }

    #[test]
    fn exit_codes_are_explained() {
        assert!(describe_exit(spawn::SETUP_EXIT_BASE + 2).contains("setns"));
        assert!(describe_exit(128 + libc::SIGXCPU).contains("CPU"));
        assert!(describe_exit(128 + 9).contains("signal 9"));
        assert!(describe_exit(3).contains("status 3"));
    }
}
