//! Reads the version sources of the JVM rules ([`crate::kinds::jvm_rules`]) from a JVM's command line
//! and the files it names, and picks the rule by the documented precedence (see [`crate::kinds`]).

use crate::kinds::java::JvmCommand;
use crate::kinds::jvm_rules::{Source, Trigger, EMBEDDED_RULES, JVM_RULES};
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
        Trigger::ClasspathJar(_) => false,
    };
    let on_classpath = |t: &Trigger| match *t {
        Trigger::ClasspathJar(prefix) => cmd.classpath.iter().any(|j| jar_matches(j, prefix)),
        _ => false,
    };
    let rule = JVM_RULES
        .iter()
        .find(|r| r.triggers.iter().any(entry_point))
        .or_else(|| {
            JVM_RULES
                .iter()
                .find(|r| r.triggers.iter().any(on_classpath))
        })?;
    let mut ctx = JvmContext {
        root,
        cmd,
        launcher: None,
        launcher_opened: false,
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

    fn open_jar_manifest(&self, path: &str) -> Option<Manifest> {
        let file = self.root.open(path).ok()?;
        jar::manifest(&Archive::open(&file)?)
    }

    /// Reads one version source; `Some((product name override, version))`.
    fn read(&mut self, source: &Source) -> Option<(Option<String>, String)> {
        let version = match *source {
            Source::LauncherManifest(key) => jar::manifest(&Archive::open(self.launcher()?)?)?
                .get(key)
                .and_then(values::version),
            Source::LauncherEntry { entry, key } => {
                jar::entry_property(&Archive::open(self.launcher()?)?, entry, key)
                    .and_then(|v| values::version(&v))
            }
            Source::NestedJarManifest { dir, prefix, key } => {
                let outer = Archive::open(self.launcher()?)?;
                let entry = outer.entries.iter().find(|e| {
                    e.name
                        .strip_prefix(dir)
                        .is_some_and(|rest| !rest.contains('/') && jar_matches(rest, prefix))
                })?;
                jar::manifest(&outer.open_nested(entry)?)?
                    .get(key)
                    .and_then(values::version)
            }
            Source::NestedJarFileName { dir, prefix } => {
                let outer = Archive::open(self.launcher()?)?;
                outer.entries.iter().find_map(|e| {
                    let rest = e.name.strip_prefix(dir)?;
                    if rest.contains('/') || !jar_matches(rest, prefix) {
                        return None;
                    }
                    values::version(rest.strip_prefix(prefix)?.strip_suffix(".jar")?)
                })
            }
            Source::LauncherDirJarManifest {
                dir: sub,
                prefix,
                key,
            } => {
                let lib = normalize(parent(self.cmd.jar.as_deref()?), sub);
                let names = self.root.read_dir(&lib, MAX_DIR_JARS).ok()?;
                let name = names.iter().filter(|n| jar_matches(n, prefix)).min()?;
                self.open_jar_manifest(&format!("{lib}/{name}"))?
                    .get(key)
                    .and_then(values::version)
            }
            Source::ClasspathDirManifest(key) => self.classpath_dirs().find_map(|dir| {
                let data = read_prefix(
                    self.root,
                    &normalize(dir, "META-INF/MANIFEST.MF"),
                    jar::MAX_MANIFEST,
                )
                .ok()?;
                Manifest::parse(&data).get(key).and_then(values::version)
            }),
            Source::ClasspathDirJarManifest {
                dir: sub,
                prefix,
                key,
            } => self.classpath_dirs().find_map(|dir| {
                let lib = normalize(dir, sub);
                let names = self.root.read_dir(&lib, MAX_DIR_JARS).ok()?;
                let name = names.iter().filter(|n| jar_matches(n, prefix)).min()?;
                self.open_jar_manifest(&format!("{lib}/{name}"))?
                    .get(key)
                    .and_then(values::version)
            }),
            Source::ClasspathJarManifest { prefix, key } => self
                .open_jar_manifest(self.classpath_jar(prefix)?)?
                .get(key)
                .and_then(values::version),
            Source::ClasspathJarEntry { prefix, entry, key } => {
                let file = self.root.open(self.classpath_jar(prefix)?).ok()?;
                jar::entry_property(&Archive::open(&file)?, entry, key)
                    .and_then(|v| values::version(&v))
            }
            Source::ClasspathJarFileName { prefix } => {
                let name = file_name(self.classpath_jar(prefix)?);
                values::version(name.strip_prefix(prefix)?.strip_suffix(".jar")?)
            }
            Source::HomeJarEntry {
                home,
                jar: path,
                entry,
                key,
                after_slash,
            } => {
                let file = self.root.open(&normalize(self.home(home)?, path)).ok()?;
                let value = jar::entry_property(&Archive::open(&file)?, entry, key)?;
                let value = if after_slash {
                    value.rsplit('/').next().unwrap_or(&value).to_owned()
                } else {
                    value
                };
                values::version(&value)
            }
            Source::HomeJarManifest {
                home,
                jar: path,
                key,
            } => self
                .open_jar_manifest(&normalize(self.home(home)?, path))?
                .get(key)
                .and_then(values::version),
            Source::JbossHome { home } => return jboss_home(self.root, self.home(home)?),
        }?;
        Some((None, version))
    }

    fn home(&self, property: &str) -> Option<&str> {
        self.cmd.property(property).filter(|h| h.starts_with('/'))
    }
}

