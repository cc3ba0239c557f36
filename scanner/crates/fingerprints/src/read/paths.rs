//! Path arithmetic inside the container root: lexical normalization and symlink resolution through
//! [`Root::read_link`] (bounded hops), so `/usr/bin/java -> /etc/alternatives/java -> ...` is followed.

use crate::root::Root;

const MAX_LINKS: usize = 40;
const MAX_PATH: usize = 4096;

/// Makes `path` absolute (relative to `base`) and removes `.`/`..`/empty components lexically.
pub fn normalize(base: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{base}/{path}")
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The directory part of an absolute path (`/` for top-level entries).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Resolves every symlink in `path` (component by component) through the root; `None` on a loop,
/// too many hops, or an over-long path. Missing components are kept as they are.
pub fn resolve(root: &dyn Root, path: &str) -> Option<String> {
    let mut pending: Vec<String> = normalize("/", path)
        .split('/')
        .filter(|p| !p.is_empty())
        .rev()
        .map(str::to_owned)
        .collect();
    let mut done = String::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        if part == ".." {
            done = parent(&done).to_owned();
            if done == "/" {
                done.clear();
            }
            continue;
        }
        if part == "." {
            continue;
        }
        let candidate = format!("{done}/{part}");
        if candidate.len() > MAX_PATH {
            return None;
        }
        match root.read_link(&candidate) {
            Ok(target) => {
                hops += 1;
                if hops > MAX_LINKS || target.len() > MAX_PATH {
                    return None;
                }
                if target.starts_with('/') {
                    done.clear();
                }
                pending.extend(
                    target
                        .split('/')
                        .filter(|p| !p.is_empty())
                        .rev()
                        .map(str::to_owned),
                );
            }
            Err(_) => done = candidate,
        }
    }
    Some(if done.is_empty() {
        "/".to_owned()
    } else {
        done
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(
            normalize("/opt/kafka", "bin/../libs/x.jar"),
            "/opt/kafka/libs/x.jar"
        );
        assert_eq!(normalize("/", "../../etc"), "/etc");
        assert_eq!(normalize("/a", "/b/./c//d"), "/b/c/d");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(file_name("/a/b.jar"), "b.jar");
    }
}
