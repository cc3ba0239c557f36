//! The JVM rules on real artifacts (hack/fetch-test-artifacts: pinned Maven Central jars and the parts of
//! real distributions), with the command lines their launch scripts build: Spring Boot (fat, exploded and
//! classpath layouts, and the Tomcat it embeds), Quarkus, Apache Tomcat, Kafka, WildFly and the rules after them.

use crate::testing::{
    artifact, framework, host, jvm_properties, kind, machine_file, process, run, HostRoot, Running,
    TempDir, DEBIAN_JDK,
};
use crate::{fingerprint, Fingerprint, Process, Runtime};
use std::process::Command;
use test_support::require;
fn java(argv: &[&str]) -> Process {
    let mut all = vec!["java"];
    all.extend_from_slice(argv);
    Process {
        exe: Some(format!("{DEBIAN_JDK}/bin/java")),
        argv: all.iter().map(|s| s.to_string()).collect(),
        ..Process::default()
    }
}

fn runtimes(f: &Fingerprint) -> Vec<(&str, Option<&str>)> {
    f.runtimes
        .iter()
        .map(|r| (r.name.as_str(), r.version.as_deref()))
        .collect()
}

fn scan(argv: &[&str]) -> Fingerprint {
    fingerprint(&HostRoot::new("/"), &java(argv))
}

/// The command line bin/kc.sh builds (Keycloak 26.7.3) for `home`.
fn keycloak_argv(home: &str) -> Vec<String> {
    [
        "-Dkc.config.built=true".to_owned(),
        "-Dkc.script.pid=7".to_owned(),
        "-XX:MetaspaceSize=96M".to_owned(),
        "--add-opens=java.base/java.util=ALL-UNNAMED".to_owned(),
        format!("-Dkc.home.dir={home}/bin/.."),
        format!("-Djboss.server.config.dir={home}/bin/../conf"),
        "-Djava.util.logging.manager=org.jboss.logmanager.LogManager".to_owned(),
        "-cp".to_owned(),
        format!("{home}/bin/../lib/quarkus-run.jar"),
        "io.quarkus.bootstrap.runner.QuarkusEntryPoint".to_owned(),
        "--profile=dev".to_owned(),
        "start-dev".to_owned(),
    ]
    .to_vec()
}

#[test]
fn keycloak_distribution_then_its_quarkus() {
    let home = require!(artifact("keycloak-26.7.3"));
    // kc.sh really builds that command line.
    let kc = std::fs::read_to_string(format!("{home}/bin/kc.sh")).expect("kc.sh");
    assert!(
        kc.contains("-Dkc.home.dir=")
            && kc.contains("io.quarkus.bootstrap.runner.QuarkusEntryPoint")
    );
    let argv = keycloak_argv(&home);
    let f = scan(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        runtimes(&f),
        vec![("Keycloak", Some("26.7.3")), ("Quarkus", Some("3.33.3.1"))]
    );
    assert_eq!(f.runtime_name.as_deref(), Some("Keycloak"));
    // A plain Quarkus app started the same way (no kc.home.dir) stays Quarkus.
    let plain: Vec<&str> = argv
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("-Dkc.home.dir="))
        .collect();
    assert_eq!(scan(&plain).runtime_name.as_deref(), Some("Quarkus"));
}

#[test]
fn keycloak_version_without_the_launcher_manifest() {
    // An image that rebuilt quarkus-run.jar still has keycloak-common's keycloak-version.properties.
    let home = require!(artifact("keycloak-26.7.3"));
    let dir = TempDir::new("keycloak");
    for jar in [
        "org.keycloak.keycloak-common-26.7.3.jar",
        "io.quarkus.quarkus-core-3.33.3.1.jar",
    ] {
        dir.copy(
            &format!("{home}/lib/lib/main/{jar}"),
            &format!("kc/lib/lib/main/{jar}"),
        );
    }
    let kc = dir.path("kc").to_string_lossy().into_owned();
    let argv = keycloak_argv(&kc);
    let f = scan(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        runtimes(&f),
        vec![("Keycloak", Some("26.7.3")), ("Quarkus", Some("3.33.3.1"))]
    );
}

