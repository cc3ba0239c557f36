//! What the process itself tells, read the same way for every runtime kind: its executable (as the
//! container sees it, or found from argv[0]) and the libraries it has mapped.

use crate::read::paths::{file_name, normalize};
use crate::root::{Process, Root};

/// The process's executable path as the container sees it (without the kernel's " (deleted)").
pub fn exe_path(process: &Process) -> Option<&str> {
    process
        .exe
        .as_deref()
        .map(|e| e.strip_suffix(" (deleted)").unwrap_or(e))
}

/// The executable itself, then argv[0] (absolute, relative to cwd, or looked up in the process's PATH).
pub fn executable_candidates(root: &dyn Root, process: &Process) -> Vec<String> {
    let mut out: Vec<String> = exe_path(process).map(str::to_owned).into_iter().collect();
    if let Some(arg0) = process
        .argv
        .first()
        .filter(|a| !a.is_empty() && a.len() < 4096)
    {
        if arg0.contains('/') {
            out.push(normalize(process.cwd.as_deref().unwrap_or("/"), arg0));
        } else if let Some(path) = process.env_var("PATH") {
            if let Some(found) = path
                .split(':')
                .filter(|d| d.starts_with('/'))
                .take(64)
                .map(|d| normalize("/", &format!("{d}/{arg0}")))
                .find(|p| root.open(p).is_ok())
            {
                out.push(found);
            }
        }
    }
    out
}

/// The first mapped library whose file name starts with `prefix` and contains `.so`.
pub fn mapped_library<'a>(process: &'a Process, prefix: &str) -> Option<&'a str> {
    process.mapped_files.iter().map(String::as_str).find(|p| {
        file_name(p)
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.contains(".so"))
    })
}
