//! Reads the version sources of the JVM rules ([`crate::kinds::jvm_rules`]) from a JVM's command line
//! and the files it names, and picks the rule by the documented precedence (see [`crate::kinds`]).

use crate::kinds::java::JvmCommand;
use crate::kinds::jvm_rules::{Place, Read, Source, Trigger, EMBEDDED_RULES, JVM_RULES};
use crate::kinds::Detected;
use crate::read::bounded::read_prefix;
use crate::read::byte_search::leading_version;
use crate::read::jar::{self, Manifest};
use crate::read::paths::{file_name, normalize, parent};
use crate::read::zip::Archive;
use crate::root::Root;
use crate::values;

const MAX_VERSION_TXT: usize = 4096;
const MAX_DIR_JARS: usize = 4096;

/// Whether a jar file name is `<prefix><version>.jar` with the version starting with a digit.
fn jar_matches(path: &str, prefix: &str) -> bool {
    let name = file_name(path);
    name.ends_with(".jar")
        && name
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

fn main_class_matches(main: Option<&str>, pattern: &str) -> bool {
    main.is_some_and(|m| {
        if pattern.ends_with('.') {
            m.starts_with(pattern)
        } else {
            m == pattern
        }
    })
}

/// The JVM framework or server of a Java process, by the documented precedence (see [`crate::kinds`]),
/// followed by the servers it embeds: the container's ordered runtimes.
pub fn detect_jvm_all(root: &dyn Root, cmd: &JvmCommand) -> Vec<Detected> {
    let Some(first) = detect_jvm(root, cmd) else {
        return Vec::new();
    };
    let mut ctx = JvmContext {
        root,
        cmd,
        launcher: None,
        launcher_opened: false,
    };
    let framework = first.name.clone();
    let embedded: Vec<Detected> = EMBEDDED_RULES
        .iter()
        .filter(|r| r.within.contains(&framework.as_str()) && r.name != framework)
        .filter_map(|rule| {
            let version = rule
                .sources
                .iter()
                .find_map(|s| ctx.read(s).map(|(_, v)| v))?;
            Some(Detected {
                name: rule.name.to_owned(),
                version: Some(version),
            })
        })
        .collect();
    let mut all = vec![first];
    all.extend(embedded);
    all
}

/// The JVM framework or server of a Java process, by the documented precedence (see [`crate::kinds`]).
pub fn detect_jvm(root: &dyn Root, cmd: &JvmCommand) -> Option<Detected> {
    let main = cmd.main_class.as_deref();
    let entry_point = |t: &Trigger| match *t {
        Trigger::MainClass(p) => main_class_matches(main, p),
        Trigger::MainClassWithHome(p, home) => {
            main_class_matches(main, p) && cmd.property(home).is_some()
        }
        Trigger::MainClassWithProperty {
            main: m,
            key,
            value,
        } => main_class_matches(main, m) && cmd.property(key) == Some(value),
        Trigger::ClasspathJar(_) | Trigger::LauncherEntry(_) => false,
    };
    let mut ctx = JvmContext {
        root,
        cmd,
        launcher: None,
        launcher_opened: false,
    };
    let rule = match JVM_RULES
        .iter()
        .find(|r| r.triggers.iter().any(entry_point))
    {
        Some(rule) => rule,
        None => {
            // The launcher's entry names, read once for every `LauncherEntry` trigger.
            let needs_entries = JVM_RULES
                .iter()
                .flat_map(|r| r.triggers)
                .any(|t| matches!(t, Trigger::LauncherEntry(_)));
            let entries: Vec<String> = if needs_entries {
                ctx.launcher()
                    .and_then(Archive::open)
                    .map(|a| a.entries.into_iter().map(|e| e.name).collect())
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let on_classpath = |t: &Trigger| match *t {
                Trigger::ClasspathJar(prefix) => {
                    cmd.classpath.iter().any(|j| jar_matches(j, prefix))
                }
                Trigger::LauncherEntry(name) => entries.iter().any(|e| e == name),
                _ => false,
            };
            JVM_RULES
                .iter()
                .find(|r| r.triggers.iter().any(on_classpath))?
        }
    };
    for source in rule.sources {
        if let Some((name, version)) = ctx.read(source) {
            return Some(Detected {
                name: name.unwrap_or_else(|| rule.name.to_owned()),
                version: Some(version),
            });
        }
    }
    Some(Detected {
        name: rule.name.to_owned(),
        version: None,
    })
}

struct JvmContext<'a> {
    root: &'a dyn Root,
    cmd: &'a JvmCommand,
    launcher: Option<std::fs::File>,
    launcher_opened: bool,
}

impl JvmContext<'_> {
    fn launcher(&mut self) -> Option<&std::fs::File> {
        if !self.launcher_opened {
            self.launcher_opened = true;
            // The `-jar` archive, else the first jar of the classpath (`java -cp app.jar <Launcher>`).
            let jar = self.cmd.jar.as_deref().or_else(|| {
                self.cmd
                    .classpath
                    .iter()
                    .find(|j| j.ends_with(".jar"))
                    .map(String::as_str)
            });
            self.launcher = jar.and_then(|j| self.root.open(j).ok());
        }
        self.launcher.as_ref()
    }

    /// Classpath entries that are not jars (directories), a few at most.
    fn classpath_dirs(&self) -> impl Iterator<Item = &str> {
        self.cmd
            .classpath
            .iter()
            .filter(|e| !e.ends_with(".jar") && !e.ends_with(".JAR"))
            .take(8)
            .map(String::as_str)
    }

    fn classpath_jar(&self, prefix: &str) -> Option<&str> {
        self.cmd
            .classpath
            .iter()
            .take(4096)
            .find(|j| jar_matches(j, prefix))
            .map(String::as_str)
    }

    /// Reads one version source; `Some((product name override, version))`.
    fn read(&mut self, source: &Source) -> Option<(Option<String>, String)> {
        match (source.at, source.read) {
            (Place::Home(home), Read::JbossProduct) => {
                return jboss_home(self.root, self.home(home)?);
            }
            (Place::Home(home), Read::JbossModule(slot)) => {
                let (_, version) = product_module(self.root, self.home(home)?, slot)?;
                return Some((None, version));
            }
            _ => {}
        }
        let what = source.read;
        let version = match source.at {
            Place::Launcher => read_archive(&Archive::open(self.launcher()?)?, what),
            Place::LauncherDirJar { dir, prefix } => {
                let lib = normalize(parent(self.cmd.jar.as_deref()?), dir);
                let jar = self.dir_jar(&lib, prefix)?;
                self.read_jar_file(&jar, prefix, what)
            }
            Place::NestedJar { dir, prefix } => {
                let outer = Archive::open(self.launcher()?)?;
                if let Read::FileName = what {
                    // Any of the nested jars whose name gives a version.
                    outer.entries.iter().find_map(|e| {
                        version_in_name(nested_jar_name(&e.name, dir, prefix)?, prefix)
                    })
                } else {
                    let entry = outer
                        .entries
                        .iter()
                        .find(|e| nested_jar_name(&e.name, dir, prefix).is_some())?;
                    read_archive(&outer.open_nested(entry)?, what)
                }
            }
            Place::ClasspathDir => {
                let Read::Manifest(key) = what else {
                    return None;
                };
                self.classpath_dirs().find_map(|dir| {
                    let data = read_prefix(
                        self.root,
                        &normalize(dir, "META-INF/MANIFEST.MF"),
                        jar::MAX_MANIFEST,
                    )
                    .ok()?;
                    Manifest::parse(&data).get(key).and_then(values::version)
                })
            }
            Place::ClasspathDirJar { dir, prefix } => self.classpath_dirs().find_map(|cp_dir| {
                let jar = self.dir_jar(&normalize(cp_dir, dir), prefix)?;
                self.read_jar_file(&jar, prefix, what)
            }),
            Place::ClasspathJar(prefix) => {
                self.read_jar_file(self.classpath_jar(prefix)?, prefix, what)
            }
            Place::HomeJar { home, jar } => {
                self.read_jar_file(&normalize(self.home(home)?, jar), "", what)
            }
            Place::HomeDirJar { home, dir, prefix } => {
                let jar = self.dir_jar(&normalize(self.home(home)?, dir), prefix)?;
                self.read_jar_file(&jar, prefix, what)
            }
            Place::Home(_) => None,
        }?;
        Some((None, version))
    }

    /// The first jar named `<prefix><digit>...jar` in `dir`, in byte order.
    fn dir_jar(&self, dir: &str, prefix: &str) -> Option<String> {
        let names = self.root.read_dir(dir, MAX_DIR_JARS).ok()?;
        let name = names.iter().filter(|n| jar_matches(n, prefix)).min()?;
        Some(format!("{dir}/{name}"))
    }

    /// Reads a jar file of the container named `<prefix>...`: its name, or what is inside.
    fn read_jar_file(&self, path: &str, prefix: &str, what: Read) -> Option<String> {
        if let Read::FileName = what {
            return version_in_name(file_name(path), prefix);
        }
        let file = self.root.open(path).ok()?;
        read_archive(&Archive::open(&file)?, what)
    }

    fn home(&self, property: &str) -> Option<&str> {
        self.cmd.property(property).filter(|h| h.starts_with('/'))
    }
}

