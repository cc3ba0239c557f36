//! Decoding what the coordinator observed of the workload process (see scan-containers' `sandboxed_analysis.rs`).

use fingerprints::Process;

/// Larger than the coordinator ever sends.
pub const MAX_INPUT: usize = 5 * 1024 * 1024;
const MAX_ARGS: usize = 1024;
const MAX_ENV: usize = 256;
const MAX_MAPPED_FILES: usize = 4096;

pub fn parse(input: &[u8]) -> Result<Process, String> {
    let mut rest = input
        .strip_prefix(b"scan-input 1\n")
        .ok_or("not a scan input")?;
    let mut process = Process::default();
    for expected in ["exe", "cwd", "cmdline", "environ", "maps"] {
        let newline = rest
            .iter()
            .position(|b| *b == b'\n')
            .ok_or("truncated header")?;
        let header = std::str::from_utf8(&rest[..newline]).map_err(|_| "bad header")?;
        let (name, len) = header.split_once(' ').ok_or("bad header")?;
        let len: usize = len.parse().map_err(|_| "bad length")?;
        if name != expected || len > rest.len() - newline - 1 {
            return Err(format!("bad section {name:?}"));
        }
        let data = &rest[newline + 1..newline + 1 + len];
        rest = &rest[newline + 1 + len..];
        match name {
            "exe" if !data.is_empty() => {
                process.exe = Some(String::from_utf8_lossy(data).into_owned())
            }
            "cwd" if !data.is_empty() => {
                process.cwd = Some(String::from_utf8_lossy(data).into_owned())
            }
            "cmdline" => process.argv = split_nul(data).take(MAX_ARGS).collect(),
            "environ" => {
                process.env = split_nul(data)
                    .filter_map(|e| {
                        e.split_once('=')
                            .map(|(k, v)| (k.to_string(), v.to_string()))
                    })
                    .take(MAX_ENV)
                    .collect()
            }
            "maps" => process.mapped_files = mapped_files(data),
            _ => {}
        }
    }
    Ok(process)
}

fn split_nul(data: &[u8]) -> impl Iterator<Item = String> + '_ {
    data.split(|b| *b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// Distinct file paths of `/proc/<pid>/maps` lines (`address perms offset dev inode path`), in order.
fn mapped_files(maps: &[u8]) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for line in String::from_utf8_lossy(maps).lines() {
        let mut fields = line.splitn(6, ' ');
        let inode = fields.nth(4).unwrap_or("0");
        let Some(path) = fields.next().map(str::trim_start) else {
            continue;
        };
        if inode == "0" || !path.starts_with('/') {
            continue;
        }
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        if !files.iter().any(|f| f == path) {
            files.push(path.to_string());
            if files.len() == MAX_MAPPED_FILES {
                break;
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(exe: &str, cmdline: &[u8], environ: &[u8], maps: &str) -> Vec<u8> {
        let mut v = b"scan-input 1\n".to_vec();
        for (name, data) in [
            ("exe", exe.as_bytes()),
            ("cwd", b"/srv".as_slice()),
            ("cmdline", cmdline),
            ("environ", environ),
            ("maps", maps.as_bytes()),
        ] {
            v.extend_from_slice(format!("{name} {}\n", data.len()).as_bytes());
            v.extend_from_slice(data);
        }
        v
    }

    #[test]
    fn decodes_a_jvm() {
        let maps = "\
55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234   /usr/lib/jvm/java-17/bin/java
7f00-7f01 r-xp 00000000 08:01 5678   /usr/lib/jvm/java-17/lib/server/libjvm.so
7f01-7f02 r--p 00001000 08:01 5678   /usr/lib/jvm/java-17/lib/server/libjvm.so
7f02-7f03 rw-p 00000000 00:00 0 
7f03-7f04 r--p 00000000 08:01 91     /tmp/my lib.so (deleted)
7ffd-7ffe rw-p 00000000 00:00 0      [stack]
";
        let input = frame(
            "/usr/lib/jvm/java-17/bin/java",
            b"java\0-jar\0app.jar\0",
            b"JAVA_HOME=/usr/lib/jvm/java-17\0PATH=/bin\0",
            maps,
        );
        let p = parse(&input).expect("valid input");
        assert_eq!(p.exe.as_deref(), Some("/usr/lib/jvm/java-17/bin/java"));
        assert_eq!(p.cwd.as_deref(), Some("/srv"));
        assert_eq!(p.argv, vec!["java", "-jar", "app.jar"]);
        assert_eq!(p.env_var("JAVA_HOME"), Some("/usr/lib/jvm/java-17"));
        assert_eq!(
            p.mapped_files,
            vec![
                "/usr/lib/jvm/java-17/bin/java",
                "/usr/lib/jvm/java-17/lib/server/libjvm.so",
                "/tmp/my lib.so"
            ]
        );
    }

    #[test]
    fn rejects_malformed_input() {
        assert!(parse(b"").is_err());
        assert!(parse(b"scan-input 2\n").is_err());
        let mut lying = b"scan-input 1\nexe 999\n/bin/x".to_vec();
        assert!(parse(&lying).is_err());
        lying = frame("", b"", b"", "");
        lying.truncate(lying.len() - 1);
        assert!(parse(&lying).is_err());
        assert!(
            parse(b"scan-input 1\ncmdline 0\nexe 0\nenviron 0\nmaps 0\n").is_err(),
            "sections out of order"
        );
    }

    #[test]
    fn empty_sections_are_fine() {
        let p = parse(&frame("", b"", b"", "")).unwrap();
        assert_eq!(
            p,
            Process {
                cwd: Some("/srv".into()),
                ..Process::default()
            }
        );
    }
}
