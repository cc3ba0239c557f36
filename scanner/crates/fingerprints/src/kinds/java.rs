//! Java: is the process a JVM, which JDK/JRE home does it really run, and what does the JVM command
//! line say (main class, effective classpath, `-D` properties) for the framework rules
//! ([`crate::kinds::jvm_rules`], read by [`crate::kinds::jvm_sources`]).
//!
//! The home comes from evidence first: the mapped `libjvm.so` (`<home>/lib/server/libjvm.so`, JDK 8
//! `<home>/jre/lib/<arch>/server/libjvm.so`), then the executable (`<home>/bin/java`, symlinks such as
//! `/usr/bin/java -> /etc/alternatives/java -> ...` resolved inside the container), and `JAVA_HOME`
//! only as the last resort. Version and implementer come from `<home>/release`.

use crate::kinds::{jvm_sources, Evidence, Found};
use crate::read::bounded::read_prefix;
use crate::read::jar;
use crate::read::paths::{file_name, normalize, parent, resolve};
use crate::read::process::executable_candidates;
use crate::read::zip::Archive;
use crate::root::{Process, Root};
use crate::values;

const MAX_RELEASE: usize = 64 * 1024;
const MAX_ARGFILE: usize = 64 * 1024;
const MAX_ARGFILES: usize = 4;
const MAX_ARGS: usize = 4096;
const MAX_CLASSPATH: usize = 4096;
/// How far above `libjvm.so` the home can be (JDK 8: jre/lib/amd64/server).
const MAX_HOME_DEPTH: usize = 5;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JavaRuntime {
    pub home: Option<String>,
    pub version: Option<String>,
    pub implementer: Option<String>,
}

fn is_jvm_library(path: &str) -> bool {
    let name = file_name(path);
    name == "libjvm.so" || (name.starts_with("libj9vm") && name.ends_with(".so"))
}

/// The entry point: a JVM, its JDK's version and implementer, and the frameworks and servers the JVM
/// command line runs ([`crate::kinds::jvm_rules`]).
pub fn detect(evidence: &Evidence<'_>) -> Option<Found> {
    let (root, process) = (evidence.root, evidence.process);
    let jvm = jvm(root, process)?;
    let command = parse_command(root, process);
    Some(Found {
        version: jvm.version,
        implementer: jvm.implementer,
        runtimes: jvm_sources::detect_jvm_all(root, &command),
        ..Found::default()
    })
}

/// Detects a JVM from evidence (mapped `libjvm.so`, or an executable named `java` inside a Java
/// home); `None` when the process is not a JVM.
pub fn jvm(root: &dyn Root, process: &Process) -> Option<JavaRuntime> {
    if let Some(lib) = process.mapped_files.iter().find(|p| is_jvm_library(p)) {
        let mut dir = parent(lib).to_owned();
        for _ in 0..MAX_HOME_DEPTH {
            if let Some(found) = read_release(root, &dir) {
                return Some(found);
            }
            dir = parent(&dir).to_owned();
        }
        return Some(java_home_fallback(root, process));
    }
    for candidate in executable_candidates(root, process) {
        let Some(real) = resolve(root, &candidate) else {
            continue;
        };
        if file_name(&real) != "java" || file_name(parent(&real)) != "bin" {
            continue;
        }
        let home = parent(parent(&real)).to_owned();
        // A JDK 8 `jre/bin/java` has its release file one level up.
        if let Some(found) = read_release(root, &home).or_else(|| read_release(root, parent(&home)))
        {
            return Some(found);
        }
        // No release file: the home must still hold a JVM (a file merely named `java` proves nothing).
        let jvm_files = [
            "lib/server/libjvm.so",
            "lib/client/libjvm.so",
            "lib/libjli.so",
            "jre/lib/amd64/server/libjvm.so",
        ];
        if jvm_files
            .iter()
            .any(|f| root.open(&format!("{home}/{f}")).is_ok())
        {
            return Some(java_home_fallback(root, process));
        }
    }
    None
}

fn java_home_fallback(root: &dyn Root, process: &Process) -> JavaRuntime {
    process
        .env_var("JAVA_HOME")
        .filter(|h| h.starts_with('/'))
        .and_then(|h| read_release(root, &normalize("/", h)))
        .unwrap_or_default()
}

/// Reads `<home>/release`: `JAVA_VERSION` and `IMPLEMENTOR`.
pub fn read_release(root: &dyn Root, home: &str) -> Option<JavaRuntime> {
    let path = if home == "/" {
        "/release".to_owned()
    } else {
        format!("{home}/release")
    };
    let data = read_prefix(root, &path, MAX_RELEASE).ok()?;
    let text = String::from_utf8_lossy(&data);
    let (mut version, mut implementer) = (None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"');
        match key.trim() {
            "JAVA_VERSION" => version = values::version(value),
            "IMPLEMENTOR" => implementer = values::name(value),
            _ => {}
        }
    }
    version.as_ref()?;
    Some(JavaRuntime {
        home: Some(home.to_owned()),
        version,
        implementer,
    })
}

