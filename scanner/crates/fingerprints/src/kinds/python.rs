//! Python: a mapped `libpython`, or an interpreter executable (static, or linked to `libpython`); the
//! version from `PY_VERSION`, and the web framework installed for the interpreter ([`PYTHON_RULES`]).
//!
//! The framework: the interpreter's package directories (the venv of `argv[0]`/`$VIRTUAL_ENV`,
//! directories of mapped extension modules, `$PYTHONPATH`, the interpreter prefix's `site-packages`,
//! Debian's `dist-packages`), and the installed distributions' `<name>-<version>.dist-info` folders.

use crate::kinds::{Detected, Evidence, Found, PackageRule};
use crate::read::binary::Binary;
use crate::read::byte_search::{find_map, leading_version};
use crate::read::paths::{file_name, normalize, parent};
use crate::read::process::{exe_path, mapped_library};
use crate::root::{Process, Root};
use crate::values;

const MAX_DIRS: usize = 12;
const MAX_DIR_ENTRIES: usize = 8192;

pub const PYTHON_RULES: &[PackageRule] = &[
    PackageRule {
        name: "Django",
        package: "django",
    },
    PackageRule {
        name: "FastAPI",
        package: "fastapi",
    },
    PackageRule {
        name: "Flask",
        package: "flask",
    },
    PackageRule {
        name: "Tornado",
        package: "tornado",
    },
    PackageRule {
        name: "aiohttp",
        package: "aiohttp",
    },
    PackageRule {
        name: "Starlette",
        package: "starlette",
    },
];

/// The entry point: a mapped libpython first, else the executable; then the framework, looked up for
/// the interpreter's `X.Y` series.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let (root, process) = (evidence.root, evidence.process);
    let version = if let Some(path) = mapped_library(process, "libpython") {
        python_series_from_name(path)
            .and_then(|series| python_version(&Binary::open(root, path)?, &series))
    } else {
        python_executable(root, evidence.exe()?)?
    };
    let series = version
        .as_deref()
        .map(|v| v.split('.').take(2).collect::<Vec<_>>().join("."));
    Some(Found {
        version,
        runtimes: detect_python(root, process, series.as_deref())
            .into_iter()
            .collect(),
        ..Found::default()
    })
}

/// A Python interpreter executable: it embeds CPython (`Py_BytesMain`) or needs `libpython`.
/// `Some(version)` when it is one.
fn python_executable(root: &dyn Root, bin: &Binary) -> Option<Option<String>> {
    let needed = bin.elf.needed(&bin.file);
    let needed_lib = needed.iter().find(|n| n.starts_with("libpython"));
    if needed_lib.is_none() && !embeds_python(bin) {
        return None;
    }
    let series = python_series_from_name(&bin.path)
        .or_else(|| needed_lib.and_then(|n| python_series_from_name(n)));
    let Some(series) = series else {
        return Some(None);
    };
    if needed_lib.is_none() {
        return Some(python_version(bin, &series));
    }
    // The library beside the interpreter's prefix (pyenv, official images), or in the system dirs.
    let lib_name = needed_lib?;
    let exe_prefix = parent(parent(&bin.path)).to_owned();
    let dirs = [
        format!("{exe_prefix}/lib"),
        "/usr/local/lib".into(),
        "/usr/lib/x86_64-linux-gnu".into(),
        "/lib/x86_64-linux-gnu".into(),
        "/usr/lib64".into(),
        "/usr/lib".into(),
    ];
    let version = dirs
        .iter()
        .find_map(|d| Binary::open(root, &normalize("/", &format!("{d}/{lib_name}"))))
        .and_then(|lib| python_version(&lib, &series));
    Some(version)
}

/// `X.Y` from a Python file name: `python3.11`, `libpython3.11.so.1.0`, `libpython3.6m.so`.
pub fn python_series_from_name(path: &str) -> Option<String> {
    let name = file_name(path);
    let rest = name
        .strip_prefix("libpython")
        .or_else(|| name.strip_prefix("python"))?;
    let v = leading_version(rest)?;
    (v.matches('.').count() == 1).then(|| v.to_owned())
}

/// Python: the `PY_VERSION` string (`3.11.2`) in the interpreter or `libpython`, anchored on the
/// `X.Y` series known from the file name, so unrelated version strings are not picked up. The
/// string may be the tail of a longer one (the linker merges `"3.11.7"` into `".../3.11.7"`).
pub fn python_version(bin: &Binary, series: &str) -> Option<String> {
    let needle = format!("{series}.");
    bin.find_string(needle.as_bytes(), |before, rest| {
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.') {
            return None;
        }
        let patch = leading_version(rest)?;
        // A version string ends at the NUL (or `+`/space in `3.11.2+` builds); it is not a path part.
        let after = rest.as_bytes().get(patch.len()).copied();
        if after.is_some_and(|c| c == b'/' || c == b'.') {
            return None;
        }
        (!patch.contains('.'))
            .then(|| values::version(&format!("{series}.{patch}")))
            .flatten()
    })
}

