//! JVM frameworks and servers as data: a new one is a new entry here. Each rule says what makes it
//! apply ([`Trigger`]) and where its version is, tried in order ([`Source`]: where to look x what to
//! read there). [`crate::kinds::jvm_sources`] evaluates them; the precedence is documented in
//! [`crate::kinds`].

/// What makes a JVM rule apply.
#[derive(Debug, Clone, Copy)]
pub enum Trigger {
    /// The main class equals this, or starts with it when it ends in `.` (a package family, so
    /// launcher renames such as Spring Boot 3.2's `loader.launch.*` keep matching).
    MainClass(&'static str),
    /// As `MainClass`, and the `-D` system property naming the server home is set (a server's admin
    /// tools share its main jar but not its home property).
    MainClassWithHome(&'static str, &'static str),
    /// A jar named `<prefix><digit>...jar` on the effective classpath (exploded layouts such as Jib's).
    ClasspathJar(&'static str),
}

/// Where a JVM rule reads its version, tried in order.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A header of the `-jar` archive's manifest.
    LauncherManifest(&'static str),
    /// A property of a `.properties` entry of the `-jar` archive.
    LauncherEntry {
        entry: &'static str,
        key: &'static str,
    },
    /// A manifest header of a jar `<prefix><digit>...jar` in `dir` beside the `-jar` archive.
    LauncherDirJarManifest {
        dir: &'static str,
        prefix: &'static str,
        key: &'static str,
    },
    /// A manifest header of a jar nested in the `-jar` archive under `dir`, named `<prefix><digit>...`.
    NestedJarManifest {
        dir: &'static str,
        prefix: &'static str,
        key: &'static str,
    },
    /// The version part of the name of a jar nested in the `-jar` archive under `dir`,
    /// `<prefix><version>.jar`.
    NestedJarFileName {
        dir: &'static str,
        prefix: &'static str,
    },
    /// A manifest header of `META-INF/MANIFEST.MF` in a classpath directory (an exploded jar, as
    /// buildpacks run Spring Boot: `java org.springframework.boot.loader.launch.JarLauncher` in it).
    ClasspathDirManifest(&'static str),
    /// A manifest header of a jar `<prefix><digit>...jar` under `dir` of a classpath directory.
    ClasspathDirJarManifest {
        dir: &'static str,
        prefix: &'static str,
        key: &'static str,
    },
    /// A manifest header of the classpath jar named `<prefix><digit>...jar`.
    ClasspathJarManifest {
        prefix: &'static str,
        key: &'static str,
    },
    /// A property of an entry of the classpath jar named `<prefix><digit>...jar`.
    ClasspathJarEntry {
        prefix: &'static str,
        entry: &'static str,
        key: &'static str,
    },
    /// The version part of the classpath jar's file name `<prefix><version>.jar`.
    ClasspathJarFileName { prefix: &'static str },
    /// A property of an entry of `<home>/<jar>`, where `<home>` is the `-D` property `home`; the value
    /// is cut after the last `/` when `after_slash` (`Apache Tomcat/10.1.34` -> `10.1.34`).
    HomeJarEntry {
        home: &'static str,
        jar: &'static str,
        entry: &'static str,
        key: &'static str,
        after_slash: bool,
    },
    /// A manifest header of `<home>/<jar>`.
    HomeJarManifest {
        home: &'static str,
        jar: &'static str,
        key: &'static str,
    },
    /// JBoss/WildFly home: `version.txt`, else the product module's manifest. Also names the product
    /// (`WildFly` or `JBoss EAP`).
    JbossHome { home: &'static str },
}

#[derive(Debug, Clone, Copy)]
pub struct JvmRule {
    pub name: &'static str,
    pub triggers: &'static [Trigger],
    pub sources: &'static [Source],
}

pub const JVM_RULES: &[JvmRule] = &[
    JvmRule {
        name: "Quarkus",
        triggers: &[
            Trigger::MainClass("io.quarkus.bootstrap.runner."),
            Trigger::MainClass("io.quarkus.runner.GeneratedMain"),
            Trigger::ClasspathJar("io.quarkus.quarkus-bootstrap-runner-"),
            Trigger::ClasspathJar("io.quarkus.quarkus-core-"),
            Trigger::ClasspathJar("quarkus-core-"),
        ],
        sources: &[
            // Fast-jar: `quarkus-run.jar` lists only lib/boot in its Class-Path; quarkus-core sits in
            // lib/main beside it, loaded by Quarkus's own class loader.
            Source::LauncherDirJarManifest {
                dir: "lib/main/",
                prefix: "io.quarkus.quarkus-core-",
                key: "Implementation-Version",
            },
            Source::ClasspathJarManifest {
                prefix: "io.quarkus.quarkus-core-",
                key: "Implementation-Version",
            },
            Source::ClasspathJarManifest {
                prefix: "quarkus-core-",
                key: "Implementation-Version",
            },
            // Released together with quarkus-core, and on the runner's Class-Path (lib/boot).
            Source::ClasspathJarManifest {
                prefix: "io.quarkus.quarkus-bootstrap-runner-",
                key: "Implementation-Version",
            },
            Source::LauncherEntry {
                entry: "META-INF/maven/io.quarkus/quarkus-core/pom.properties",
                key: "version",
            },
            Source::ClasspathJarFileName {
                prefix: "io.quarkus.quarkus-core-",
            },
            Source::ClasspathJarFileName {
                prefix: "io.quarkus.quarkus-bootstrap-runner-",
            },
        ],
    },
    JvmRule {
        name: "Spring Boot",
        triggers: &[
            Trigger::MainClass("org.springframework.boot.loader."),
            Trigger::ClasspathJar("spring-boot-"),
        ],
        sources: &[
            Source::LauncherManifest("Spring-Boot-Version"),
            Source::NestedJarManifest {
                dir: "BOOT-INF/lib/",
                prefix: "spring-boot-",
                key: "Implementation-Version",
            },
            Source::NestedJarManifest {
                dir: "WEB-INF/lib/",
                prefix: "spring-boot-",
                key: "Implementation-Version",
            },
            Source::ClasspathDirManifest("Spring-Boot-Version"),
            Source::ClasspathDirJarManifest {
                dir: "BOOT-INF/lib/",
                prefix: "spring-boot-",
                key: "Implementation-Version",
            },
            Source::ClasspathJarManifest {
                prefix: "spring-boot-",
                key: "Implementation-Version",
            },
            Source::ClasspathJarFileName {
                prefix: "spring-boot-",
            },
        ],
    },
    JvmRule {
        name: "Apache Tomcat",
        triggers: &[Trigger::MainClassWithHome(
            "org.apache.catalina.startup.Bootstrap",
            "catalina.home",
        )],
        sources: &[
            Source::HomeJarEntry {
                home: "catalina.home",
                jar: "lib/catalina.jar",
                entry: "org/apache/catalina/util/ServerInfo.properties",
                key: "server.info",
                after_slash: true,
            },
            Source::HomeJarManifest {
                home: "catalina.home",
                jar: "bin/bootstrap.jar",
                key: "Implementation-Version",
            },
        ],
    },
    JvmRule {
        name: "WildFly",
        triggers: &[Trigger::MainClassWithHome(
            "org.jboss.modules.Main",
            "jboss.home.dir",
        )],
        sources: &[Source::JbossHome {
            home: "jboss.home.dir",
        }],
    },
    JvmRule {
        name: "Kafka",
        triggers: &[Trigger::MainClass("kafka.Kafka")],
        sources: &[
            Source::ClasspathJarEntry {
                prefix: "kafka-clients-",
                entry: "kafka/kafka-version.properties",
                key: "version",
            },
            Source::ClasspathJarManifest {
                prefix: "kafka_2.",
                key: "Version",
            },
        ],
    },
];

/// A server that an application framework carries inside its own archive, reported after the framework
/// (see the module comment). It applies only when the framework chosen by [`JVM_RULES`] is one of
/// `within`, and is found when one of its sources gives a version (the last ones read the jar's name).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedRule {
    pub name: &'static str,
    pub within: &'static [&'static str],
    pub sources: &'static [Source],
}

pub const EMBEDDED_RULES: &[EmbeddedRule] = &[EmbeddedRule {
    // spring-boot-starter-web's servlet container: `tomcat-embed-core-<v>.jar`, whose manifest states
    // `Implementation-Version` (the Tomcat release).
    name: "Apache Tomcat",
    within: &["Spring Boot"],
    sources: &[
        Source::NestedJarManifest {
            dir: "BOOT-INF/lib/",
            prefix: "tomcat-embed-core-",
            key: "Implementation-Version",
        },
        Source::ClasspathDirJarManifest {
            dir: "BOOT-INF/lib/",
            prefix: "tomcat-embed-core-",
            key: "Implementation-Version",
        },
        Source::ClasspathJarManifest {
            prefix: "tomcat-embed-core-",
            key: "Implementation-Version",
        },
        Source::NestedJarFileName {
            dir: "BOOT-INF/lib/",
            prefix: "tomcat-embed-core-",
        },
        Source::ClasspathJarFileName {
            prefix: "tomcat-embed-core-",
        },
    ],
}];
