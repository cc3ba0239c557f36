//! End-to-end tests of `fingerprint()` on real runtimes, binaries and jars.
//!
//! Expected values come from an independent source wherever one exists: the runtime itself asked
//! for its version by the TEST (`node --version`, `java -XshowSettings:properties`), never by the
//! code under test. Jars are the pinned Maven Central artifacts of `hack/fetch-test-artifacts`.

use crate::testing::{artifact, machine_file, HostRoot, TempDir};
use crate::{fingerprint, Fingerprint, Process, Runtime};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DEBIAN_JDK: &str = "/usr/lib/jvm/java-17-openjdk-amd64";

/// The Temurin JDK of the machine (`/usr/lib/jvm/temurin-<N>-jdk-amd64`).
fn temurin_jdk() -> String {
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
    found.pop().unwrap_or_else(|| {
        panic!("no Temurin JDK under /usr/lib/jvm (the machine image provides one)")
    })
}

/// A CPython that links `libpython` (pyenv builds with `--enable-shared`), newest first.
fn shared_libpython_interpreter() -> String {
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
    found
        .iter()
        .rev()
        .filter_map(|v| {
            let series = v.split('.').take(2).collect::<Vec<_>>().join(".");
            let exe = format!("{base}/{v}/bin/python{series}");
            let lib = format!("{base}/{v}/lib/libpython{series}.so.1.0");
            (std::path::Path::new(&exe).exists() && std::path::Path::new(&lib).exists())
                .then_some(exe)
        })
        .next()
        .unwrap_or_else(|| panic!("no pyenv CPython with a shared libpython under {base}"))
}

fn host() -> HostRoot {
    HostRoot::new("/")
}