/// What the JVM command line says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JvmCommand {
    /// The main class: the argument after the options, or the `-jar` manifest's `Main-Class`.
    pub main_class: Option<String>,
    /// The `-jar` archive, absolute.
    pub jar: Option<String>,
    /// The effective classpath, absolute, `dir/*` wildcards expanded to their jars (`cwd` when none).
    pub classpath: Vec<String>,
    /// `-Dkey=value` system properties.
    pub properties: Vec<(String, String)>,
}

impl JvmCommand {
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Options of the `java` launcher that take their value as the next argument.
const OPTIONS_WITH_VALUE: &[&str] = &[
    "-p",
    "--module-path",
    "--upgrade-module-path",
    "--add-modules",
    "--limit-modules",
    "--add-exports",
    "--add-opens",
    "--add-reads",
    "--patch-module",
    "--source",
    "--enable-native-access",
];

/// Parses the JVM's argv (with `@argfile` expansion, bounded) into main class, classpath, properties.
pub fn parse_command(root: &dyn Root, process: &Process) -> JvmCommand {
    let cwd = process
        .cwd
        .as_deref()
        .filter(|c| c.starts_with('/'))
        .unwrap_or("/");
    let args = expand_argfiles(
        root,
        cwd,
        process
            .argv
            .iter()
            .skip(1)
            .take(MAX_ARGS)
            .cloned()
            .collect(),
    );
    let mut cmd = JvmCommand::default();
    let mut classpath: Option<String> = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-cp" | "-classpath" | "--class-path" => classpath = it.next(),
            "-jar" => {
                cmd.jar = it.next().map(|j| normalize(cwd, &j));
                break;
            }
            "-m" | "--module" => {
                cmd.main_class = it
                    .next()
                    .map(|m| m.rsplit('/').next().unwrap_or(&m).to_owned());
                break;
            }
            a if a.starts_with("--class-path=") => {
                classpath = Some(a["--class-path=".len()..].to_owned())
            }
            a if a.starts_with("-D") => {
                if let Some((k, v)) = a[2..].split_once('=') {
                    cmd.properties.push((k.to_owned(), v.to_owned()));
                }
            }
            a if OPTIONS_WITH_VALUE.contains(&a) => {
                it.next();
            }
            a if a.starts_with('-') => {}
            a => {
                cmd.main_class = Some(a.to_owned());
                break;
            }
        }
    }
    // Program arguments: launchers such as jboss-modules turn `-Dkey=value` arguments after the main
    // module into system properties (WildFly's standalone.sh passes `-Djboss.home.dir` that way).
    for arg in it {
        if let Some((k, v)) = arg.strip_prefix("-D").and_then(|a| a.split_once('=')) {
            cmd.properties.push((k.to_owned(), v.to_owned()));
        }
    }
    if let Some(jar_path) = cmd.jar.clone() {
        cmd.classpath.push(jar_path.clone());
        if let Some(manifest) = root
            .open(&jar_path)
            .ok()
            .as_ref()
            .and_then(Archive::open)
            .and_then(|a| jar::manifest(&a))
        {
            if cmd.main_class.is_none() {
                cmd.main_class = manifest.get("Main-Class").map(str::to_owned);
            }
            let base = parent(&jar_path).to_owned();
            for entry in manifest
                .get("Class-Path")
                .unwrap_or_default()
                .split_whitespace()
                .take(MAX_CLASSPATH)
            {
                let entry = entry.strip_prefix("file:").unwrap_or(entry);
                cmd.classpath.push(normalize(&base, entry));
            }
        }
    } else {
        let cp = classpath
            .or_else(|| process.env_var("CLASSPATH").map(str::to_owned))
            // The launcher's default classpath is the working directory.
            .unwrap_or_else(|| ".".to_owned());
        for entry in cp.split(':').filter(|e| !e.is_empty()) {
            if cmd.classpath.len() >= MAX_CLASSPATH {
                break;
            }
            match entry.strip_suffix('*') {
                Some(dir) => {
                    let dir = normalize(cwd, dir);
                    let mut jars: Vec<String> = root
                        .read_dir(&dir, MAX_CLASSPATH)
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|n| n.ends_with(".jar") || n.ends_with(".JAR"))
                        .map(|n| format!("{}/{n}", dir.trim_end_matches('/')))
                        .collect();
                    jars.sort();
                    cmd.classpath.extend(jars);
                }
                None => cmd.classpath.push(normalize(cwd, entry)),
            }
        }
        cmd.classpath.truncate(MAX_CLASSPATH);
    }
    cmd
}