/// WildFly / JBoss EAP: `<home>/version.txt` ("WildFly Full 30.0.0.Final (WildFly Core 22.0.1.Final)",
/// "Red Hat JBoss Enterprise Application Platform - Version 7.4.0.GA"), else the product module named by
/// `bin/product.conf` (`slot=`): its `dir/META-INF/MANIFEST.MF` (EAP 7, older WildFly) or the manifest of
/// the jar in it (WildFly ≥ 26: `wildfly-feature-pack-product-conf-*.jar`), active patch overlays
/// first. The manifest's `JBoss-Product-Release-Name`/`-Version` give product and version.
fn jboss_home(root: &dyn Root, home: &str) -> Option<(Option<String>, String)> {
    if let Ok(data) = read_prefix(root, &normalize(home, "version.txt"), MAX_VERSION_TXT) {
        if let Some(found) = parse_version_txt(&String::from_utf8_lossy(&data)) {
            return Some(found);
        }
    }
    let slot = read_prefix(root, &normalize(home, "bin/product.conf"), MAX_VERSION_TXT)
        .ok()
        .and_then(|d| jar::property(&d, "slot"))
        .filter(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or_else(|| "main".to_owned());
    let base = normalize(home, "modules/system/layers/base");
    // Patched installations: `.overlays/.overlays` lists the active overlays, newest first.
    let overlays = read_prefix(
        root,
        &format!("{base}/.overlays/.overlays"),
        MAX_VERSION_TXT,
    )
    .unwrap_or_default();
    let mut roots: Vec<String> = String::from_utf8_lossy(&overlays)
        .split_whitespace()
        .filter(|id| {
            id.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !id.starts_with('.')
        })
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
    None
}

/// Normalizes JBoss product names to the two the contract knows.
fn product_name(raw: &str) -> String {
    if raw.contains("EAP") || raw.contains("Enterprise Application Platform") {
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

    #[test]
    fn nested_spring_boot_jar_of_a_real_fat_jar() {
        // The fat jar's own manifest is skipped here, so the nested BOOT-INF/lib jar must answer.
        let jar = crate::testing::artifact("spring-boot-app-3.5.13.jar");
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
        let source = Source::NestedJarManifest {
            dir: "BOOT-INF/lib/",
            prefix: "spring-boot-",
            key: "Implementation-Version",
        };
        assert_eq!(ctx.read(&source), Some((None, "3.5.13".to_owned())));
        let missing = Source::NestedJarManifest {
            dir: "WEB-INF/lib/",
            prefix: "spring-boot-",
            key: "Implementation-Version",
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
