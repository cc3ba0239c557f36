//! A small JSON reader for `package.json` files: bounded nesting, no numbers kept, `None` on any error.

const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number,
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// A member of an object (the last one wins, as in JavaScript).
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

pub fn parse(bytes: &[u8]) -> Option<Value> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut p = Parser { b: bytes, at: 0 };
    let v = p.value(0)?;
    p.ws();
    (p.at == bytes.len()).then_some(v)
}

struct Parser<'a> {
    b: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self
            .b
            .get(self.at)
            .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        self.b
            .get(self.at..)?
            .starts_with(lit)
            .then(|| self.at += lit.len())
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match *self.b.get(self.at)? {
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                self.ws();
                if self.eat(b"}").is_some() {
                    return Some(Value::Object(members));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    self.eat(b":")?;
                    members.push((key, self.value(depth + 1)?));
                    self.ws();
                    if self.eat(b",").is_none() {
                        self.eat(b"}")?;
                        return Some(Value::Object(members));
                    }
                }
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]").is_some() {
                    return Some(Value::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",").is_none() {
                        self.eat(b"]")?;
                        return Some(Value::Array(items));
                    }
                }
            }
            b'"' => self.string().map(Value::String),
            b't' => self.eat(b"true").map(|_| Value::Bool(true)),
            b'f' => self.eat(b"false").map(|_| Value::Bool(false)),
            b'n' => self.eat(b"null").map(|_| Value::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                while self
                    .b
                    .get(self.at)
                    .is_some_and(|c| matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                {
                    self.at += 1;
                }
                (self.at > start).then_some(Value::Number)
            }
            _ => None,
        }
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b"\"")?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.b.get(self.at)?;
            self.at += 1;
            match c {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.b.get(self.at)?;
                    self.at += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex =
                                std::str::from_utf8(self.b.get(self.at..self.at + 4)?).ok()?;
                            self.at += 4;
                            // Lone or paired surrogates: not needed for names and versions.
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?).unwrap_or('\u{fffd}')
                        }
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return None,
                c => out.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_json() {
        let v = parse(br#"{"name":"x","version":"1.2.3","dependencies":{"express":"^4.21.2"},"n":[1,-2.5e3,true,null],"s":"a\"\u0041"}"#)
            .expect("valid");
        assert_eq!(v.get("version").and_then(Value::as_str), Some("1.2.3"));
        assert!(v
            .get("dependencies")
            .and_then(|d| d.get("express"))
            .is_some());
        assert_eq!(v.get("s").and_then(Value::as_str), Some("a\"A"));
    }

    #[test]
    fn invalid_and_deep_input() {
        assert_eq!(parse(b"{"), None);
        assert_eq!(parse(b"{\"a\":1,}"), None);
        assert_eq!(parse(b"{} x"), None);
        assert_eq!(
            parse(&[b'['; 100_000]),
            None,
            "nesting is bounded, no stack overflow"
        );
    }
}
