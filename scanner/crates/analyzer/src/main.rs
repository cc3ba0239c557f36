//! The analyzer: started by `scan-containers` inside one container (its namespaces but the user
//! namespace, chrooted to the workload's root, as the workload's uid and gid, with no capabilities,
//! no_new_privs, seccomp and rlimits). It reads files only, never executes anything, and answers on
//! stdout with `key=value` lines and a final `done`. Its input (stdin) is what the coordinator saw of the
//! workload process.

mod container_root;
mod input;

use std::io::{Read, Write};
use std::process::ExitCode;

/// The analyzer is a static musl binary (it starts once per container, and musl starts fast), but musl's
/// own malloc maps and unmaps a page for nearly every allocation it frees: a system call, a page fault
/// and a TLB flush each, about 0.3 ms of CPU per container here (docs/benchmarks.md). dlmalloc keeps
/// freed memory for the next allocation, as glibc's malloc does.
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> ExitCode {
    if sandbox::identity::restrict_self().is_err() {
        return ExitCode::from(2);
    }
    let report_identity = std::env::args().skip(1).any(|a| a == "--report-identity");
    let mut input = Vec::new();
    if std::io::stdin()
        .lock()
        .take(input::MAX_INPUT as u64)
        .read_to_end(&mut input)
        .is_err()
    {
        return ExitCode::from(3);
    }
    let process = match input::parse(&input) {
        Ok(process) => process,
        Err(_) => return ExitCode::from(4),
    };
    let root = match container_root::ContainerRoot::open() {
        Ok(root) => root,
        Err(_) => return ExitCode::from(5),
    };
    let fingerprint = fingerprints::fingerprint(&root, &process);
    drop(root);
    let mut answer = String::new();
    let runtimes = fingerprint.runtime_entries();
    let lines = fingerprint
        .entries()
        .into_iter()
        .chain(runtimes.iter().map(|(k, v)| (k.as_str(), *v)));
    for (key, value) in lines {
        // Values are validated by the fingerprints; a newline would break the framing, so refuse it here too.
        if !value.contains('\n') {
            answer.push_str(&format!("{key}={value}\n"));
        }
    }
    if report_identity {
        answer.push_str(&identity_lines());
    }
    answer.push_str("done\n");
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(answer.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(6);
    }
    drop(stdout);
    // Nothing is left open for the moment of exit (see the function).
    sandbox::process::close_standard_descriptors();
    ExitCode::SUCCESS
}

/// The analyzer's own credentials, as the kernel reports them, for `--report-identity`.
fn identity_lines() -> String {
    let Ok(id) = sandbox::identity::current() else {
        return String::new();
    };
    let join = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let groups = if id.groups.is_empty() {
        "none".to_string()
    } else {
        join(&id.groups)
    };
    format!(
        "analyzer-uid={}\nanalyzer-gid={}\nanalyzer-groups={groups}\nanalyzer-cap-effective={:016x}\nanalyzer-cap-permitted={:016x}\nanalyzer-cap-bounding={}\nanalyzer-no-new-privs={}\nanalyzer-seccomp={}\nanalyzer-dumpable={}\n",
        join(&id.uid),
        join(&id.gid),
        id.cap_effective,
        id.cap_permitted,
        id.cap_bounding,
        id.no_new_privs,
        id.seccomp_mode,
        id.dumpable,
    )
}
