//! What the tests of every runtime module share: a test-only [`Root`] over a host directory, confined like the
//! real one (symlinks, absolute ones included, resolve inside the base directory, and only regular files open),
//! temporary folders, the fetched artifacts, processes started and read back from /proc, Go programs built here.
//!
//! Expected values come from an independent source wherever one exists: the runtime itself asked
//! for its version by the TEST (`node --version`, `java -XshowSettings:properties`), never by the
//! code under test. Jars are the pinned Maven Central artifacts of `hack/fetch-test-artifacts`.

use crate::read::paths;
use crate::root::{Process, Root};
use crate::Fingerprint;
use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct HostRoot {
    pub base: PathBuf,
}

impl HostRoot {
    pub fn new(base: impl Into<PathBuf>) -> HostRoot {
        HostRoot { base: base.into() }
    }

    fn host(&self, path: &str) -> PathBuf {
        self.base.join(path.trim_start_matches('/'))
    }

    fn resolved(&self, path: &str) -> io::Result<PathBuf> {
        paths::resolve(self, path)
            .map(|p| self.host(&p))
            .ok_or_else(|| io::Error::other("symlink loop"))
    }
}

impl Root for HostRoot {
    fn open(&self, path: &str) -> io::Result<File> {
        let host = self.resolved(path)?;
        if !std::fs::metadata(&host)?.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        File::open(host)
    }

    fn read_dir(&self, path: &str, max: usize) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(self.resolved(path)?)?.take(max) {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn read_link(&self, path: &str) -> io::Result<String> {
        Ok(std::fs::read_link(self.host(path))?
            .to_string_lossy()
            .into_owned())
    }
}

/// A fresh, empty directory under the system temp dir (removed by the caller's `TempDir` drop).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fingerprints-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel.trim_start_matches('/'))
    }

    /// A fresh directory holding each test artifact at its place (`(artifact, path inside)`), or `None` when
    /// one is missing (after [`artifact`]'s SKIPPED line): the layouts tests build from real files.
    pub fn with_artifacts(tag: &str, files: &[(&str, &str)]) -> Option<TempDir> {
        let dir = TempDir::new(tag);
        for (name, rel) in files {
            dir.copy(&artifact(name)?, rel);
        }
        Some(dir)
    }

    /// The machine's Debian JDK under `home` inside the temp dir: its `release` file and `bin/java`, what
    /// the Java detection reads of a JDK.
    pub fn copy_debian_jdk(&self, home: &str) {
        self.copy(&format!("{DEBIAN_JDK}/release"), &format!("{home}/release"));
        self.copy(
            &format!("{DEBIAN_JDK}/bin/java"),
            &format!("{home}/bin/java"),
        );
    }

    /// Copies a host file to `rel` inside the temp dir, creating parents.
    pub fn copy(&self, from: &str, rel: &str) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {from}: {e}"));
    }

    pub fn write(&self, rel: &str, data: &[u8]) {
        let to = self.path(rel);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::write(to, data).expect("write");
    }

    pub fn symlink(&self, target: &str, rel: &str) {
        let at = self.path(rel);
        std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, at).expect("symlink");
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The path of a real artifact fetched by `hack/fetch-test-artifacts` into its cache
/// (`$CONTAINER_SCANNER_ARTIFACTS`, default `artifacts` in the cache root of hack/lib/cache.sh), or `None` when
/// it is missing: the test is then skipped (`test_support::require!`), or fails under `REQUIRE_ARTIFACTS=1`.
pub fn artifact(name: &str) -> Option<String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let base = var("CONTAINER_SCANNER_ARTIFACTS").unwrap_or_else(|| {
        let cache = var("CONTAINER_SCANNER_CACHE").unwrap_or_else(|| {
            let xdg = var("XDG_CACHE_HOME")
                .unwrap_or_else(|| format!("{}/.cache", var("HOME").unwrap_or_default()));
            format!("{xdg}/container-scanner")
        });
        format!("{cache}/artifacts")
    });
    let path = format!("{base}/{name}");
    if std::path::Path::new(&path).exists() {
        return Some(path);
    }
    test_support::skip(
        &format!("test artifact {path} is missing"),
        "fetch the artifacts with hack/fetch-test-artifacts",
    );
    None
}

/// A file of the machine the tests read (a JDK, node, python, postgres), or `None` when it is missing,
/// as for [`artifact`].
pub fn machine_file(path: &str) -> Option<String> {
    if std::path::Path::new(path).exists() {
        return Some(path.to_owned());
    }
    test_support::skip(
        &format!("{path} is missing on this machine"),
        "hack/fetch-test-artifacts installs what the tests read (as root)",
    );
    None
}

pub(crate) const DEBIAN_JDK: &str = "/usr/lib/jvm/java-17-openjdk-amd64";

