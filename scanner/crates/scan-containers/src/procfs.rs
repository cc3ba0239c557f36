//! Bounded reads of the host's `/proc`. Every file here is written by the kernel, but its content
//! (command names, paths) is chosen by container processes, so it is parsed as hostile input.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// What most `/proc` files read here fit in (`stat`, `cgroup`, `status`): read in one system call, not
/// in the doubling steps an empty buffer takes (a scan reads thousands of them).
const FIRST_READ: usize = 8 * 1024;

/// Reads at most `cap` bytes of a file.
pub fn read_bounded(path: &Path, cap: usize) -> io::Result<Vec<u8>> {
    let mut data = Vec::with_capacity(cap.min(FIRST_READ));
    File::open(path)?.take(cap as u64).read_to_end(&mut data)?;
    Ok(data)
}

/// Numeric entries of a proc folder: the PIDs that exist now.
pub fn list_pids(proc_root: &Path) -> io::Result<Vec<i32>> {
    let mut pids: Vec<i32> = std::fs::read_dir(proc_root)?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|pid: &i32| *pid > 0)
        .collect();
    pids.sort_unstable();
    Ok(pids)
}

/// The fields of `/proc/<pid>/stat` that choosing a workload needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    pub state: char,
    pub ppid: i32,
    /// Clock ticks after boot; with the PID it identifies a process across PID reuse.
    pub start_time: u64,
}

/// Parses `/proc/<pid>/stat`: `pid (comm) state ppid ... starttime(22nd field) ...`. The command name
/// may contain spaces and parentheses, so it runs to the LAST `)`.
pub fn parse_stat(content: &str) -> Option<Stat> {
    let open = content.find('(')?;
    let close = content.rfind(')')?;
    let comm = content.get(open + 1..close)?.to_string();
    let mut fields = content.get(close + 1..)?.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    // After state and ppid come fields 5..=21; starttime is field 22.
    let start_time = fields.nth(17)?.parse().ok()?;
    Some(Stat {
        comm,
        state,
        ppid,
        start_time,
    })
}

pub fn read_stat(proc_root: &Path, pid: i32) -> io::Result<Stat> {
    let data = read_bounded(&proc_root.join(pid.to_string()).join("stat"), 4096)?;
    parse_stat(&String::from_utf8_lossy(&data))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad stat"))
}

/// The start of `/proc/<pid>/cmdline` that choosing a workload reads (argv[0] and argv[1]).
const CMDLINE_HEAD: usize = 4096;
/// Arguments past these are not needed to tell a wrapper.
const PROGRAM_ARGS: usize = 2;

/// What a process executes: its `exe` link (the path as its own mount namespace names it) and its first
/// arguments. Either is empty when it cannot be read (the process exited, or is a kernel thread).
pub fn read_program(proc_root: &Path, pid: i32) -> (Option<String>, Vec<String>) {
    let dir = proc_root.join(pid.to_string());
    let exe = std::fs::read_link(dir.join("exe"))
        .ok()
        .map(|p| p.to_string_lossy().into_owned());
    let argv = read_bounded(&dir.join("cmdline"), CMDLINE_HEAD)
        .map(|data| first_args(&data))
        .unwrap_or_default();
    (exe, argv)
}

/// The first [`PROGRAM_ARGS`] NUL-separated arguments of a cmdline (a cut last one is kept as cut: only
/// its file name is ever compared).
fn first_args(cmdline: &[u8]) -> Vec<String> {
    cmdline
        .split(|b| *b == 0)
        .take(PROGRAM_ARGS)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// The effective uid and gid from `/proc/<pid>/status`: the identity the process uses for file access.
/// For a pod in a user namespace these are the host-side ids, which is what `setresuid` outside it needs.
pub fn parse_status_ids(content: &str) -> Option<(u32, u32)> {
    let effective = |key: &str| -> Option<u32> {
        let line = content.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .split_ascii_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    Some((effective("Uid:")?, effective("Gid:")?))
}

/// The peak resident set size in KiB (`VmHWM:` of a `/proc/<pid>/status`).
pub fn parse_status_peak_rss_kb(content: &str) -> Option<u64> {
    let line = content.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut fields = line["VmHWM:".len()..].split_ascii_whitespace();
    let kb = fields.next()?.parse().ok()?;
    (fields.next() == Some("kB")).then_some(kb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_of_this_process() {
        let status = read_bounded(Path::new("/proc/self/status"), 16 * 1024).unwrap();
        let peak = parse_status_peak_rss_kb(&String::from_utf8_lossy(&status)).expect("VmHWM");
        // This test binary is at least a few hundred KiB resident, and less than its address space limit.
        assert!(peak > 100 && peak < 64 * 1024 * 1024, "{peak}");
        assert_eq!(parse_status_peak_rss_kb("VmHWM:\t  12 MB\n"), None);
        assert_eq!(parse_status_peak_rss_kb("Name:\tx\n"), None);
    }

    #[test]
    fn stat_with_hostile_command_name() {
        let line = "4242 (evil) R 1 (x) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 18446744073709551615";
        let stat = parse_stat(line).expect("parses");
        assert_eq!(stat.comm, "evil) R 1 (x");
        assert_eq!((stat.state, stat.ppid, stat.start_time), ('S', 17, 987654));
    }

    #[test]
    fn stat_of_this_process() {
        let stat = read_stat(Path::new("/proc"), std::process::id() as i32).expect("own stat");
        assert_eq!(stat.ppid, std::os::unix::process::parent_id() as i32);
        assert!(stat.start_time > 0);
    }

    #[test]
    fn truncated_stat_is_rejected() {
        assert_eq!(parse_stat("1 (init) S 0 1 1"), None);
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(parse_stat(""), None);
    }

    #[test]
    fn status_ids_are_the_effective_ones() {
        let status = "Name:\tjava\nUid:\t1000\t1001\t1002\t1003\nGid:\t2000\t2001\t2002\t2003\nGroups:\t5 6\n";
        assert_eq!(parse_status_ids(status), Some((1001, 2001)));
        assert_eq!(parse_status_ids("Name:\tx\n"), None);
        assert_eq!(parse_status_ids("Uid:\tabc\tdef\nGid:\t1\t2\n"), None);
    }

    #[test]
    fn program_of_this_process() {
        let (exe, argv) = read_program(Path::new("/proc"), std::process::id() as i32);
        let own = std::env::current_exe().expect("own exe");
        assert_eq!(exe.as_deref(), own.to_str());
        assert_eq!(argv.first(), std::env::args().next().as_ref());
        assert_eq!(
            first_args(b"/bin/sh\0/usr/sbin/rabbitmq-server\0-x\0"),
            ["/bin/sh", "/usr/sbin/rabbitmq-server"]
        );
        assert_eq!(
            read_program(Path::new("/proc"), i32::MAX),
            (None, Vec::new())
        );
    }

    #[test]
    fn pids_are_listed() {
        let pids = list_pids(Path::new("/proc")).unwrap();
        assert!(pids.contains(&(std::process::id() as i32)));
    }
}
