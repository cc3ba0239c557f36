//! Node.js: the executable or Debian's shared `libnode` carries the version; the web framework comes
//! from the packages of the program the interpreter runs ([`NODE_RULES`]).
//!
//! The framework: the entry script named on the command line, the nearest `package.json` above it whose
//! `dependencies` name a framework, and that package's installed `node_modules/<pkg>/package.json`
//! version (looked up the way Node's resolver does, up the directory tree).

use crate::kinds::{Detected, Evidence, Found, PackageRule};
use crate::read::binary::Binary;
use crate::read::bounded::read_prefix;
use crate::read::byte_search::leading_version;
use crate::read::json_parser;
use crate::read::paths::{normalize, parent, resolve};
use crate::root::{Process, Root};
use crate::values;

const MAX_PACKAGE_JSON: usize = 512 * 1024;
const MAX_DEPTH: usize = 12;

pub const NODE_RULES: &[PackageRule] = &[
    PackageRule {
        name: "Next.js",
        package: "next",
    },
    PackageRule {
        name: "NestJS",
        package: "@nestjs/core",
    },
    PackageRule {
        name: "Fastify",
        package: "fastify",
    },
    PackageRule {
        name: "Koa",
        package: "koa",
    },
    PackageRule {
        name: "hapi",
        package: "@hapi/hapi",
    },
    PackageRule {
        name: "Express",
        package: "express",
    },
];

/// The entry point: a Node.js version in the executable or a mapped libnode, and the framework.
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let version = evidence
        .exe()
        .and_then(node_version)
        .or_else(|| evidence.library("libnode").as_ref().and_then(node_version))?;
    Some(Found {
        version: Some(version),
        runtimes: detect_node(evidence.root, evidence.process)
            .into_iter()
            .collect(),
        ..Found::default()
    })
}

/// The release URL prefix every Node build carries: the version follows it.
pub const VERSION_NEEDLE: &[u8] = b"node.js/v";

/// Node.js: `node.js/vX.Y.Z` (the release URL prefix compiled into every Node build) in the
/// executable or a mapped `libnode.so`.
pub fn node_version(bin: &Binary) -> Option<String> {
    bin.find_string(VERSION_NEEDLE, |_, rest| {
        leading_version(rest).and_then(|v| values::version(&format!("v{v}")))
    })
}

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

fn read_json(root: &dyn Root, path: &str) -> Option<json_parser::Value> {
    let data = read_prefix(root, path, MAX_PACKAGE_JSON).ok()?;
    if data.len() >= MAX_PACKAGE_JSON {
        return None;
    }
    json_parser::parse(&data)
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

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::require;

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

    use crate::fingerprint;
    use crate::testing::{
        artifact, framework, host, kind, machine_file, process, run, HostRoot, Running, TempDir,
    };
    use std::process::Command;

    #[test]
    fn node_version_from_the_binary_whatever_its_name() {
        let node = require!(machine_file("/usr/bin/node"));
        let expected = run(&node, &["--version"]).trim().to_owned();
        let f = fingerprint(&host(), &process(&node, &["MainThread"]));
        assert_eq!(kind(&f), (Some("Node.js"), Some(expected.as_str()), None));
        // The same binary under another name in another root.
        let dir = TempDir::new("node");
        dir.copy(&node, "app/server");
        let f = fingerprint(&HostRoot::new(&dir.0), &process("/app/server", &["server"]));
        assert_eq!(kind(&f), (Some("Node.js"), Some(expected.as_str()), None));
    }

    #[test]
    fn node_express_app_running_from_its_package_json() {
        let node = require!(machine_file("/usr/bin/node"));
        let app = require!(artifact("node-express-app"));
        let expected = Command::new(&node)
            .args(["-p", "require('express/package.json').version"])
            .current_dir(&app)
            .output()
            .expect("node -p");
        let expected = String::from_utf8_lossy(&expected.stdout).trim().to_owned();
        let (_srv, p) = Running::start(
            Command::new(&node).arg("server.js").current_dir(&app),
            |p| p.argv.len() == 2 && p.cwd.is_some(),
        );
        let f = fingerprint(&host(), &p);
        assert_eq!(f.runtime_kind.as_deref(), Some("Node.js"));
        assert_eq!(framework(&f), (Some("Express"), Some(expected.as_str())));
    }

    #[test]
    fn a_planted_node_script_is_never_run_and_names_prove_nothing() {
        let dir = TempDir::new("planted");
        let marker = dir.path("ran");
        dir.write(
            "usr/local/bin/node",
            format!("#!/bin/sh\ntouch {}\necho v99.0.0\n", marker.display()).as_bytes(),
        );
        std::fs::set_permissions(
            dir.path("usr/local/bin/node"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let mut p = process("/usr/local/bin/node", &["node", "server.js"]);
        p.env.push(("NODE_VERSION".into(), "99.0.0".into()));
        let f = fingerprint(&HostRoot::new(&dir.0), &p);
        assert!(!marker.exists(), "the planted node was executed");
        assert_eq!(kind(&f), (None, None, None), "no evidence, no kind");
    }
}
