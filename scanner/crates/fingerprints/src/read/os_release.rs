//! The OS fingerprint: `ID` and `VERSION_ID` from os-release(5).
//!
//! `/etc/os-release` wins when it exists; `/usr/lib/os-release` is read only when it does not (as the
//! format's specification says). The file is read up to [`MAX_BYTES`]; a longer file is cut at the last
//! complete line. Values that are not plain identifiers are dropped.

use crate::read::bounded::read_prefix;
use crate::root::Root;
use std::io;

/// os-release files are a few hundred bytes; anything past this is not a real one.
pub const MAX_BYTES: usize = 64 * 1024;
const MAX_VALUE_LEN: usize = 64;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OsRelease {
    pub id: Option<String>,
    pub version_id: Option<String>,
}

/// Reads the OS identity of a container root; missing or unreadable files give absent fields.
pub fn read(root: &dyn Root) -> OsRelease {
    let data = match read_prefix(root, "/etc/os-release", MAX_BYTES) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            read_prefix(root, "/usr/lib/os-release", MAX_BYTES)
        }
        other => other,
    };
    data.map(|bytes| parse(&bytes)).unwrap_or_default()
}

/// Parses os-release content: `KEY=value` lines, values optionally single- or double-quoted with
/// shell-style backslash escapes, `#` comments and blank lines ignored. A cut last line is ignored.
pub fn parse(bytes: &[u8]) -> OsRelease {
    let text = String::from_utf8_lossy(bytes);
    let complete = match text.rfind('\n') {
        Some(end) if bytes.len() >= MAX_BYTES => &text[..end],
        _ => &text[..],
    };
    let mut result = OsRelease::default();
    for line in complete.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let target = match key.trim() {
            "ID" => &mut result.id,
            "VERSION_ID" => &mut result.version_id,
            _ => continue,
        };
        *target = unquote(raw.trim()).filter(|v| is_identifier(v));
    }
    result
}

/// Undoes shell quoting of one value; `None` for an unterminated quote.
fn unquote(raw: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        escaped @ ('$' | '"' | '\\' | '`') => out.push(escaped),
                        other => {
                            out.push('\\');
                            out.push(other);
                        }
                    },
                    other => out.push(other),
                }
            },
            '\'' => loop {
                match chars.next()? {
                    '\'' => break,
                    other => out.push(other),
                }
            },
            '\\' => out.push(chars.next()?),
            // An unquoted `#` after a space starts a comment in shell; a value never has one.
            c if c.is_whitespace() => break,
            other => out.push(other),
        }
    }
    Some(out)
}

/// os-release(5) restricts ID and VERSION_ID to `0-9 a-z . _ -`; upper case and `+ ~` are tolerated
/// because real images use them. Anything else (spaces, control bytes, markup) is not an identifier.
fn is_identifier(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_VALUE_LEN
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> (Option<String>, Option<String>) {
        let r = parse(text.as_bytes());
        (r.id, r.version_id)
    }

    fn some(a: &str, b: &str) -> (Option<String>, Option<String>) {
        (Some(a.into()), Some(b.into()))
    }

    #[test]
    fn debian_style_unquoted_and_quoted() {
        let text = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(ids(text), some("debian", "12"));
    }

    #[test]
    fn rhel_style_with_comments_and_single_quotes() {
        let text = "# comment\nNAME='Red Hat Enterprise Linux'\n\nID='rhel'\nID_LIKE=\"fedora\"\nVERSION_ID=\"8.9\" # trailing\n";
        assert_eq!(ids(text), some("rhel", "8.9"));
    }

    #[test]
    fn escapes_inside_double_quotes() {
        assert_eq!(
            ids("ID=\"a\\$b\"\nVERSION_ID=\"1\\\\2\"\n"),
            (None, None),
            "$ and \\ are not identifier chars"
        );
        assert_eq!(
            ids("ID=\"al\\pine\"\nVERSION_ID=3.21.4\n"),
            (None, Some("3.21.4".into()))
        );
        assert_eq!(
            ids("ID=al\\pine\n"),
            (Some("alpine".into()), None),
            "unquoted backslash escapes the next char"
        );
    }

    #[test]
    fn later_assignment_wins_and_absent_keys_stay_absent() {
        assert_eq!(ids("ID=fedora\nID=rhel\n"), (Some("rhel".into()), None));
        assert_eq!(ids(""), (None, None));
    }

    #[test]
    fn garbage_is_dropped() {
        assert_eq!(
            ids("ID=\"unterminated\nVERSION_ID=\"<script>\"\n"),
            (None, None)
        );
        assert_eq!(ids("ID=\"two words\"\n"), (None, None));
        assert_eq!(ids(&format!("ID={}\n", "a".repeat(65))), (None, None));
        assert_eq!(ids("ID=\u{1b}[31m\n"), (None, None));
    }

    #[test]
    fn crlf_and_spaces_around_key() {
        assert_eq!(
            ids("ID=ubuntu\r\nVERSION_ID=\"20.04\"\r\n"),
            some("ubuntu", "20.04")
        );
    }

    #[test]
    fn cut_last_line_of_oversized_file_is_ignored() {
        let mut text = "ID=debian\n".to_string();
        text.push_str(&"#".repeat(MAX_BYTES - text.len() - 12));
        text.push_str("\nVERSION_ID=1");
        let r = parse(&text.as_bytes()[..MAX_BYTES]);
        assert_eq!(
            (r.id.as_deref(), r.version_id.as_deref()),
            (Some("debian"), None)
        );
    }
}