/// Whether an executable embeds the CPython interpreter (statically linked `python3.X`).
pub fn embeds_python(bin: &Binary) -> bool {
    let Some(s) = bin.elf.section(".dynstr") else {
        return false;
    };
    [b"\0Py_BytesMain\0".as_slice(), b"\0Py_Main\0"]
        .iter()
        .any(|needle| find_map(&bin.file, s.offset, s.size, needle, 0, |_, _| Some(())).is_some())
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
        if let Some(exe) = exe_path(process) {
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
    use test_support::require;

    #[test]
    fn python_series() {
        assert_eq!(
            python_series_from_name("/usr/bin/python3.11").as_deref(),
            Some("3.11")
        );
        assert_eq!(
            python_series_from_name("/x/libpython3.6m.so.1.0").as_deref(),
            Some("3.6")
        );
        assert_eq!(python_series_from_name("/usr/bin/python3"), None);
        assert_eq!(python_series_from_name("/usr/bin/node"), None);
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

    use crate::fingerprint;
    use crate::testing::{artifact, framework, host, kind, machine_file, process, run, Running};
    use std::process::Command;

    /// A CPython that links `libpython` (pyenv builds with `--enable-shared`), newest first; `None` as for
    /// [`machine_file`].
    fn shared_libpython_interpreter() -> Option<String> {
        let base = format!(
            "{}/.pyenv/versions",
            std::env::var("HOME").unwrap_or_default()
        );
        let mut found: Vec<String> = std::fs::read_dir(&base)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        found.sort_by_key(|v| {
            v.split('.')
                .map(|n| n.parse::<u32>().unwrap_or(0))
                .collect::<Vec<_>>()
        });
        let exe = found.iter().rev().find_map(|v| {
            let series = v.split('.').take(2).collect::<Vec<_>>().join(".");
            let exe = format!("{base}/{v}/bin/python{series}");
            let lib = format!("{base}/{v}/lib/libpython{series}.so.1.0");
            (std::path::Path::new(&exe).exists() && std::path::Path::new(&lib).exists())
                .then_some(exe)
        });
        if exe.is_none() {
            test_support::skip(
                &format!("no pyenv CPython with a shared libpython under {base}"),
                "install one with pyenv (PYTHON_CONFIGURE_OPTS=--enable-shared)",
            );
        }
        exe
    }

    #[test]
    fn python_flask_in_a_virtualenv() {
        let venv = require!(artifact("python-flask-venv"));
        let python = format!("{venv}/bin/python");
        let expected = run(
            &python,
            &[
                "-c",
                "import importlib.metadata as m; print(m.version('flask'))",
            ],
        )
        .trim()
        .to_owned();
        let (_py, p) = Running::start(
            Command::new(&python).args(["-c", "import flask, time; time.sleep(60)"]),
            |p| p.mapped_files.iter().any(|m| m.contains("markupsafe")),
        );
        let f = fingerprint(&host(), &p);
        assert_eq!(f.runtime_kind.as_deref(), Some("Python"));
        assert_eq!(framework(&f), (Some("Flask"), Some(expected.as_str())));
        // Without maps, the venv of argv[0] still tells it.
        let exe_only = Process {
            mapped_files: Vec::new(),
            ..p
        };
        let f = fingerprint(&host(), &exe_only);
        assert_eq!(framework(&f), (Some("Flask"), Some(expected.as_str())));
    }

    fn python_version_of(exe: &str) -> String {
        run(
            exe,
            &["-c", "import platform; print(platform.python_version())"],
        )
        .trim()
        .to_owned()
    }

    #[test]
    fn python_static_debian_interpreter() {
        let exe = require!(machine_file("/usr/bin/python3.11"));
        let expected = python_version_of(&exe);
        let f = fingerprint(&host(), &process(&exe, &["python3", "app.py"]));
        assert_eq!(kind(&f), (Some("Python"), Some(expected.as_str()), None));
    }

    #[test]
    fn python_pyenv_interpreter_linked_to_libpython() {
        let exe = require!(shared_libpython_interpreter());
        let expected = python_version_of(&exe);
        // From the executable alone (DT_NEEDED libpython beside it) ...
        let f = fingerprint(&host(), &process(&exe, &["gunicorn: master [app]"]));
        assert_eq!(kind(&f), (Some("Python"), Some(expected.as_str()), None));
        // ... and from a running interpreter's maps.
        let (_py, p) = Running::start(
            Command::new(&exe).args(["-c", "import time; time.sleep(60)"]),
            |p| p.mapped_files.iter().any(|m| m.contains("libpython")),
        );
        let f = fingerprint(&host(), &p);
        assert_eq!(kind(&f), (Some("Python"), Some(expected.as_str()), None));
    }
}
