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
    /// As `MainClass`, and the `-D` system property `key` equals `value` (a launcher shared by a server
    /// and its tools, told apart by a property).
    MainClassWithProperty {
        main: &'static str,
        key: &'static str,
        value: &'static str,
    },
    /// A jar named `<prefix><digit>...jar` on the effective classpath (exploded layouts such as Jib's).
    ClasspathJar(&'static str),
    /// An entry of the launcher archive (the `-jar` archive, else the first classpath jar): a shaded fat
    /// jar merges its dependencies' classes and keeps their `META-INF/maven/<group>/<artifact>/pom.properties`.
    /// Same tier as `ClasspathJar` (a library present, not the entry point).
    LauncherEntry(&'static str),
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
    /// A jar named `prefix` in `<home>/<dir>`, where `<home>` is the `-D` property `home`.
    HomeDirJar {
        home: &'static str,
        dir: &'static str,
        prefix: &'static str,
    },
    /// The server home, the `-D` property `home` (for [`Read::JbossProduct`], [`Read::JbossModule`]).
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
    /// The project's own `<version>` of a Maven `pom.xml` entry (Gradle-built jars, such as Micronaut's,
    /// carry `META-INF/maven/<group>/<artifact>/pom.xml` but no `pom.properties`).
    PomVersion(&'static str),
    /// The version part of the jar's file name, `<prefix><version>.jar` (nested and classpath jars).
    FileName,
    /// JBoss/WildFly home: `version.txt`, else the product module's manifest. Also names the product
    /// (`WildFly` or `JBoss EAP`).
    JbossProduct,
    /// JBoss home: the version of the product module of this slot (`eap`: the JBoss EAP that RH-SSO
    /// runs on, `modules/system/layers/base/org/jboss/as/product/eap/dir/META-INF/MANIFEST.MF`).
    JbossModule(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct JvmRule {
    pub name: &'static str,
    pub triggers: &'static [Trigger],
    pub sources: &'static [Source],
}

pub const JVM_RULES: &[JvmRule] = &[
    // Keycloak (Quarkus distribution, and the Red Hat build of Keycloak: `26.4.10.redhat-00001`). Before
    // Quarkus: it runs Quarkus's own entry point, and only `kc.home.dir` (set by bin/kc.sh) tells it apart.
    // keycloak-quarkus-dist-26.7.3: `java ... -Dkc.home.dir=/opt/keycloak/bin/.. -cp
    // /opt/keycloak/bin/../lib/quarkus-run.jar io.quarkus.bootstrap.runner.QuarkusEntryPoint start-dev`.
    JvmRule {
        name: "Keycloak",
        triggers: &[Trigger::MainClassWithHome(
            "io.quarkus.bootstrap.runner.",
            "kc.home.dir",
        )],
        sources: &[
            // lib/quarkus-run.jar's manifest: `Implementation-Title: Keycloak`,
            // `Implementation-Version: 26.7.3`.
            Source {
                at: Place::HomeJar {
                    home: "kc.home.dir",
                    jar: "lib/quarkus-run.jar",
                },
                read: Read::Manifest("Implementation-Version"),
            },
            // lib/lib/main/org.keycloak.keycloak-common-26.7.3.jar!keycloak-version.properties:
            // `version=26.7.3`, `name=Keycloak`.
            Source {
                at: Place::HomeDirJar {
                    home: "kc.home.dir",
                    dir: "lib/lib/main",
                    prefix: "org.keycloak.keycloak-common-",
                },
                read: Read::Property {
                    entry: "keycloak-version.properties",
                    key: "version",
                },
            },
            Source {
                at: Place::HomeDirJar {
                    home: "kc.home.dir",
                    dir: "lib/lib/main",
                    prefix: "org.keycloak.keycloak-quarkus-server-",
                },
                read: Read::FileName,
            },
        ],
    },
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
    // Micronaut: micronaut-core's version (the framework's release; the platform BOM, e.g. 4.10.8, is a
    // separate number). micronaut-core-4.10.15.jar (Gradle-built): manifest `Implementation-Title:
    // Micronaut Core`, `Implementation-Version: 4.10.15`, and `META-INF/maven/io.micronaut/micronaut-core/pom.xml`
    // (`<version>4.10.15</version>`), which the fat jar micronaut-maven-plugin shades keeps.
    JvmRule {
        name: "Micronaut",
        triggers: &[
            Trigger::MainClass("io.micronaut.runtime.Micronaut"),
            Trigger::ClasspathJar("micronaut-core-"),
            Trigger::LauncherEntry("META-INF/maven/io.micronaut/micronaut-core/pom.xml"),
        ],
        sources: &[
            Source {
                at: Place::Launcher,
                read: Read::PomVersion("META-INF/maven/io.micronaut/micronaut-core/pom.xml"),
            },
            Source {
                at: Place::ClasspathJar("micronaut-core-"),
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathJar("micronaut-core-"),
                read: Read::FileName,
            },
        ],
    },
    // Helidon (SE 4): helidon-se's application parent builds `app.jar` with `libs/*.jar` on its
    // Class-Path; `libs/helidon-webserver-4.5.0.jar` states `Implementation-Version: 4.5.0`.
    JvmRule {
        name: "Helidon",
        triggers: &[
            Trigger::ClasspathJar("helidon-webserver-"),
            Trigger::ClasspathJar("helidon-common-"),
            Trigger::LauncherEntry(
                "META-INF/maven/io.helidon.webserver/helidon-webserver/pom.properties",
            ),
        ],
        sources: &[
            Source {
                at: Place::ClasspathJar("helidon-webserver-"),
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::Launcher,
                read: Read::Property {
                    entry: "META-INF/maven/io.helidon.webserver/helidon-webserver/pom.properties",
                    key: "version",
                },
            },
            Source {
                at: Place::ClasspathJar("helidon-webserver-"),
                read: Read::FileName,
            },
            Source {
                at: Place::ClasspathJar("helidon-common-"),
                read: Read::FileName,
            },
        ],
    },
    // Eclipse Jetty, the standalone server: jetty-home's `java -jar $JETTY_HOME/start.jar` (start.jar:
    // `Main-Class: org.eclipse.jetty.start.Main`, `Implementation-Version: 12.1.12`), or the JVM start.jar
    // forks when a module needs JVM options (`-cp ...lib/jetty-server-12.1.12.jar...
    // org.eclipse.jetty.xml.XmlConfiguration`).
    JvmRule {
        name: "Jetty",
        triggers: &[
            Trigger::MainClass("org.eclipse.jetty.start.Main"),
            Trigger::MainClass("org.eclipse.jetty.xml.XmlConfiguration"),
        ],
        sources: &[
            Source {
                at: Place::LauncherDirJar {
                    dir: "lib/",
                    prefix: "jetty-server-",
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathJar("jetty-server-"),
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::Launcher,
                read: Read::Manifest("Implementation-Version"),
            },
        ],
    },
    // ActiveMQ Artemis: an instance's bin/artemis (`artemis create`) execs `java ... -classpath
    // $ARTEMIS_HOME/lib/artemis-boot.jar -Dartemis.home=... -Dartemis.instance=...
    // org.apache.activemq.artemis.boot.Artemis run`; the home's CLI (`artemis create`) has no instance.
    // lib/artemis-boot.jar: `Implementation-Title: ActiveMQ Artemis Boot`, `Implementation-Version: 2.40.0`.
    JvmRule {
        name: "ActiveMQ Artemis",
        triggers: &[Trigger::MainClassWithHome(
            "org.apache.activemq.artemis.boot.Artemis",
            "artemis.instance",
        )],
        sources: &[
            Source {
                at: Place::HomeDirJar {
                    home: "artemis.home",
                    dir: "lib",
                    prefix: "artemis-server-",
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::HomeJar {
                    home: "artemis.home",
                    jar: "lib/artemis-boot.jar",
                },
                read: Read::Manifest("Implementation-Version"),
            },
        ],
    },
    // Elasticsearch: the server JVM (`-Des.path.home=/usr/share/elasticsearch --module-path
    // /usr/share/elasticsearch/lib -m org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch`;
    // 7.x: `-cp .../lib/*`), and, from 8 on, the launcher JVM that bin/elasticsearch execs and that starts the
    // server as its child, so it is the container's topmost process (bin/elasticsearch-cli: `-Dcli.name="$CLI_NAME"
    // ... -Des.path.home="$ES_HOME" ... org.elasticsearch.launcher.CliToolLauncher`, with `CLI_NAME=server` for the
    // server; the other tools have other names). lib/elasticsearch-9.5.3.jar: `X-Compile-Elasticsearch-Version: 9.5.3`.
    JvmRule {
        name: "Elasticsearch",
        triggers: &[
            Trigger::MainClassWithHome("org.elasticsearch.bootstrap.Elasticsearch", "es.path.home"),
            Trigger::MainClassWithProperty {
                main: "org.elasticsearch.launcher.CliToolLauncher",
                key: "cli.name",
                value: "server",
            },
        ],
        sources: &[
            Source {
                at: Place::HomeDirJar {
                    home: "es.path.home",
                    dir: "lib",
                    prefix: "elasticsearch-",
                },
                read: Read::Manifest("X-Compile-Elasticsearch-Version"),
            },
            Source {
                at: Place::HomeDirJar {
                    home: "es.path.home",
                    dir: "lib",
                    prefix: "elasticsearch-",
                },
                read: Read::FileName,
            },
        ],
    },
    // OpenSearch: `-Dopensearch.path.home=/usr/share/opensearch -cp /usr/share/opensearch/lib/*
    // org.opensearch.bootstrap.OpenSearch`. lib/opensearch-3.9.0.jar: `X-Compile-OpenSearch-Version: 3.9.0`.
    JvmRule {
        name: "OpenSearch",
        triggers: &[Trigger::MainClassWithHome(
            "org.opensearch.bootstrap.OpenSearch",
            "opensearch.path.home",
        )],
        sources: &[
            Source {
                at: Place::HomeDirJar {
                    home: "opensearch.path.home",
                    dir: "lib",
                    prefix: "opensearch-",
                },
                read: Read::Manifest("X-Compile-OpenSearch-Version"),
            },
            Source {
                at: Place::ClasspathJar("opensearch-"),
                read: Read::Manifest("X-Compile-OpenSearch-Version"),
            },
            Source {
                at: Place::HomeDirJar {
                    home: "opensearch.path.home",
                    dir: "lib",
                    prefix: "opensearch-",
                },
                read: Read::FileName,
            },
        ],
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
    // Eclipse Vert.x on its own (Quarkus, Keycloak and others carry vertx-core too: they are matched
    // first). A shaded fat jar keeps `META-INF/maven/io.vertx/vertx-core/pom.properties` (`version=5.0.7`);
    // a thin layout has `vertx-core-5.0.7.jar` on the classpath.
    JvmRule {
        name: "Vert.x",
        triggers: &[
            Trigger::MainClass("io.vertx.core.Launcher"),
            Trigger::MainClass("io.vertx.launcher.application.VertxApplication"),
            Trigger::ClasspathJar("vertx-core-"),
            Trigger::LauncherEntry("META-INF/maven/io.vertx/vertx-core/pom.properties"),
        ],
        sources: &[
            Source {
                at: Place::Launcher,
                read: Read::Property {
                    entry: "META-INF/maven/io.vertx/vertx-core/pom.properties",
                    key: "version",
                },
            },
            Source {
                at: Place::ClasspathJar("vertx-core-"),
                read: Read::Property {
                    entry: "META-INF/maven/io.vertx/vertx-core/pom.properties",
                    key: "version",
                },
            },
            Source {
                at: Place::ClasspathJar("vertx-core-"),
                read: Read::FileName,
            },
        ],
    },
];

/// A server (or the framework a product is built on) that the chosen rule carries inside its own files,
/// reported after it (see the module comment). It applies only when the framework chosen by [`JVM_RULES`] is one of
/// `within`, and is found when one of its sources gives a version (the last ones read the jar's name).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedRule {
    pub name: &'static str,
    pub within: &'static [&'static str],
    pub sources: &'static [Source],
}

/// The sources of an embedded server jar `prefix` in a Spring Boot application: nested in the fat jar,
/// in an exploded one, on a thin classpath; the jar's name last.
macro_rules! spring_boot_embedded {
    ($prefix:literal) => {
        &[
            Source {
                at: Place::NestedJar {
                    dir: "BOOT-INF/lib/",
                    prefix: $prefix,
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathDirJar {
                    dir: "BOOT-INF/lib/",
                    prefix: $prefix,
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::ClasspathJar($prefix),
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::NestedJar {
                    dir: "BOOT-INF/lib/",
                    prefix: $prefix,
                },
                read: Read::FileName,
            },
            Source {
                at: Place::ClasspathJar($prefix),
                read: Read::FileName,
            },
        ]
    };
}

pub const EMBEDDED_RULES: &[EmbeddedRule] = &[
    // Keycloak's Quarkus: lib/lib/main/io.quarkus.quarkus-core-3.33.3.1.jar, `Implementation-Version:
    // 3.33.3.1` (keycloak-quarkus-dist-26.7.3).
    EmbeddedRule {
        name: "Quarkus",
        within: &["Keycloak"],
        sources: &[
            Source {
                at: Place::HomeDirJar {
                    home: "kc.home.dir",
                    dir: "lib/lib/main",
                    prefix: "io.quarkus.quarkus-core-",
                },
                read: Read::Manifest("Implementation-Version"),
            },
            Source {
                at: Place::HomeDirJar {
                    home: "kc.home.dir",
                    dir: "lib/lib/main",
                    prefix: "io.quarkus.quarkus-core-",
                },
                read: Read::FileName,
            },
        ],
    },
    EmbeddedRule {
        // spring-boot-starter-web's servlet container: `tomcat-embed-core-<v>.jar`, whose manifest states
        // `Implementation-Version` (the Tomcat release).
        name: "Apache Tomcat",
        within: &["Spring Boot"],
        sources: spring_boot_embedded!("tomcat-embed-core-"),
    },
    // spring-boot-starter-jetty (Spring Boot 3.5.7): `BOOT-INF/lib/jetty-server-12.0.29.jar`, manifest
    // `Implementation-Version: 12.0.29`.
    EmbeddedRule {
        name: "Jetty",
        within: &["Spring Boot"],
        sources: spring_boot_embedded!("jetty-server-"),
    },
    // spring-boot-starter-undertow (Spring Boot 3.5.7): `BOOT-INF/lib/undertow-core-2.3.20.Final.jar`, manifest
    // `Implementation-Title: Undertow Core`, `Implementation-Version: 2.3.20.Final`.
    EmbeddedRule {
        name: "Undertow",
        within: &["Spring Boot"],
        sources: spring_boot_embedded!("undertow-core-"),
    },
    // RH-SSO 7 is Keycloak installed on a JBoss EAP 7: RH-SSO comes from version.txt (the WildFly rule
    // above), the EAP it runs on from EAP's own product module (slot `eap`).
    EmbeddedRule {
        name: "JBoss EAP",
        within: &["RH-SSO"],
        sources: &[Source {
            at: Place::Home("jboss.home.dir"),
            read: Read::JbossModule("eap"),
        }],
    },
];

#[cfg(test)]
mod tests;
