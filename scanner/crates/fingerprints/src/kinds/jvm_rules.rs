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

/// Where a JVM rule reads its version (tried in order): where to look x what to read there.
#[derive(Debug, Clone, Copy)]
pub struct Source {
    pub at: Place,
    pub read: Read,
}

/// Where to look. A jar "named `<prefix>`" is `<prefix><digit>...jar`; in a directory, the first such
/// name in byte order.
#[derive(Debug, Clone, Copy)]
pub enum Place {
    /// The `-jar` archive, else the first jar of the classpath (`java -cp app.jar <Launcher>`).
    Launcher,
    /// A jar named `prefix` in `dir` beside the `-jar` archive.
    LauncherDirJar {
        dir: &'static str,
        prefix: &'static str,
    },
    /// A jar named `prefix` nested in the launcher archive under `dir`.
    NestedJar {
        dir: &'static str,
        prefix: &'static str,
    },
    /// A classpath directory (an exploded jar, as buildpacks run Spring Boot:
    /// `java org.springframework.boot.loader.launch.JarLauncher` in it); only its manifest is read.
    ClasspathDir,
    /// A jar named `prefix` under `dir` of a classpath directory.
    ClasspathDirJar {
        dir: &'static str,
        prefix: &'static str,
    },
    /// The classpath jar named `prefix`.
    ClasspathJar(&'static str),
    /// The jar `<home>/<jar>`, where `<home>` is the `-D` property `home`.
    HomeJar {
        home: &'static str,
        jar: &'static str,
    },
    /// The server home, the `-D` property `home` (for [`Read::JbossProduct`]).
    Home(&'static str),
}

/// What to read there.
#[derive(Debug, Clone, Copy)]
pub enum Read {
    /// A header of the manifest (`META-INF/MANIFEST.MF`).
    Manifest(&'static str),
    /// A property of a `.properties` entry of the jar.
    Property {
        entry: &'static str,
        key: &'static str,
    },
    /// As `Property`, the value cut after its last `/` (`Apache Tomcat/10.1.34` -> `10.1.34`).
    PropertyAfterSlash {
        entry: &'static str,
        key: &'static str,
    },
    /// The version part of the jar's file name, `<prefix><version>.jar` (nested and classpath jars).
    FileName,
    /// JBoss/WildFly home: `version.txt`, else the product module's manifest. Also names the product
    /// (`WildFly` or `JBoss EAP`).
    JbossProduct,
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
            Source {
                at: Place::LauncherDirJar {
                    dir: "lib/main/",
                    prefix: "io.quarkus.quarkus-core-",
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathJar("io.quarkus.quarkus-core-"),
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathJar("quarkus-core-"),
                read: Read::Manifest("Implementation-Version"),
            },
            // Released together with quarkus-core, and on the runner's Class-Path (lib/boot).
            Source {
                at: Place::ClasspathJar("io.quarkus.quarkus-bootstrap-runner-"),
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::Launcher,
                read: Read::Property {
                    entry: "META-INF/maven/io.quarkus/quarkus-core/pom.properties",
                    key: "version",
                },
            },
            Source {
                at: Place::ClasspathJar("io.quarkus.quarkus-core-"),
                read: Read::FileName,
            },
            Source {
                at: Place::ClasspathJar("io.quarkus.quarkus-bootstrap-runner-"),
                read: Read::FileName,
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
            Source {
                at: Place::Launcher,
                read: Read::Manifest("Spring-Boot-Version"),
            },
            Source {
                at: Place::NestedJar {
                    dir: "BOOT-INF/lib/",
                    prefix: "spring-boot-",
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::NestedJar {
                    dir: "WEB-INF/lib/",
                    prefix: "spring-boot-",
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathDir,
                read: Read::Manifest("Spring-Boot-Version"),
            },
            Source {
                at: Place::ClasspathDirJar {
                    dir: "BOOT-INF/lib/",
                    prefix: "spring-boot-",
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathJar("spring-boot-"),
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathJar("spring-boot-"),
                read: Read::FileName,
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
            Source {
                at: Place::HomeJar {
                    home: "catalina.home",
                    jar: "lib/catalina.jar",
                },
                read: Read::PropertyAfterSlash {
                    entry: "org/apache/catalina/util/ServerInfo.properties",
                    key: "server.info",
                },
            },
            Source {
                at: Place::HomeJar {
                    home: "catalina.home",
                    jar: "bin/bootstrap.jar",
                },
                read: Read::Manifest("Implementation-Version"),
            },
        ],
    },
    JvmRule {
        name: "WildFly",
        triggers: &[Trigger::MainClassWithHome(
            "org.jboss.modules.Main",
            "jboss.home.dir",
        )],
        sources: &[Source {
            at: Place::Home("jboss.home.dir"),
            read: Read::JbossProduct,
        }],
    },
    JvmRule {
        name: "Kafka",
        triggers: &[Trigger::MainClass("kafka.Kafka")],
        sources: &[
            Source {
                at: Place::ClasspathJar("kafka-clients-"),
                read: Read::Property {
                    entry: "kafka/kafka-version.properties",
                    key: "version",
                },
            },
            Source {
                at: Place::ClasspathJar("kafka_2."),
                read: Read::Manifest("Version"),
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
        Source {
            at: Place::NestedJar {
                dir: "BOOT-INF/lib/",
                prefix: "tomcat-embed-core-",
            },
            read: Read::Manifest("Implementation-Version"),
        },
        Source {
            at: Place::ClasspathDirJar {
                dir: "BOOT-INF/lib/",
                prefix: "tomcat-embed-core-",
            },
            read: Read::Manifest("Implementation-Version"),
        },
        Source {
            at: Place::ClasspathJar("tomcat-embed-core-"),
            read: Read::Manifest("Implementation-Version"),
        },
        Source {
            at: Place::NestedJar {
                dir: "BOOT-INF/lib/",
                prefix: "tomcat-embed-core-",
            },
            read: Read::FileName,
        },
        Source {
            at: Place::ClasspathJar("tomcat-embed-core-"),
            read: Read::FileName,
        },
    ],
}];