/// Replaces `@file` arguments by the whitespace-separated tokens of that file (as the `java` launcher
/// does), for at most a few files of bounded size.
fn expand_argfiles(root: &dyn Root, cwd: &str, args: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut files = 0;
    for arg in args {
        match arg.strip_prefix('@') {
            Some(path) if !path.starts_with('@') && files < MAX_ARGFILES => {
                files += 1;
                if let Ok(data) = read_prefix(root, &normalize(cwd, path), MAX_ARGFILE) {
                    out.extend(
                        String::from_utf8_lossy(&data)
                            .split_whitespace()
                            .map(|t| t.trim_matches('"').to_owned())
                            .take(MAX_ARGS),
                    );
                }
            }
            _ => out.push(arg),
        }
        if out.len() >= MAX_ARGS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::testing::{
        host, jvm_properties, kind, machine_file, process, temurin_jdk, HostRoot, Running, TempDir,
        DEBIAN_JDK,
    };
    use crate::{fingerprint, Process};
    use std::process::Command;
    use test_support::require;

    #[test]
    fn java_debian_through_usr_bin_java_alternatives_and_path() {
        require!(machine_file(DEBIAN_JDK));
        let (version, vendor) = jvm_properties(DEBIAN_JDK);
        // argv[0] "java" found in PATH: /usr/bin/java -> /etc/alternatives/java -> the Debian JDK.
        let mut p = Process {
            argv: vec!["java".into(), "-version".into()],
            ..Process::default()
        };
        p.env.push(("PATH".into(), "/nonexistent:/usr/bin".into()));
        let alternatives = std::fs::canonicalize("/usr/bin/java").expect("/usr/bin/java");
        assert!(
            alternatives.starts_with(DEBIAN_JDK),
            "the machine's default java is the Debian JDK"
        );
        let f = fingerprint(&host(), &p);
        assert_eq!(
            kind(&f),
            (Some("Java"), Some(version.as_str()), Some(vendor.as_str()))
        );
    }

    #[test]
    fn java_temurin_from_the_real_exe_ignores_a_lying_java_home() {
        require!(machine_file(DEBIAN_JDK));
        let temurin = require!(temurin_jdk());
        let (version, vendor) = jvm_properties(&temurin);
        assert_eq!(vendor, "Eclipse Adoptium");
        let mut p = process(&format!("{temurin}/bin/java"), &["java", "-version"]);
        p.env.push(("JAVA_HOME".into(), DEBIAN_JDK.into()));
        let f = fingerprint(&host(), &p);
        assert_eq!(
            kind(&f),
            (
                Some("Java"),
                Some(version.as_str()),
                Some("Eclipse Adoptium")
            )
        );
    }

    #[test]
    fn java_running_jvm_found_by_its_mapped_libjvm() {
        let temurin = require!(temurin_jdk());
        let (version, _) = jvm_properties(&temurin);
        let dir = TempDir::new("jvm");
        dir.write("Sleep.java", b"public class Sleep { public static void main(String[] a) throws Exception { Thread.sleep(60000); } }");
        let (_jvm, mut p) = Running::start(
            Command::new(format!("{temurin}/bin/java")).arg(dir.path("Sleep.java")),
            |p| p.mapped_files.iter().any(|m| m.ends_with("/libjvm.so")),
        );
        // Only the maps are trusted here: no exe, a name that lies.
        p.exe = None;
        p.argv[0] = "MainThread".into();
        let f = fingerprint(&host(), &p);
        assert_eq!(
            kind(&f),
            (
                Some("Java"),
                Some(version.as_str()),
                Some("Eclipse Adoptium")
            )
        );
    }

    #[test]
    fn container_symlinks_stay_inside_the_root() {
        // /usr/bin/java -> /etc/alternatives/java (absolute) must resolve inside the container root.
        let dir = TempDir::new("alternatives");
        let temurin = require!(temurin_jdk());
        dir.copy(&format!("{temurin}/release"), "opt/jdk/release");
        dir.copy(&format!("{temurin}/bin/java"), "opt/jdk/bin/java");
        dir.symlink("/opt/jdk/bin/java", "etc/alternatives/java");
        dir.symlink("/etc/alternatives/java", "usr/bin/java");
        let mut p = Process {
            argv: vec!["java".into()],
            ..Process::default()
        };
        p.env.push(("PATH".into(), "/usr/bin".into()));
        let (version, _) = jvm_properties(&temurin);
        let f = fingerprint(&HostRoot::new(&dir.0), &p);
        assert_eq!(
            kind(&f),
            (
                Some("Java"),
                Some(version.as_str()),
                Some("Eclipse Adoptium")
            )
        );
    }
}