fn run(cmd: &str, args: &[&str]) -> String {
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
fn jvm_properties(home: &str) -> (String, String) {
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

fn process(exe: &str, argv: &[&str]) -> Process {
    Process {
        exe: Some(exe.to_owned()),
        argv: argv.iter().map(|s| s.to_string()).collect(),
        ..Process::default()
    }
}

fn kind(f: &Fingerprint) -> (Option<&str>, Option<&str>, Option<&str>) {
    (
        f.runtime_kind.as_deref(),
        f.runtime_kind_version.as_deref(),
        f.runtime_kind_implementer.as_deref(),
    )
}

fn framework(f: &Fingerprint) -> (Option<&str>, Option<&str>) {
    (f.runtime_name.as_deref(), f.runtime_version.as_deref())
}

/// A process started by the test, read back from /proc the way the coordinator does.
struct Running(Child);

impl Running {
    fn start(cmd: &mut Command, ready: impl Fn(&Process) -> bool) -> (Running, Process) {
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

fn from_proc(pid: u32) -> Process {
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

// ---------------------------------------------------------------- Java

#[test]
fn java_debian_through_usr_bin_java_alternatives_and_path() {
    machine_file(DEBIAN_JDK);
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
    let temurin = temurin_jdk();
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
    let temurin = temurin_jdk();
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

// ---------------------------------------------------------------- Java frameworks

fn debian_java(argv: &[&str]) -> Process {
    let mut all = vec!["java"];
    all.extend_from_slice(argv);
    process(&format!("{DEBIAN_JDK}/bin/java"), &all)
}

#[test]
fn spring_boot_3_fat_jar_new_launcher() {
    let jar = artifact("spring-boot-app-3.5.13.jar");
    let f = fingerprint(
        &host(),
        &debian_java(&["-Xmx256m", "-jar", &jar, "--server.port=8080"]),
    );
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("3.5.13")));
    assert_eq!(f.runtime_kind.as_deref(), Some("Java"));
}

/// The Tomcat release a fat jar embeds, read independently of the code under test: Python's zipfile
/// opens the nested `tomcat-embed-core` jar and its `ServerInfo.properties` (`Apache Tomcat/<v>`).
fn embedded_tomcat_release(jar: &str) -> String {
    let script = "import io, sys, zipfile\n\
        outer = zipfile.ZipFile(sys.argv[1])\n\
        [name] = [n for n in outer.namelist() if n.startswith('BOOT-INF/lib/tomcat-embed-core-')]\n\
        inner = zipfile.ZipFile(io.BytesIO(outer.read(name)))\n\
        props = inner.read('org/apache/catalina/util/ServerInfo.properties').decode()\n\
        print([l for l in props.splitlines() if l.startswith('server.info=')][0].split('/')[-1])\n";
    let out = Command::new("python3")
        .args(["-c", script, jar])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn spring_boot_web_fat_jar_reports_the_embedded_tomcat_second() {
    let jar = artifact("spring-boot-web-app-3.5.13.jar");
    let tomcat = embedded_tomcat_release(&jar);
    let f = fingerprint(&host(), &debian_java(&["-jar", &jar]));
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("3.5.13")));
    assert_eq!(
        f.runtimes,
        vec![
            Runtime {
                name: "Spring Boot".into(),
                version: Some("3.5.13".into())
            },
            Runtime {
                name: "Apache Tomcat".into(),
                version: Some(tomcat.clone())
            },
        ]
    );
    assert_eq!(
        f.runtime_entries(),
        vec![
            ("runtimes.0.name".to_owned(), "Spring Boot"),
            ("runtimes.0.version".to_owned(), "3.5.13"),
            ("runtimes.1.name".to_owned(), "Apache Tomcat"),
            ("runtimes.1.version".to_owned(), tomcat.as_str()),
        ]
    );
    // A Spring Boot app without a servlet container has one runtime.
    let plain = fingerprint(
        &host(),
        &debian_java(&["-jar", &artifact("spring-boot-app-3.5.13.jar")]),
    );
    assert_eq!(plain.runtimes.len(), 1);
}

#[test]
fn spring_boot_2_fat_jar_old_launcher_and_relative_jar_path() {
    let jar = artifact("spring-boot-app-2.7.18.jar");
    let mut p = debian_java(&["-jar", "spring-boot-app-2.7.18.jar"]);
    p.cwd = Some(crate::read::paths::parent(&jar).to_owned());
    let f = fingerprint(&host(), &p);
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("2.7.18")));
}

#[test]
fn spring_boot_exploded_by_buildpacks_launcher_in_the_working_directory() {
    let app = artifact("spring-boot-app-3.5.13-exploded");
    let mut p = debian_java(&["org.springframework.boot.loader.launch.JarLauncher"]);
    p.cwd = Some(app.clone());
    let f = fingerprint(&host(), &p);
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("3.5.13")));
    // Without the exploded manifest, the nested spring-boot jar of BOOT-INF/lib still tells.
    let dir = TempDir::new("exploded");
    dir.copy(
        &format!("{app}/BOOT-INF/lib/spring-boot-3.5.13.jar"),
        "workspace/BOOT-INF/lib/spring-boot-3.5.13.jar",
    );
    dir.copy(&format!("{DEBIAN_JDK}/release"), "opt/java/release");
    dir.copy(&format!("{DEBIAN_JDK}/bin/java"), "opt/java/bin/java");
    let mut p = process(
        "/opt/java/bin/java",
        &["java", "org.springframework.boot.loader.launch.JarLauncher"],
    );
    p.cwd = Some("/workspace".into());
    let f = fingerprint(&HostRoot::new(&dir.0), &p);
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("3.5.13")));
}

#[test]
fn spring_boot_exploded_classpath_jar_without_launcher() {
    // Jib's layout: `java -cp /app/resources:/app/classes:/app/libs/* <the app's main class>`.
    let dir = TempDir::new("jib");
    dir.copy(
        &artifact("spring-boot-3.5.13.jar"),
        "app/libs/spring-boot-3.5.13.jar",
    );
    dir.copy(&format!("{DEBIAN_JDK}/release"), "opt/java/release");
    dir.copy(&format!("{DEBIAN_JDK}/bin/java"), "opt/java/bin/java");
    let p = process(
        "/opt/java/bin/java",
        &[
            "java",
            "-cp",
            "/app/resources:/app/classes:/app/libs/*",
            "com.example.DemoApplication",
        ],
    );
    let f = fingerprint(&HostRoot::new(&dir.0), &p);
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("3.5.13")));
}

#[test]
fn quarkus_real_fast_jar_app_running() {
    let runner = artifact("quarkus-app-3.33.2/quarkus-run.jar");
    let app = crate::read::paths::parent(&runner).to_owned();
    let (version, vendor) = jvm_properties(DEBIAN_JDK);
    // The real application, started as its image would start it, read back from /proc.
    let (_app, p) = Running::start(
        Command::new(format!("{DEBIAN_JDK}/bin/java"))
            .args(["-Dquarkus.http.host=0.0.0.0", "-jar", "quarkus-run.jar"])
            .current_dir(&app),
        |p| p.mapped_files.iter().any(|m| m.ends_with("/libjvm.so")) && p.cwd.is_some(),
    );
    let f = fingerprint(&host(), &p);
    assert_eq!(
        kind(&f),
        (Some("Java"), Some(version.as_str()), Some(vendor.as_str()))
    );
    assert_eq!(framework(&f), (Some("Quarkus"), Some("3.33.2")));
}

