//! How Python shows values, since the AWS CLI's output is Python's `str()`, `repr()` and
//! `json.dumps`: `True`/`None`, `1e+16`, `{'a': 1}`, four-space JSON indentation.

use serde_json::{Number, Value};

/// Python's `repr(float)`: the shortest round-trip digits, exponent form below 1e-4 and from
/// 1e16 on (`1e-05`, `1e+16`), and always a `.0` on whole numbers.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    let s = format!("{f:?}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

pub fn number(n: &Number) -> String {
    if n.is_f64() {
        float_repr(n.as_f64().unwrap_or(0.0))
    } else {
        n.to_string()
    }
}

/// Python's `str()` of a value the CLI printed: strings bare, everything else as `repr`.
pub fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Python's `repr()` of the value's Python form (dicts, lists, quoted strings).
pub fn repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => number(n),
        Value::String(s) => str_repr(s),
        Value::Array(items) => format!("[{}]", items.iter().map(repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{}: {}", str_repr(k), repr(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Python's `repr(str)`: single quotes unless the text has a `'` and no `"`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `json.dumps(value, indent=4, ensure_ascii=...)` followed by nothing (the caller adds `\n`).
pub fn json_dumps(v: &Value, ensure_ascii: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, v, 0, ensure_ascii);
    out
}

fn write_json(out: &mut String, v: &Value, depth: usize, ascii: bool) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => write_json_str(out, s, ascii),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_json(out, item, depth + 1, ascii);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_json_str(out, k, ascii);
                out.push_str(": ");
                write_json(out, item, depth + 1, ascii);
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
    }
}

fn json_number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.is_nan() => "NaN".into(),
        Some(f) if n.is_f64() && f.is_infinite() => if f > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        _ => number(n),
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("    ");
    }
}

fn write_json_str(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_like_python() {
        assert_eq!(float_repr(1795344623.715), "1795344623.715");
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(0.0), "0.0");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-7), "1.5e-07");
        assert_eq!(float_repr(123456789012345.6), "123456789012345.6");
    }

    #[test]
    fn json_like_python() {
        let v = json!({"a": [1, {"b": "é\n"}], "c": {}, "d": [], "e": 0.5});
        assert_eq!(
            json_dumps(&v, false),
            "{\n    \"a\": [\n        1,\n        {\n            \"b\": \"é\\n\"\n        }\n    ],\n    \"c\": {},\n    \"d\": [],\n    \"e\": 0.5\n}"
        );
        assert_eq!(json_dumps(&json!("é"), true), "\"\\u00e9\"");
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(repr(&json!({"a": [true, null, "it's"]})), "{'a': [True, None, \"it's\"]}");
    }
}
