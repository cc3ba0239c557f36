//! Structured logs on stderr, one logfmt line each (`time=… level=… msg="…" key=value`).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

fn line(level: &str, msg: &str, fields: &[(&str, &str)]) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut out = format!(
        "time={}.{:03} level={level} msg={}",
        now.as_secs(),
        now.subsec_millis(),
        quote(msg)
    );
    for (key, value) in fields {
        out.push_str(&format!(" {key}={}", quote(value)));
    }
    out.push('\n');
    // A closed stderr must not stop the scan.
    let _ = std::io::stderr().lock().write_all(out.as_bytes());
}

/// Quotes when needed and escapes everything that could forge a second log line.
fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '=');
    if plain {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub fn info(msg: &str, fields: &[(&str, &str)]) {
    line("info", msg, fields);
}

pub fn warn(msg: &str, fields: &[(&str, &str)]) {
    line("warn", msg, fields);
}

pub fn error(msg: &str, fields: &[(&str, &str)]) {
    line("error", msg, fields);
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn values_cannot_forge_lines() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("two words"), "\"two words\"");
        assert_eq!(quote("a\nlevel=error"), "\"a\\u{a}level=error\"");
        assert_eq!(quote(""), "\"\"");
    }
}