/// Reads a version from inside an archive (a jar).
fn read_archive(archive: &Archive<'_>, what: Read) -> Option<String> {
    match what {
        Read::Manifest(key) => jar::manifest(archive)?.get(key).and_then(values::version),
        Read::Property { entry, key } => {
            jar::entry_property(archive, entry, key).and_then(|v| values::version(&v))
        }
        Read::PropertyAfterSlash { entry, key } => {
            let value = jar::entry_property(archive, entry, key)?;
            values::version(value.rsplit('/').next().unwrap_or(&value))
        }
        Read::PomVersion(entry) => {
            jar::entry_pom_version(archive, entry).and_then(|v| values::version(&v))
        }
        Read::FileName | Read::JbossProduct | Read::JbossModule(_) => None,
    }
}

/// The name of a jar nested in an archive directly under `dir`, when it is named `<prefix>`.
fn nested_jar_name<'n>(entry: &'n str, dir: &str, prefix: &str) -> Option<&'n str> {
    entry
        .strip_prefix(dir)
        .filter(|rest| !rest.contains('/') && jar_matches(rest, prefix))
}

/// The version part of a jar's file name `<prefix><version>.jar`.
fn version_in_name(name: &str, prefix: &str) -> Option<String> {
    values::version(name.strip_prefix(prefix)?.strip_suffix(".jar")?)
}

