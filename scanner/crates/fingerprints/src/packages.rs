//! Node.js and Python web frameworks, from the packages of the program the interpreter runs.
//!
//! Node.js: the entry script named on the command line, the nearest `package.json` above it whose
//! `dependencies` name a framework, and that package's installed `node_modules/<pkg>/package.json`
//! version (looked up the way Node's resolver does, up the directory tree).
//!
//! Python: the interpreter's package directories (the venv of `argv[0]`/`$VIRTUAL_ENV`, directories of
//! mapped extension modules, `$PYTHONPATH`, the interpreter prefix's `site-packages`, Debian's
//! `dist-packages`), and the installed distributions' `<name>-<version>.dist-info` folders.

use crate::bounded::read_prefix;
use crate::frameworks::Detected;
use crate::json;
use crate::paths::{normalize, parent, resolve};
use crate::root::{Process, Root};
use crate::rules::{NODE_RULES, PYTHON_RULES};
use crate::values;

const MAX_PACKAGE_JSON: usize = 512 * 1024;
const MAX_DEPTH: usize = 12;
const MAX_DIRS: usize = 12;
const MAX_DIR_ENTRIES: usize = 8192;

/// Node options that take the next argument as their value.
const NODE_OPTIONS_WITH_VALUE: &[&str] = &[
    "-r",
    "--require",
    "--import",
    "--loader",
    "--experimental-loader",
    "-C",
    "--conditions",
    "--env-file",
    "--title",
];

/// The entry script of a `node` command line, absolute; `None` for `-e`/`-p`/REPL.
pub fn node_entry_script(process: &Process) -> Option<String> {
    let cwd = process
        .cwd
        .as_deref()
        .filter(|c| c.starts_with('/'))
        .unwrap_or("/");
    let mut args = process.argv.iter().skip(1).take(256);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-e" | "--eval" | "-p" | "--print" | "-i" | "--interactive" => return None,
            "--" => return args.next().map(|s| normalize(cwd, s)),
            a if NODE_OPTIONS_WITH_VALUE.contains(&a) => {
                args.next();
            }
            a if a.starts_with('-') => {}
            a => return Some(normalize(cwd, a)),
        }
    }
    None
}

fn read_json(root: &dyn Root, path: &str) -> Option<json::Value> {
    let data = read_prefix(root, path, MAX_PACKAGE_JSON).ok()?;
    if data.len() >= MAX_PACKAGE_JSON {
        return None;
    }
    json::parse(&data)
}

/// The Node.js framework of the program: see the module docs.
pub fn detect_node(root: &dyn Root, process: &Process) -> Option<Detected> {
    let script = node_entry_script(process)?;
    let script = resolve(root, &script).unwrap_or(script);
    // `node .` or `node dist` name a directory; otherwise start beside the script.
    let mut dir = if root.read_dir(&script, 1).is_ok() {
        script.clone()
    } else {
        parent(&script).to_owned()
    };
    for _ in 0..MAX_DEPTH {
        if let Some(manifest) =
            read_json(root, &format!("{}/package.json", dir.trim_end_matches('/')))
        {
            let declared = |pkg: &str| {
                ["dependencies", "devDependencies"]
                    .iter()
                    .any(|section| manifest.get(section).and_then(|d| d.get(pkg)).is_some())
            };
            if let Some(rule) = NODE_RULES.iter().find(|r| declared(r.package)) {
                return Some(Detected {
                    name: rule.name.to_owned(),
                    version: installed_node_version(root, &dir, rule.package),
                });
            }
        }
        if dir == "/" {
            break;
        }
        dir = parent(&dir).to_owned();
    }
    None
}

/// `node_modules/<pkg>/package.json` `version`, from `dir` upwards.
fn installed_node_version(root: &dyn Root, from: &str, package: &str) -> Option<String> {
    let mut dir = from.to_owned();
    for _ in 0..MAX_DEPTH {
        let path = format!(
            "{}/node_modules/{package}/package.json",
            dir.trim_end_matches('/')
        );
        if let Some(v) = read_json(root, &path) {
            return v
                .get("version")
                .and_then(|v| v.as_str())
                .and_then(values::version);
        }
        if dir == "/" {
            break;
        }
        dir = parent(&dir).to_owned();
    }
    None
}