/// The Temurin JDK of the machine (`/usr/lib/jvm/temurin-<N>-jdk-amd64`), newest first; `None` as for
/// [`machine_file`].
pub(crate) fn temurin_jdk() -> Option<String> {
    let mut found: Vec<String> = std::fs::read_dir("/usr/lib/jvm")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    found.retain(|p| {
        crate::read::paths::file_name(p).starts_with("temurin-")
            && std::path::Path::new(&format!("{p}/release")).exists()
    });
    found.sort();
    let newest = found.pop();
    if newest.is_none() {
        test_support::skip(
            "no Temurin JDK under /usr/lib/jvm",
            "install one (Adoptium's temurin-<N>-jdk package)",
        );
    }
    newest
}

pub(crate) fn host() -> HostRoot {
    HostRoot::new("/")
}

pub(crate) fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A JVM's own view of its version and vendor (`java.version`, `java.vendor`).
pub(crate) fn jvm_properties(home: &str) -> (String, String) {
    let out = run(
        &format!("{home}/bin/java"),
        &["-XshowSettings:properties", "-version"],
    );
    let prop = |key: &str| {
        out.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(&format!("{key} = "))
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| panic!("{key} not printed by java"))
    };
    (prop("java.version"), prop("java.vendor"))
}

pub(crate) fn process(exe: &str, argv: &[&str]) -> Process {
    Process {
        exe: Some(exe.to_owned()),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        ..Process::default()
    }
}

pub(crate) fn kind(f: &Fingerprint) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        f.runtime_kind.as_deref(),
        f.runtime_kind_version.as_deref(),
        f.runtime_kind_implementer.as_deref(),
    )
}

pub(crate) fn framework(f: &Fingerprint) -> (Option<&str>, Option<&str>) {
    (f.runtime_name.as_deref(), f.runtime_version.as_deref())
}

/// A process started by the test, read back from /proc the way the coordinator does.
pub(crate) struct Running(Child);

impl Running {
    pub(crate) fn start(cmd: &mut Command, ready: impl Fn(&Process) -> bool) -> (Running, Process) {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let running = Running(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let p = from_proc(running.0.id());
            if ready(&p) {
                return (running, p);
            }
            assert!(
                Instant::now() < deadline,
                "process never became ready: {p:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn from_proc(pid: u32) -> Process {
    let base = format!("/proc/{pid}");
    let split = |data: Vec<u8>| -> Vec<String> {
        data.split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    };
    let maps = std::fs::read_to_string(format!("{base}/maps")).unwrap_or_default();
    let mut mapped_files: Vec<String> = Vec::new();
    for line in maps.lines() {
        if let Some(path) = line
            .split_whitespace()
            .nth(5)
            .filter(|p| p.starts_with('/'))
        {
            if !mapped_files.iter().any(|m| m == path) {
                mapped_files.push(path.to_owned());
            }
        }
    }
    Process {
        exe: std::fs::read_link(format!("{base}/exe"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
        argv: split(std::fs::read(format!("{base}/cmdline")).unwrap_or_default()),
        env: split(std::fs::read(format!("{base}/environ")).unwrap_or_default())
            .into_iter()
            .filter_map(|e| e.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect(),
        mapped_files,
        cwd: std::fs::read_link(format!("{base}/cwd"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned()),
    }
}

pub(crate) struct GoProgram {
    pub dir: TempDir,
    pub version: String,
}

pub(crate) fn go() -> &'static str {
    if std::path::Path::new("/usr/local/go/bin/go").exists() {
        "/usr/local/go/bin/go"
    } else {
        "go"
    }
}

/// Builds `main.go` in a module named `module` with extra `go build` flags (or `GOARCH=<arch>`).
pub(crate) fn build_go(module: &str, flags: &[&str], tag: Option<&str>) -> GoProgram {
    let dir = TempDir::new("go");
    dir.write(
        "src/go.mod",
        format!("module {module}\n\ngo 1.21\n").as_bytes(),
    );
    dir.write(
        "src/main.go",
        b"package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n",
    );
    let src = dir.path("src");
    if let Some(tag) = tag {
        for args in [
            &["init", "-q"][..],
            &["-c", "user.name=t", "-c", "user.email=t@e", "add", "."],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@e",
                "commit",
                "-qm",
                "x",
            ],
            &["tag", tag],
        ] {
            let ok = Command::new("git")
                .args(args)
                .current_dir(&src)
                .status()
                .expect("git")
                .success();
            assert!(ok, "git {args:?}");
        }
    }
    let out = dir.path("hello");
    let mut cmd = Command::new(go());
    // `GOARCH=...` entries cross-compile; the rest are `go build` flags.
    let (env, flags): (Vec<&str>, Vec<&str>) = flags.iter().partition(|f| f.starts_with("GOARCH="));
    for e in env {
        cmd.env("GOARCH", &e["GOARCH=".len()..]);
    }
    cmd.arg("build")
        .args(flags)
        .arg("-o")
        .arg(&out)
        .current_dir(&src);
    cmd.env("GOFLAGS", "-mod=mod")
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("CGO_ENABLED", "0");
    let status = cmd.status().expect("go build");
    assert!(status.success(), "go build failed");
    let version = run(go(), &["env", "GOVERSION"]).trim().to_owned();
    GoProgram { dir, version }
}
