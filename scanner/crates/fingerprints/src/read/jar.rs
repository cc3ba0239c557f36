//! Jar metadata: the manifest's main section and `.properties` files, both bounded.

use crate::read::zip::Archive;

/// Real manifests are a few KiB (Quarkus runner jars with long Class-Paths reach ~100 KiB).
pub const MAX_MANIFEST: usize = 1 << 20;
pub const MAX_PROPERTIES: usize = 256 * 1024;

/// The main section of a `META-INF/MANIFEST.MF`: `Name: value` headers with 72-byte line wrapping
/// (continuation lines start with one space). Parsing stops at the first blank line (per-entry
/// sections follow it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub headers: Vec<(String, String)>,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Manifest {
        let text = String::from_utf8_lossy(bytes);
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.is_empty() {
                break;
            }
            if let Some(more) = line.strip_prefix(' ') {
                if let Some((_, value)) = headers.last_mut() {
                    value.push_str(more);
                }
                continue;
            }
            if let Some((key, value)) = line.split_once(':') {
                headers.push((
                    key.trim().to_owned(),
                    value.strip_prefix(' ').unwrap_or(value).to_owned(),
                ));
            }
        }
        Manifest { headers }
    }

    /// A header's value; header names are case-insensitive.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    }
}

/// Reads the manifest of an open archive.
pub fn manifest(archive: &Archive<'_>) -> Option<Manifest> {
    archive
        .read_named("META-INF/MANIFEST.MF", MAX_MANIFEST)
        .map(|b| Manifest::parse(&b))
}

/// The value of `key` in Java `.properties` text (`key=value`, `key: value` or `key value`; `#`/`!`
/// comments). Line continuations and unicode escapes are not needed for the keys we read.
pub fn property(bytes: &[u8], key: &str) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut found = None;
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let split = line.find(['=', ':', ' ', '\t']).unwrap_or(line.len());
        let (k, rest) = line.split_at(split);
        if k != key {
            continue;
        }
        let rest = rest.trim_start();
        let rest = rest.strip_prefix(['=', ':']).unwrap_or(rest);
        found = Some(rest.trim().to_owned());
    }
    found
}

/// The project's own `<version>` of Maven `pom.xml` text: the first one outside `<parent>`, before the
/// dependencies, plugins or properties (whose `<version>`s are other artifacts').
pub fn pom_version(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut head: &str = &text;
    for end in [
        "<dependencies>",
        "<dependencyManagement>",
        "<build>",
        "<properties>",
        "<profiles>",
    ] {
        if let Some(i) = head.find(end) {
            head = &head[..i];
        }
    }
    let own = match (head.find("<parent>"), head.find("</parent>")) {
        (Some(start), Some(end)) if start < end => format!("{}{}", &head[..start], &head[end..]),
        _ => head.to_owned(),
    };
    let start = own.find("<version>")? + "<version>".len();
    let len = own[start..].find("</version>")?;
    Some(own[start..start + len].trim().to_owned())
}

/// Reads the project version of a `pom.xml` entry of an archive.
pub fn entry_pom_version(archive: &Archive<'_>, entry: &str) -> Option<String> {
    pom_version(&archive.read_named(entry, MAX_PROPERTIES)?)
}

/// Reads a property from an entry of an archive.
pub fn entry_property(archive: &Archive<'_>, entry: &str, key: &str) -> Option<String> {
    property(&archive.read_named(entry, MAX_PROPERTIES)?, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_continuations_and_sections() {
        let m = Manifest::parse(
            b"Manifest-Version: 1.0\r\nClass-Path: lib/main/a.jar lib/ma\r\n in/b.jar\r\nMain-Class: x.Y\r\n\r\nName: foo\r\nMain-Class: other\r\n",
        );
        assert_eq!(m.get("class-path"), Some("lib/main/a.jar lib/main/b.jar"));
        assert_eq!(m.get("Main-Class"), Some("x.Y"));
    }

    #[test]
    fn pom_version_skips_parent_and_dependencies() {
        let pom = b"<project><parent><groupId>p</groupId><version>9.9</version></parent>\n<artifactId>a</artifactId><version>4.10.15</version><dependencies><dependency><version>2.0.17</version></dependency></dependencies></project>";
        assert_eq!(pom_version(pom).as_deref(), Some("4.10.15"));
        let inherited = b"<project><parent><version>9.9</version></parent><dependencies><dependency><version>1</version></dependency></dependencies></project>";
        assert_eq!(pom_version(inherited), None);
    }

    #[test]
    fn properties_forms() {
        let p = b"# c\nserver.info=Apache Tomcat/10.1.34\nversion : 3.7.2\n! x\nname value\n";
        assert_eq!(
            property(p, "server.info").as_deref(),
            Some("Apache Tomcat/10.1.34")
        );
        assert_eq!(property(p, "version").as_deref(), Some("3.7.2"));
        assert_eq!(property(p, "name").as_deref(), Some("value"));
        assert_eq!(property(p, "missing"), None);
    }
}