/// The Python framework installed for the interpreter the process runs: the first of
/// [`PYTHON_RULES`] found in its package directories.
pub fn detect_python(root: &dyn Root, process: &Process, series: Option<&str>) -> Option<Detected> {
    let dirs = python_package_dirs(root, process, series);
    let mut installed: Vec<(String, String)> = Vec::new();
    for dir in dirs.iter().take(MAX_DIRS) {
        for entry in root.read_dir(dir, MAX_DIR_ENTRIES).unwrap_or_default() {
            if let Some(found) = parse_dist_info(&entry) {
                installed.push(found);
            }
        }
    }
    PYTHON_RULES.iter().find_map(|rule| {
        let (_, version) = installed.iter().find(|(name, _)| name == rule.package)?;
        Some(Detected {
            name: rule.name.to_owned(),
            version: values::version(version),
        })
    })
}

/// `Flask-3.1.0.dist-info` / `flask-3.1.0.dist-info` / `Django-4.2.egg-info` -> (`flask`, `3.1.0`).
pub fn parse_dist_info(entry: &str) -> Option<(String, String)> {
    let stem = entry
        .strip_suffix(".dist-info")
        .or_else(|| entry.strip_suffix(".egg-info"))?;
    let (name, version) = stem.split_once('-')?;
    // egg-info names may carry `-py3.11`; dist-info names never have a second dash.
    let version = version.split('-').next()?;
    let name = name.to_ascii_lowercase().replace(['_', '.'], "-");
    Some((name, version.to_owned()))
}

fn python_package_dirs(root: &dyn Root, process: &Process, series: Option<&str>) -> Vec<String> {
    let mut dirs: Vec<String> = Vec::new();
    let mut push = |d: String| {
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    };
    // Directories of loaded extension modules are certain to be on the program's path.
    for mapped in &process.mapped_files {
        for marker in ["/site-packages/", "/dist-packages/"] {
            if let Some(at) = mapped.find(marker) {
                push(mapped[..at + marker.len() - 1].to_owned());
            }
        }
    }
    if let Some(series) = series {
        let lib = format!("lib/python{series}/site-packages");
        let mut venvs: Vec<String> = process
            .env_var("VIRTUAL_ENV")
            .into_iter()
            .map(str::to_owned)
            .collect();
        // A venv's bin/python is a symlink to the base interpreter, so argv[0] tells the venv.
        if let Some(arg0) = process.argv.first().filter(|a| a.starts_with('/')) {
            let venv = parent(parent(arg0)).to_owned();
            if root.open(&format!("{venv}/pyvenv.cfg")).is_ok() {
                venvs.push(venv);
            }
        }
        for venv in venvs {
            push(normalize(&venv, &lib));
        }
        if let Some(exe) = crate::java::exe_path(process) {
            let prefix = parent(parent(exe)).to_owned();
            push(normalize(&prefix, &lib));
        }
        push(format!("/usr/local/lib/python{series}/site-packages"));
        push(format!("/usr/local/lib/python{series}/dist-packages"));
    }
    for entry in process
        .env_var("PYTHONPATH")
        .unwrap_or_default()
        .split(':')
        .filter(|e| e.starts_with('/'))
        .take(8)
    {
        push(normalize("/", entry));
    }
    push("/usr/lib/python3/dist-packages".to_owned());
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_entry_scripts() {
        let p = |argv: &[&str], cwd: Option<&str>| Process {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: cwd.map(str::to_owned),
            ..Process::default()
        };
        assert_eq!(
            node_entry_script(&p(&["node", "server.js"], Some("/app"))).as_deref(),
            Some("/app/server.js")
        );
        assert_eq!(
            node_entry_script(&p(
                &[
                    "node",
                    "-r",
                    "dotenv/config",
                    "--max-old-space-size=512",
                    "dist/main.js"
                ],
                Some("/srv")
            ))
            .as_deref(),
            Some("/srv/dist/main.js")
        );
        assert_eq!(node_entry_script(&p(&["node", "-e", "x()"], None)), None);
        assert_eq!(node_entry_script(&p(&["node"], None)), None);
    }

    #[test]
    fn dist_info_names() {
        assert_eq!(
            parse_dist_info("Flask-3.1.0.dist-info"),
            Some(("flask".into(), "3.1.0".into()))
        );
        assert_eq!(
            parse_dist_info("Django-4.2.7-py3.11.egg-info"),
            Some(("django".into(), "4.2.7".into()))
        );
        assert_eq!(
            parse_dist_info("typing_extensions-4.9.0.dist-info"),
            Some(("typing-extensions".into(), "4.9.0".into()))
        );
        assert_eq!(parse_dist_info("flask"), None);
    }
}