/// The command line WildFly's standalone.sh builds for `home`.
fn jboss_argv(home: &str) -> Vec<String> {
    vec![
        "-D[Standalone]".to_owned(),
        "-jar".to_owned(),
        format!("{home}/jboss-modules.jar"),
        "-mp".to_owned(),
        format!("{home}/modules"),
        "org.jboss.as.standalone".to_owned(),
        format!("-Djboss.home.dir={home}"),
    ]
}

#[test]
fn keycloak_on_wildfly_and_rh_sso() {
    // keycloak-server-dist-18.0.2, the last WildFly-based Keycloak (RH-SSO 7.6's lineage): version.txt
    // "Keycloak - Version 18.0.2".
    let real = require!(artifact("keycloak-18.0.2"));
    let argv = jboss_argv(&real);
    let f = scan(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(runtimes(&f), vec![("Keycloak", Some("18.0.2"))]);
    // Without version.txt: the product module of the `keycloak` layer that modules/layers.conf names.
    let dir = TempDir::new("keycloak-legacy");
    for rel in [
        "jboss-modules.jar",
        "bin/product.conf",
        "modules/layers.conf",
        "modules/system/layers/keycloak/org/jboss/as/product/keycloak/dir/META-INF/MANIFEST.MF",
    ] {
        dir.copy(&format!("{real}/{rel}"), &format!("kc/{rel}"));
    }
    let home = dir.path("kc").to_string_lossy().into_owned();
    let argv = jboss_argv(&home);
    let f = scan(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(runtimes(&f), vec![("Keycloak", Some("18.0.2"))]);
    // RH-SSO 7 is not served by any public registry: its version.txt line is the one Red Hat's
    // insights-core parses ("Red Hat Single Sign-On - Version 7.4.10.GA"), on the real layout above.
    dir.write(
        "kc/version.txt",
        b"Red Hat Single Sign-On - Version 7.4.10.GA\n",
    );
    let f = scan(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(runtimes(&f), vec![("RH-SSO", Some("7.4.10.GA"))]);
    // With the product module of the EAP it is installed on (layers/base, slot `eap`; its manifest has
    // the form of the real product module above), the EAP follows.
    dir.write(
        "kc/modules/system/layers/base/org/jboss/as/product/eap/dir/META-INF/MANIFEST.MF",
        b"JBoss-Product-Release-Name: JBoss EAP\nJBoss-Product-Release-Version: 7.4.16.GA\n",
    );
    let f = scan(&argv.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        runtimes(&f),
        vec![
            ("RH-SSO", Some("7.4.10.GA")),
            ("JBoss EAP", Some("7.4.16.GA"))
        ]
    );
}

#[test]
fn jetty_distribution_and_its_forked_jvm() {
    let dir = require!(TempDir::with_artifacts(
        "jetty",
        &[
            ("jetty-start-12.1.10.jar", "jetty-home/start.jar"),
            (
                "jetty-server-12.1.10.jar",
                "jetty-home/lib/jetty-server-12.1.10.jar"
            ),
        ]
    ));
    let home = dir.path("jetty-home").to_string_lossy().into_owned();
    let f = scan(&["-Xmx64m", "-jar", &format!("{home}/start.jar")]);
    assert_eq!(runtimes(&f), vec![("Jetty", Some("12.1.10"))]);
    // start.jar forks a JVM with the jars its modules name when they need JVM options.
    let cp = format!("{home}/lib/jetty-server-12.1.10.jar");
    let f = scan(&[
        "-cp",
        &cp,
        "org.eclipse.jetty.xml.XmlConfiguration",
        "jetty.xml",
    ]);
    assert_eq!(runtimes(&f), vec![("Jetty", Some("12.1.10"))]);
    // Only start.jar (a trimmed home): its own manifest.
    std::fs::remove_file(dir.path("jetty-home/lib/jetty-server-12.1.10.jar")).expect("rm");
    let f = scan(&["-jar", &format!("{home}/start.jar")]);
    assert_eq!(runtimes(&f), vec![("Jetty", Some("12.1.10"))]);
}

#[test]
fn artemis_broker_instance_not_its_cli() {
    let dir = require!(TempDir::with_artifacts(
        "artemis",
        &[
            ("artemis-boot-2.40.0.jar", "artemis/lib/artemis-boot.jar"),
            (
                "artemis-server-2.40.0.jar",
                "artemis/lib/artemis-server-2.40.0.jar"
            ),
        ]
    ));
    let home = dir.path("artemis").to_string_lossy().into_owned();
    let cp = format!("{home}/lib/artemis-boot.jar");
    let broker = |instance: bool| {
        let mut argv = vec![
            "-Xms512M".to_owned(),
            "-classpath".to_owned(),
            cp.clone(),
            format!("-Dartemis.home={home}"),
        ];
        if instance {
            argv.push("-Dartemis.instance=/var/lib/artemis-instance".to_owned());
        }
        argv.push("org.apache.activemq.artemis.boot.Artemis".to_owned());
        argv.push(if instance { "run" } else { "create" }.to_owned());
        scan(&argv.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(
        runtimes(&broker(true)),
        vec![("ActiveMQ Artemis", Some("2.40.0"))]
    );
    assert_eq!(runtimes(&broker(false)), vec![]);
    // artemis-boot.jar alone.
    std::fs::remove_file(dir.path("artemis/lib/artemis-server-2.40.0.jar")).expect("rm");
    assert_eq!(
        runtimes(&broker(true)),
        vec![("ActiveMQ Artemis", Some("2.40.0"))]
    );
}

#[test]
fn elasticsearch_and_opensearch_server_jvms() {
    let dir = require!(TempDir::with_artifacts(
        "search",
        &[
            ("elasticsearch-9.5.3.jar", "es/lib/elasticsearch-9.5.3.jar"),
            ("opensearch-3.9.0.jar", "os/lib/opensearch-3.9.0.jar"),
        ]
    ));
    let es = dir.path("es").to_string_lossy().into_owned();
    // The server JVM Elasticsearch 8/9's CLI starts (module path, `-m`).
    let f = scan(&[
        "-Des.networkaddress.cache.ttl=60",
        &format!("-Des.path.home={es}"),
        "-Des.distribution.type=docker",
        "--module-path",
        &format!("{es}/lib"),
        "--add-modules=jdk.net",
        "-m",
        "org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch",
    ]);
    assert_eq!(runtimes(&f), vec![("Elasticsearch", Some("9.5.3"))]);
    // Its launcher JVM (bin/elasticsearch-cli with CLI_NAME=server), the server's parent; not the other tools.
    let launcher = |cli: &str| {
        scan(&[
            "-Xms4m",
            "-Xmx64m",
            "-XX:+UseSerialGC",
            &format!("-Dcli.name={cli}"),
            &format!("-Dcli.script={es}/bin/elasticsearch"),
            "-Dcli.libs=lib/tools/server-cli",
            &format!("-Des.path.home={es}"),
            &format!("-Des.path.conf={es}/config"),
            "-cp",
            &format!("{es}/lib/*:{es}/lib/cli-launcher/*"),
            "org.elasticsearch.launcher.CliToolLauncher",
        ])
    };
    assert_eq!(
        runtimes(&launcher("server")),
        vec![("Elasticsearch", Some("9.5.3"))]
    );
    assert_eq!(runtimes(&launcher("elasticsearch-keystore")), vec![]);
    let os = dir.path("os").to_string_lossy().into_owned();
    let f = scan(&[
        &format!("-Dopensearch.path.home={os}"),
        "-Dopensearch.distribution.type=tar",
        "-cp",
        &format!("{os}/lib/*"),
        "org.opensearch.bootstrap.OpenSearch",
        "-d",
    ]);
    assert_eq!(runtimes(&f), vec![("OpenSearch", Some("3.9.0"))]);
}

#[test]
fn frameworks_on_a_thin_classpath() {
    let dir = TempDir::new("thin");
    for (jar, expect) in [
        ("micronaut-core-4.10.15.jar", ("Micronaut", "4.10.15")),
        ("helidon-webserver-4.5.0.jar", ("Helidon", "4.5.0")),
        ("vertx-core-5.0.7.jar", ("Vert.x", "5.0.7")),
    ] {
        dir.copy(&require!(artifact(jar)), &format!("{jar}/app/libs/{jar}"));
        dir.write(&format!("{jar}/app/app.jar"), b"not a jar");
        let libs = dir
            .path(&format!("{jar}/app/libs"))
            .to_string_lossy()
            .into_owned();
        let f = scan(&["-cp", &format!("{libs}/*"), "com.example.Main"]);
        assert_eq!(runtimes(&f), vec![(expect.0, Some(expect.1))], "{jar}");
    }
}

#[test]
fn spring_boot_with_embedded_jetty_or_undertow() {
    let dir = require!(TempDir::with_artifacts(
        "boot-servers",
        &[
            ("spring-boot-3.5.13.jar", "app/lib/spring-boot-3.5.13.jar"),
            (
                "jetty-server-12.1.10.jar",
                "app/lib/jetty-server-12.1.10.jar"
            ),
        ]
    ));
    let lib = dir.path("app/lib").to_string_lossy().into_owned();
    let f = scan(&["-cp", &format!("{lib}/*"), "com.example.Application"]);
    assert_eq!(
        runtimes(&f),
        vec![("Spring Boot", Some("3.5.13")), ("Jetty", Some("12.1.10"))]
    );
    std::fs::remove_file(dir.path("app/lib/jetty-server-12.1.10.jar")).expect("rm");
    dir.copy(
        &require!(artifact("undertow-core-2.3.21.Final.jar")),
        "app/lib/undertow-core-2.3.21.Final.jar",
    );
    let f = scan(&["-cp", &format!("{lib}/*"), "com.example.Application"]);
    assert_eq!(
        runtimes(&f),
        vec![
            ("Spring Boot", Some("3.5.13")),
            ("Undertow", Some("2.3.21.Final"))
        ]
    );
}

fn debian_java(argv: &[&str]) -> Process {
    let mut all = vec!["java"];
    all.extend_from_slice(argv);
    process(&format!("{DEBIAN_JDK}/bin/java"), &all)
}

#[test]
fn spring_boot_3_fat_jar_new_launcher() {
    require!(machine_file(DEBIAN_JDK));
    let jar = require!(artifact("spring-boot-app-3.5.13.jar"));
    let f = fingerprint(
        &host(),
        &debian_java(&["-Xmx256m", "-jar", &jar, "--server.port=8080"]),
    );
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("3.5.13")));
    assert_eq!(f.runtime_kind.as_deref(), Some("Java"));
}

/// The Tomcat release a fat jar embeds, read independently of the code under test: Info-ZIP's `unzip`
/// extracts the nested `tomcat-embed-core` jar, then its `ServerInfo.properties` (`Apache Tomcat/<v>`).
fn embedded_tomcat_release(jar: &str) -> String {
    let dir = TempDir::new("tomcat-embed");
    let unzip = |args: &[&str]| run("unzip", args);
    unzip(&[
        "-q",
        "-j",
        jar,
        "BOOT-INF/lib/tomcat-embed-core-*",
        "-d",
        &dir.0.to_string_lossy(),
    ]);
    let inner = std::fs::read_dir(&dir.0)
        .expect("extracted")
        .filter_map(|e| e.ok())
        .map(|e| e.path().to_string_lossy().into_owned())
        .find(|p| p.ends_with(".jar"))
        .expect("the fat jar holds a tomcat-embed-core jar");
    let props = unzip(&[
        "-p",
        &inner,
        "org/apache/catalina/util/ServerInfo.properties",
    ]);
    props
        .lines()
        .find_map(|l| l.strip_prefix("server.info="))
        .and_then(|v| v.rsplit('/').next())
        .expect("server.info=Apache Tomcat/<version>")
        .trim()
        .to_owned()
}

#[test]
fn spring_boot_web_fat_jar_reports_the_embedded_tomcat_second() {
    require!(machine_file(DEBIAN_JDK));
    let jar = require!(artifact("spring-boot-web-app-3.5.13.jar"));
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
        &debian_java(&["-jar", &require!(artifact("spring-boot-app-3.5.13.jar"))]),
    );
    assert_eq!(plain.runtimes.len(), 1);
}

#[test]
fn spring_boot_2_fat_jar_old_launcher_and_relative_jar_path() {
    require!(machine_file(DEBIAN_JDK));
    let jar = require!(artifact("spring-boot-app-2.7.18.jar"));
    let mut p = debian_java(&["-jar", "spring-boot-app-2.7.18.jar"]);
    p.cwd = Some(crate::read::paths::parent(&jar).to_owned());
    let f = fingerprint(&host(), &p);
    assert_eq!(framework(&f), (Some("Spring Boot"), Some("2.7.18")));
}

#[test]
fn spring_boot_exploded_by_buildpacks_launcher_in_the_working_directory() {
    require!(machine_file(DEBIAN_JDK));
    let app = require!(artifact("spring-boot-app-3.5.13-exploded"));
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
    dir.copy_debian_jdk("opt/java");
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
    require!(machine_file(DEBIAN_JDK));
    // Jib's layout: `java -cp /app/resources:/app/classes:/app/libs/* <the app's main class>`.
    let dir = require!(TempDir::with_artifacts(
        "jib",
        &[("spring-boot-3.5.13.jar", "app/libs/spring-boot-3.5.13.jar"),]
    ));
    dir.copy_debian_jdk("opt/java");
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
    require!(machine_file(DEBIAN_JDK));
    let runner = require!(artifact("quarkus-app-3.33.2/quarkus-run.jar"));
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
    require!(machine_file(DEBIAN_JDK));
    // Only quarkus-run.jar and lib/boot (its Class-Path): the bootstrap runner jar gives the version.
    let app = crate::read::paths::parent(&require!(artifact("quarkus-app-3.33.2/quarkus-run.jar")))
        .to_owned();
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
    dir.copy_debian_jdk("opt/java");
    let p = process(
        "/opt/java/bin/java",
        &["java", "-jar", "/deployments/quarkus-run.jar"],
    );
    let f = fingerprint(&HostRoot::new(&dir.0), &p);
    assert_eq!(framework(&f), (Some("Quarkus"), Some("3.33.2")));
}

#[test]
fn spring_boot_real_app_running() {
    require!(machine_file(DEBIAN_JDK));
    let jar = require!(artifact("spring-boot-app-3.5.13.jar"));
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
    require!(machine_file(DEBIAN_JDK));
    let home = require!(artifact("apache-tomcat-10.1.34"));
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
    require!(machine_file(DEBIAN_JDK));
    let home = require!(artifact("apache-tomcat-10.1.34"));
    let cp = format!("{home}/bin/bootstrap.jar");
    let f = fingerprint(
        &host(),
        &debian_java(&["-cp", &cp, "org.apache.catalina.startup.Bootstrap", "stop"]),
    );
    assert_eq!(framework(&f), (None, None));
}

#[test]
fn kafka_broker_from_wildcard_classpath() {
    require!(machine_file(DEBIAN_JDK));
    let dir = require!(TempDir::with_artifacts(
        "kafka",
        &[
            (
                "kafka_2.13-3.7.2.jar",
                "opt/kafka/libs/kafka_2.13-3.7.2.jar"
            ),
            (
                "kafka-clients-3.7.2.jar",
                "opt/kafka/libs/kafka-clients-3.7.2.jar"
            ),
        ]
    ));
    dir.copy_debian_jdk("usr/lib/jvm/jdk");
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
    require!(machine_file(DEBIAN_JDK));
    let home = require!(artifact("wildfly-39.0.1.Final"));
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
    require!(machine_file(DEBIAN_JDK));
    let dir = TempDir::new("wildfly");
    let home = "opt/jboss/wildfly";
    dir.copy(
        &require!(artifact("jboss-modules-2.1.6.Final.jar")),
        &format!("{home}/jboss-modules.jar"),
    );
    dir.copy(
        &require!(artifact("wildfly-product/META-INF/MANIFEST.MF")),
        &format!("{home}/modules/system/layers/base/org/jboss/as/product/wildfly/dir/META-INF/MANIFEST.MF"),
    );
    dir.write(&format!("{home}/bin/product.conf"), b"slot=wildfly\n");
    dir.copy_debian_jdk("usr/lib/jvm/jdk");
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