#[test]
fn quarkus_version_from_the_boot_runner_when_lib_main_is_gone() {
    // Only quarkus-run.jar and lib/boot (its Class-Path): the bootstrap runner jar gives the version.
    let app =
        crate::read::paths::parent(&artifact("quarkus-app-3.33.2/quarkus-run.jar")).to_owned();
    let dir = TempDir::new("quarkus-boot");
    dir.copy(
        &format!("{app}/quarkus-run.jar"),
        "deployments/quarkus-run.jar",
    );
    for entry in std::fs::read_dir(format!("{app}/lib/boot")).expect("lib/boot") {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        dir.copy(
            &format!("{app}/lib/boot/{name}"),
            &format!("deployments/lib/boot/{name}"),
        );
    }
    dir.copy(&format!("{DEBIAN_JDK}/release"), "opt/java/release");
    dir.copy(&format!("{DEBIAN_JDK}/bin/java"), "opt/java/bin/java");
    let p = process(
        "/opt/java/bin/java",
        &["java", "-jar", "/deployments/quarkus-run.jar"],
    );
    let f = fingerprint(&HostRoot::new(&dir.0), &p);
    assert_eq!(framework(&f), (Some("Quarkus"), Some("3.33.2")));
}

#[test]
fn spring_boot_real_app_running() {
    let jar = artifact("spring-boot-app-3.5.13.jar");
    let (_app, p) = Running::start(
        Command::new(format!("{DEBIAN_JDK}/bin/java")).args(["-Xmx256m", "-jar", &jar]),
        |p| p.mapped_files.iter().any(|m| m.ends_with("/libjvm.so")),
    );
    let f = fingerprint(&host(), &p);
    assert_eq!(f.runtime_kind.as_deref(), Some("Java"));
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("3.5.13")));
}

#[test]
fn tomcat_from_catalina_jar_server_info() {
    let home = artifact("apache-tomcat-10.1.34");
    // The command line catalina.sh builds.
    let cp = format!("{home}/bin/bootstrap.jar:{home}/bin/tomcat-juli.jar");
    let f = fingerprint(
        &host(),
        &debian_java(&[
            &format!("-Djava.util.logging.config.file={home}/conf/logging.properties"),
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "-classpath",
            &cp,
            &format!("-Dcatalina.base={home}"),
            &format!("-Dcatalina.home={home}"),
            "org.apache.catalina.startup.Bootstrap",
            "start",
        ]),
    );
    assert_eq!(framework(&f), (Some("Apache Tomcat"), Some("10.1.34")));
}

#[test]
fn tomcat_main_class_without_home_property_is_not_a_server() {
    let home = artifact("apache-tomcat-10.1.34");
    let cp = format!("{home}/bin/bootstrap.jar");
    let f = fingerprint(
        &host(),
        &debian_java(&["-cp", &cp, "org.apache.catalina.startup.Bootstrap", "stop"]),
    );
    assert_eq!(framework(&f), (None, None));
}

#[test]
fn kafka_broker_from_wildcard_classpath() {
    let dir = TempDir::new("kafka");
    dir.copy(
        &artifact("kafka_2.13-3.7.2.jar"),
        "opt/kafka/libs/kafka_2.13-3.7.2.jar",
    );
    dir.copy(
        &artifact("kafka-clients-3.7.2.jar"),
        "opt/kafka/libs/kafka-clients-3.7.2.jar",
    );
    dir.copy(&format!("{DEBIAN_JDK}/release"), "usr/lib/jvm/jdk/release");
    dir.copy(
        &format!("{DEBIAN_JDK}/bin/java"),
        "usr/lib/jvm/jdk/bin/java",
    );
    let p = process(
        "/usr/lib/jvm/jdk/bin/java",
        &[
            "java",
            "-Xmx1G",
            "-server",
            "-cp",
            "/opt/kafka/bin/../libs/*",
            "kafka.Kafka",
            "/opt/kafka/config/server.properties",
        ],
    );
    let f = fingerprint(&HostRoot::new(&dir.0), &p);
    assert_eq!(framework(&f), (Some("Kafka"), Some("3.7.2")));
    // Without kafka-clients the core jar's manifest still gives it.
    std::fs::remove_file(dir.path("opt/kafka/libs/kafka-clients-3.7.2.jar")).expect("rm");
    let f = fingerprint(&HostRoot::new(&dir.0), &p);
    assert_eq!(framework(&f), (Some("Kafka"), Some("3.7.2")));
}