/// WildFly / JBoss EAP and the products built on them (Keycloak's WildFly-based distribution, up to 19,
/// and RH-SSO 7, on a `keycloak` layer): `<home>/version.txt` ("WildFly Full 30.0.0.Final (WildFly Core
/// 22.0.1.Final)", "Red Hat JBoss Enterprise Application Platform - Version 7.4.0.GA", "Keycloak - Version
/// 18.0.2"), else the product module named by `bin/product.conf` (`slot=`, see [`product_module`]).
fn jboss_home(root: &dyn Root, home: &str) -> Option<(Option<String>, String)> {
    if let Ok(data) = read_prefix(root, &normalize(home, "version.txt"), MAX_VERSION_TXT) {
        if let Some(found) = parse_version_txt(&String::from_utf8_lossy(&data)) {
            return Some(found);
        }
    }
    let slot = read_prefix(root, &normalize(home, "bin/product.conf"), MAX_VERSION_TXT)
        .ok()
        .and_then(|d| jar::property(&d, "slot"))
        .filter(|s| is_module_name(s))
        .unwrap_or_else(|| "main".to_owned());
    product_module(root, home, &slot)
}

fn is_module_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('.')
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The product module `org/jboss/as/product/<slot>` of a JBoss home: its `dir/META-INF/MANIFEST.MF` (EAP 7,
/// older WildFly, Keycloak's legacy distribution) or the manifest of the jar in it (WildFly ≥ 26:
/// `wildfly-feature-pack-product-conf-*.jar`), searched in the layers `modules/layers.conf` names
/// (`layers=keycloak`), then `base`; active patch overlays of each layer first. The manifest's
/// `JBoss-Product-Release-Name`/`-Version` give product and version.
fn product_module(root: &dyn Root, home: &str, slot: &str) -> Option<(Option<String>, String)> {
    let layers_conf = read_prefix(
        root,
        &normalize(home, "modules/layers.conf"),
        MAX_VERSION_TXT,
    )
    .unwrap_or_default();
    let mut layers: Vec<String> = jar::property(&layers_conf, "layers")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|l| is_module_name(l) && *l != "base")
        .take(8)
        .map(str::to_owned)
        .collect();
    layers.push("base".to_owned());
    for layer in layers {
        let base = normalize(home, &format!("modules/system/layers/{layer}"));
        // Patched installations: `.overlays/.overlays` lists the active overlays, newest first.
        let overlays = read_prefix(
            root,
            &format!("{base}/.overlays/.overlays"),
            MAX_VERSION_TXT,
        )
        .unwrap_or_default();
        let mut roots: Vec<String> = String::from_utf8_lossy(&overlays)
            .split_whitespace()
            .filter(|id| is_module_name(id))
            .take(16)
            .map(|id| format!("{base}/.overlays/{id}"))
            .collect();
        roots.push(base);
        for module_root in roots {
            let module = format!("{module_root}/org/jboss/as/product/{slot}");
            let manifest = read_prefix(
                root,
                &format!("{module}/dir/META-INF/MANIFEST.MF"),
                jar::MAX_MANIFEST,
            )
            .ok()
            .map(|b| Manifest::parse(&b))
            .or_else(|| {
                let mut jars: Vec<String> = root
                    .read_dir(&module, 64)
                    .ok()?
                    .into_iter()
                    .filter(|n| n.ends_with(".jar"))
                    .collect();
                jars.sort();
                jars.iter().find_map(|j| {
                    let file = root.open(&format!("{module}/{j}")).ok()?;
                    jar::manifest(&Archive::open(&file)?)
                        .filter(|m| m.get("JBoss-Product-Release-Version").is_some())
                })
            });
            if let Some(manifest) = manifest {
                let Some(version) = manifest
                    .get("JBoss-Product-Release-Version")
                    .and_then(values::product_version)
                else {
                    continue;
                };
                let name = manifest.get("JBoss-Product-Release-Name").map(product_name);
                return Some((name, version));
            }
        }
    }
    None
}

