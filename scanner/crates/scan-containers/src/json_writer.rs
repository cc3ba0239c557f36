//! A small JSON writer (the coordinator keeps to the standard library). Output is deterministic:
//! objects keep the order they are built in.

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Str(String),
    Int(i64),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// Two-space indented text with a final newline.
    pub fn to_pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, level: usize) {
        match self {
            Json::Str(s) => write_string(out, s),
            Json::Int(n) => out.push_str(&n.to_string()),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, level + 1);
                    item.write(out, level + 1);
                }
                out.push('\n');
                indent(out, level);
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, level + 1);
                    write_string(out, key);
                    out.push_str(": ");
                    value.write(out, level + 1);
                }
                out.push('\n');
                indent(out, level);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_pretty_output() {
        let doc = Json::Obj(vec![
            (
                "ns".into(),
                Json::Obj(vec![("pod".into(), Json::Obj(vec![]))]),
            ),
            (
                "list".into(),
                Json::Arr(vec![Json::Int(-3), Json::str("x")]),
            ),
            ("empty".into(), Json::Arr(vec![])),
        ]);
        let expected = "{\n  \"ns\": {\n    \"pod\": {}\n  },\n  \"list\": [\n    -3,\n    \"x\"\n  ],\n  \"empty\": []\n}\n";
        assert_eq!(doc.to_pretty(), expected);
    }

    #[test]
    fn strings_are_escaped() {
        let s = Json::str("a\"b\\c\nd\u{1}e\u{7f}\u{2028}é");
        assert_eq!(
            s.to_pretty(),
            "\"a\\\"b\\\\c\\nd\\u0001e\\u007f\\u2028é\"\n"
        );
    }
}