#[test]
fn wildfly_real_distribution_product_jar() {
    let home = artifact("wildfly-39.0.1.Final");
    // The command line standalone.sh builds.
    let f = fingerprint(
        &host(),
        &debian_java(&[
            "-D[Standalone]",
            "-Xms64m",
            "--add-exports=java.desktop/sun.awt=ALL-UNNAMED",
            &format!("-Djboss.home.dir={home}"),
            &format!("-Djboss.server.base.dir={home}/standalone"),
            "-jar",
            &format!("{home}/jboss-modules.jar"),
            "-mp",
            &format!("{home}/modules"),
            "org.jboss.as.standalone",
        ]),
    );
    assert_eq!(framework(&f), (Some("WildFly"), Some("39.0.1.Final")));
    // WildFly 39's standalone.sh passes the home after the main module, as a program argument that
    // jboss-modules turns into a system property.
    let after = fingerprint(
        &host(),
        &debian_java(&[
            "-D[Standalone]",
            "-jar",
            &format!("{home}/jboss-modules.jar"),
            "-mp",
            &format!("{home}/modules"),
            "org.jboss.as.standalone",
            &format!("-Djboss.home.dir={home}"),
            &format!("-Djboss.server.base.dir={home}/standalone"),
        ]),
    );
    assert_eq!(framework(&after), (Some("WildFly"), Some("39.0.1.Final")));
    // The jboss-cli shares jboss-modules.jar but has no jboss.home.dir: not the server.
    let cli = fingerprint(
        &host(),
        &debian_java(&[
            "-jar",
            &format!("{home}/jboss-modules.jar"),
            "-mp",
            &format!("{home}/modules"),
            "org.jboss.as.cli",
        ]),
    );
    assert_eq!(framework(&cli), (None, None));
}

#[test]
fn wildfly_older_layout_product_module_dir_manifest() {
    let dir = TempDir::new("wildfly");
    let home = "opt/jboss/wildfly";
    dir.copy(
        &artifact("jboss-modules-2.1.6.Final.jar"),
        &format!("{home}/jboss-modules.jar"),
    );
    dir.copy(
        &artifact("wildfly-product/META-INF/MANIFEST.MF"),
        &format!("{home}/modules/system/layers/base/org/jboss/as/product/wildfly/dir/META-INF/MANIFEST.MF"),
    );
    dir.write(&format!("{home}/bin/product.conf"), b"slot=wildfly\n");
    dir.copy(&format!("{DEBIAN_JDK}/release"), "usr/lib/jvm/jdk/release");
    dir.copy(
        &format!("{DEBIAN_JDK}/bin/java"),
        "usr/lib/jvm/jdk/bin/java",
    );
    // The command line standalone.sh builds.
    let p = process(
        "/usr/lib/jvm/jdk/bin/java",
        &[
            "java",
            "-D[Standalone]",
            "-Xms64m",
            "--add-exports=java.desktop/sun.awt=ALL-UNNAMED",
            "-Dorg.jboss.boot.log.file=/opt/jboss/wildfly/standalone/log/server.log",
            "-Djboss.home.dir=/opt/jboss/wildfly",
            "-Djboss.server.base.dir=/opt/jboss/wildfly/standalone",
            "-jar",
            "/opt/jboss/wildfly/jboss-modules.jar",
            "-mp",
            "/opt/jboss/wildfly/modules",
            "org.jboss.as.standalone",
        ],
    );
    let f = fingerprint(&HostRoot::new(&dir.0), &p);
    assert_eq!(framework(&f), (Some("WildFly"), Some("39.0.1.Final")));
    assert_eq!(f.runtime_kind.as_deref(), Some("Java"));
}

// ---------------------------------------------------------------- Go

pub(crate) struct GoProgram {
    pub dir: TempDir,
    pub version: String,
}

fn go() -> &'static str {
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