/// Normalizes JBoss product names to the ones the contract knows.
fn product_name(raw: &str) -> String {
    if raw.contains("Single Sign-On") || raw == "RH-SSO" {
        // Red Hat Single Sign-On 7 (Keycloak on JBoss EAP 7): "Red Hat Single Sign-On - Version 7.4.10.GA".
        "RH-SSO".to_owned()
    } else if raw.starts_with("Keycloak") {
        "Keycloak".to_owned()
    } else if raw.contains("EAP") || raw.contains("Enterprise Application Platform") {
        "JBoss EAP".to_owned()
    } else if raw.starts_with("WildFly") {
        "WildFly".to_owned()
    } else {
        values::name(raw).unwrap_or_else(|| "WildFly".to_owned())
    }
}

pub fn parse_version_txt(text: &str) -> Option<(Option<String>, String)> {
    let line = text.lines().next()?.trim();
    if let Some((product, version)) = line.split_once(" - Version ") {
        let version = values::product_version(version)
            .or_else(|| values::version(version.split_whitespace().next()?))?;
        return Some((Some(product_name(product)), version));
    }
    if line.starts_with("WildFly") {
        let version = line
            .split_whitespace()
            .find_map(|w| leading_version(w).map(|_| w))
            .and_then(values::version)?;
        return Some((Some("WildFly".to_owned()), version));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_support::require;

    #[test]
    fn nested_spring_boot_jar_of_a_real_fat_jar() {
        // The fat jar's own manifest is skipped here, so the nested BOOT-INF/lib jar must answer.
        let jar = require!(crate::testing::artifact("spring-boot-app-3.5.13.jar"));
        let root = crate::testing::HostRoot::new("/");
        let cmd = JvmCommand {
            jar: Some(jar.clone()),
            classpath: vec![jar],
            ..JvmCommand::default()
        };
        let mut ctx = JvmContext {
            root: &root,
            cmd: &cmd,
            launcher: None,
            launcher_opened: false,
        };
        let source = Source {
            at: Place::NestedJar {
                dir: "BOOT-INF/lib/",
                prefix: "spring-boot-",
            },
            read: Read::Manifest("Implementation-Version"),
        };
        assert_eq!(ctx.read(&source), Some((None, "3.5.13".to_owned())));
        let missing = Source {
            at: Place::NestedJar {
                dir: "WEB-INF/lib/",
                prefix: "spring-boot-",
            },
            read: Read::Manifest("Implementation-Version"),
        };
        assert_eq!(ctx.read(&missing), None);
    }

    #[test]
    fn version_txt_forms() {
        assert_eq!(
            parse_version_txt("WildFly Full 30.0.0.Final (WildFly Core 22.0.1.Final)\n"),
            Some((Some("WildFly".into()), "30.0.0.Final".into()))
        );
        assert_eq!(
            parse_version_txt("Red Hat JBoss Enterprise Application Platform - Version 7.4.0.GA\n"),
            Some((Some("JBoss EAP".into()), "7.4.0.GA".into()))
        );
        // EAP 8 states its update in words; the number alone would claim the unpatched 8.0.
        assert_eq!(
            parse_version_txt(
                "Red Hat JBoss Enterprise Application Platform - Version 8.0 Update 6.1\n"
            ),
            Some((Some("JBoss EAP".into()), "8.0 Update 6.1".into()))
        );
        assert_eq!(parse_version_txt("garbage"), None);
    }

    #[test]
    fn jar_name_matching() {
        assert!(jar_matches(
            "/app/lib/spring-boot-3.5.13.jar",
            "spring-boot-"
        ));
        assert!(!jar_matches(
            "/app/lib/spring-boot-autoconfigure-3.5.13.jar",
            "spring-boot-"
        ));
        assert!(jar_matches(
            "/opt/kafka/libs/kafka_2.13-3.7.2.jar",
            "kafka_2."
        ));
        assert!(!jar_matches("/x/spring-boot-3.5.13.war", "spring-boot-"));
    }
}