#[test]
fn go_program_stripped_pie_32bit_big_endian_and_named_node() {
    for flags in [
        &["-trimpath"][..],
        &["-ldflags=-s -w"],
        &["-buildmode=pie", "-ldflags=-s -w"],
        // 32-bit ELF, and big-endian 64-bit ELF.
        &["GOARCH=386", "-ldflags=-s -w"],
        &["GOARCH=s390x"],
    ] {
        let prog = build_go("example.com/hello", flags, None);
        let exe = prog.dir.path("hello").to_string_lossy().into_owned();
        let info =
            crate::kinds::go::read(&std::fs::File::open(&exe).expect("open")).expect("build info");
        assert_eq!(info.go_version, prog.version, "{flags:?}");
        assert_eq!(
            info.main_module,
            Some(("example.com/hello".into(), "(devel)".into()))
        );
        assert_eq!(info.path.as_deref(), Some("example.com/hello"));
        // A Go program called `node` is still Go: the name is not evidence.
        let f = fingerprint(&host(), &process(&exe, &["node", "server.js"]));
        assert_eq!(
            kind(&f),
            (Some("Golang"), Some(prog.version.as_str()), None),
            "{flags:?}"
        );
        assert_eq!(framework(&f), (None, None));
    }
    // Nor does a Go program installed as `<dir>/bin/java` make a JVM.
    let prog = build_go("example.com/notjava", &["-ldflags=-s -w"], None);
    let dir = TempDir::new("fake-java");
    dir.copy(
        &prog.dir.path("hello").to_string_lossy(),
        "opt/tool/bin/java",
    );
    let f = fingerprint(
        &HostRoot::new(&dir.0),
        &process("/opt/tool/bin/java", &["java", "-jar", "app.jar"]),
    );
    assert_eq!(
        kind(&f),
        (Some("Golang"), Some(prog.version.as_str()), None)
    );
}

#[test]
fn go_without_section_headers_uses_the_writable_segment() {
    // What `sstrip` does: drop the section header table, so `.go.buildinfo` cannot be named.
    let prog = build_go("example.com/sstrip", &["-ldflags=-s -w"], None);
    let mut data = std::fs::read(prog.dir.path("hello")).expect("read");
    data[0x28..0x30].fill(0); // e_shoff
    data[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
    prog.dir.write("stripped", &data);
    let file = std::fs::File::open(prog.dir.path("stripped")).expect("open");
    assert!(crate::read::elf::Elf::parse(&file)
        .expect("still ELF")
        .sections
        .is_empty());
    let info = crate::kinds::go::read(&file).expect("build info from the first writable PT_LOAD");
    assert_eq!(info.go_version, prog.version);
    assert_eq!(
        info.main_module,
        Some(("example.com/sstrip".into(), "(devel)".into()))
    );
}

#[test]
fn go_before_1_18_real_esbuild_from_npm() {
    // A real binary built by Go 1.17 (build info in the "pointers" layout), checked against what the Go tool
    // itself reads from it.
    let exe = artifact("esbuild-0.14.10/esbuild");
    let want = run(go(), &["version", "-m", &exe]);
    let field = |key: &str| {
        want.lines()
            .find_map(|l| l.trim_start().strip_prefix(key))
            .map(|rest| rest.split('\t').map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("go version -m has no {key:?}:\n{want}"))
    };
    let go_version = want
        .lines()
        .next()
        .and_then(|l| l.rsplit(": ").next())
        .expect("version line");
    assert!(go_version.starts_with("go1.17"), "{go_version}");
    let info =
        crate::kinds::go::read(&std::fs::File::open(&exe).expect("open")).expect("build info");
    assert_eq!(info.go_version, go_version);
    assert_eq!(info.path.as_deref(), Some(field("path\t")[0].as_str()));
    let module = field("mod\t");
    assert_eq!(
        info.main_module,
        Some((module[0].clone(), module[1].clone()))
    );
    let f = fingerprint(&host(), &process(&exe, &["esbuild", "--serve"]));
    assert_eq!(kind(&f), (Some("Golang"), Some(go_version), None));
}

#[test]
fn go_well_known_program_from_its_main_module_and_vcs_tag() {
    let prog = build_go(
        "github.com/caddyserver/caddy/v2",
        &["-ldflags=-s -w"],
        Some("v2.8.4"),
    );
    let exe = prog.dir.path("hello").to_string_lossy().into_owned();
    let info =
        crate::kinds::go::read(&std::fs::File::open(&exe).expect("open")).expect("build info");
    let (module, version) = info.main_module.expect("main module");
    assert_eq!(module, "github.com/caddyserver/caddy/v2");
    let f = fingerprint(&host(), &process(&exe, &["caddy", "run"]));
    assert_eq!(
        f.go_main_module,
        Some((
            "github.com/caddyserver/caddy/v2".to_owned(),
            version.clone()
        ))
    );
    assert_eq!(
        kind(&f),
        (Some("Golang"), Some(prog.version.as_str()), None)
    );
    // Go stamps the tag as the module version when it builds inside the tagged checkout.
    let expected = (version != "(devel)").then_some(version.as_str());
    assert_eq!(framework(&f), (Some("Caddy"), expected));
    assert_eq!(expected, Some("v2.8.4"), "go stamps the vcs tag");
}

// ---------------------------------------------------------------- Node.js, Python, Ruby, PHP, PostgreSQL

#[test]
fn node_version_from_the_binary_whatever_its_name() {
    let node = machine_file("/usr/bin/node");
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
    let node = machine_file("/usr/bin/node");
    let app = artifact("node-express-app");
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
fn python_flask_in_a_virtualenv() {
    let venv = artifact("python-flask-venv");
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
    let exe = machine_file("/usr/bin/python3.11");
    let expected = python_version_of(&exe);
    let f = fingerprint(&host(), &process(&exe, &["python3", "app.py"]));
    assert_eq!(kind(&f), (Some("Python"), Some(expected.as_str()), None));
}

#[test]
fn python_pyenv_interpreter_linked_to_libpython() {
    let exe = shared_libpython_interpreter();
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

#[test]
fn ruby_from_mapped_libruby() {
    let ruby = machine_file("/usr/bin/ruby");
    let expected = run(&ruby, &["-e", "print RUBY_VERSION"]);
    let (_rb, mut p) = Running::start(Command::new(&ruby).args(["-e", "sleep 60"]), |p| {
        p.mapped_files.iter().any(|m| m.contains("libruby"))
    });
    p.argv[0] = "puma 6.4.0 (tcp://0.0.0.0:3000)".into();
    let f = fingerprint(&host(), &p);
    assert_eq!(kind(&f), (Some("Ruby"), Some(expected.as_str()), None));
}

#[test]
fn php_cli_through_alternatives() {
    let php = machine_file("/usr/bin/php");
    let expected = run(&php, &["-r", "echo PHP_VERSION;"]);
    let real = std::fs::canonicalize(&php)
        .expect("php")
        .to_string_lossy()
        .into_owned();
    let f = fingerprint(&host(), &process(&real, &["php", "artisan", "serve"]));
    assert_eq!(kind(&f), (Some("PHP"), Some(expected.as_str()), None));
}

#[test]
fn postgresql_server_version_from_the_binary() {
    let postgres = machine_file("/usr/lib/postgresql/15/bin/postgres");
    let out = run(&postgres, &["--version"]);
    // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let expected = out
        .split(") ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("version")
        .to_owned();
    let f = fingerprint(
        &host(),
        &process(&postgres, &["postgres", "-D", "/var/lib/postgresql/data"]),
    );
    assert_eq!(framework(&f), (Some("PostgreSQL"), Some(expected.as_str())));
    assert_eq!(
        f.runtime_kind, None,
        "PostgreSQL is a native server, not a runtime kind"
    );
}

#[test]
fn dotnet_from_the_mapped_runtime_directory() {
    let p = Process {
        exe: Some("/usr/share/dotnet/dotnet".into()),
        mapped_files: vec![
            "/usr/share/dotnet/shared/Microsoft.NETCore.App/8.0.11/libcoreclr.so".into(),
        ],
        ..Process::default()
    };
    let f = fingerprint(&HostRoot::new(TempDir::new("dotnet").0.clone()), &p);
    assert_eq!(kind(&f), (Some(".NET"), Some("8.0.11"), None));
}

#[test]
fn graalvm_native_image_vendor_and_java_version() {
    let lib = artifact("graalvm-native/libjsvm.so");
    let p = Process {
        exe: Some(lib.clone()),
        argv: vec!["js".into()],
        ..Process::default()
    };
    let f = fingerprint(&host(), &p);
    assert_eq!(f.runtime_kind.as_deref(), Some("GraalVM"));
    assert_eq!(f.runtime_kind_version.as_deref(), Some("23.0.2"));
    assert_eq!(
        f.runtime_kind_implementer.as_deref(),
        Some("Oracle GraalVM 23.0.2+7.1")
    );
    assert_eq!(f.runtime_name, None, "GraalJS is not Quarkus");
}

// ---------------------------------------------------------------- what is never done

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

#[test]
fn container_symlinks_stay_inside_the_root() {
    // /usr/bin/java -> /etc/alternatives/java (absolute) must resolve inside the container root.
    let dir = TempDir::new("alternatives");
    let temurin = temurin_jdk();
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
