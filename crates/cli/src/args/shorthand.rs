//! The AWS CLI's shorthand syntax (`awscli/shorthand.py`): `Id=abc,MostRecent=3`,
//! `Key=a,b,c` lists, `[...]` and `{...}` literals, quoted values, `\,` escapes, and
//! `key@=file://path` values read from files. Parsed without the model; the model is applied
//! afterwards (`apply_model`).

use crate::model::{Kind, Model};
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

static FIRST_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^((\\,)|[!\#-\&\(-\+\--<>-Z\\-z\|-\x{ffff}])((\\,)|[\s!\#-\&\(-\+\--\\\\\^-\|\~-\x{ffff}])*")
        .expect("regex")
});
static SECOND_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^((\\,)|[!\#-\&\(-\+\--<>-Z\\-z\|-\x{ffff}])((\\,)|[\s!\#-\&\(-\+\--<>-\x{ffff}])*")
        .expect("regex")
});
static SINGLE_QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^'(?:\\'|[^'])*'").expect("regex"));
static DOUBLE_QUOTED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#"^"(?:\\"|[^"])*""#).expect("regex"));

/// Reads `file://` and `fileb://` values (given by the caller so tests need no files).
pub type ParamFiles<'a> = &'a dyn Fn(&str) -> Result<Option<Value>, String>;

pub struct Parser<'a> {
    chars: Vec<char>,
    index: usize,
    resolve: bool,
    files: ParamFiles<'a>,
}

enum Failure {
    Syntax { expected: String, actual: String, index: usize },
    Duplicate { key: String, index: usize },
    File(String),
}

type Res<T> = Result<T, Failure>;

/// Parses one shorthand value into a JSON object (before the model is applied).
pub fn parse(value: &str, files: ParamFiles<'_>) -> Result<Value, String> {
    let mut p = Parser { chars: value.chars().collect(), index: 0, resolve: false, files };
    p.parameter().map_err(|f| p.message(f))
}

impl Parser<'_> {
    fn message(&self, f: Failure) -> String {
        match f {
            Failure::Syntax { expected, actual, index } => {
                format!("Expected: '{expected}', received: '{actual}' for input:\n{}", self.location(index))
            }
            Failure::Duplicate { key, index } => format!(
                "Second instance of key \"{key}\" encountered for input:\n{}\nThis is often because there is a preceding \",\" instead of a space.",
                self.location(index)
            ),
            Failure::File(msg) => msg,
        }
    }

    /// The input with a caret under `index` (`ShorthandParseError._error_location`).
    fn location(&self, index: usize) -> String {
        let value: String = self.chars.iter().collect();
        let before: String = self.chars[..index.min(self.chars.len())].iter().collect();
        let after: String = self.chars[index.min(self.chars.len())..].iter().collect();
        let mut spaces = index;
        if let Some(nl) = before.rfind('\n') {
            spaces = index - before[..nl].chars().count() - 1;
        }
        let (consumed, remaining) = match after.find('\n') {
            Some(nl) => (format!("{before}{}", &after[..nl]), after[nl..].to_owned()),
            None => (value, String::new()),
        };
        format!("{consumed}\n{}^{remaining}", " ".repeat(spaces))
    }

    fn parameter(&mut self) -> Res<Value> {
        let mut params = Map::new();
        let (key, val) = self.keyval()?;
        params.insert(key, val);
        let mut last = self.index;
        while self.index < self.chars.len() {
            self.expect(',', true)?;
            let (key, val) = self.keyval()?;
            if params.contains_key(&key) {
                return Err(Failure::Duplicate { key, index: last + 1 });
            }
            params.insert(key, val);
            last = self.index;
        }
        Ok(Value::Object(params))
    }

    fn keyval(&mut self) -> Res<(String, Value)> {
        let key = self.key();
        self.resolve = self.expect('@', true).is_ok();
        self.expect('=', true)?;
        Ok((key, self.values()?))
    }

    fn key(&mut self) -> String {
        let start = self.index;
        while let Some(c) = self.current() {
            if !(c.is_ascii_alphanumeric() || "-_.#/:".contains(c)) {
                break;
            }
            self.index += 1;
        }
        self.chars[start..self.index].iter().collect()
    }

    fn values(&mut self) -> Res<Value> {
        match self.current() {
            None => Ok(Value::String(String::new())),
            Some('[') => self.explicit_list(),
            Some('{') => self.hash_literal(),
            Some(_) => self.csv_value(),
        }
    }

    fn csv_value(&mut self) -> Res<Value> {
        let first = self.first_value()?;
        self.consume_whitespace();
        if self.current() != Some(',') {
            return Ok(first);
        }
        self.expect(',', true)?;
        let mut list = vec![first.clone()];
        loop {
            // As in the CLI, a failure anywhere in this step backs up to the last comma:
            // what follows is the next key, not another list value.
            let step = self.second_value().and_then(|current| {
                self.consume_whitespace();
                if self.at_eof() {
                    return Ok((current, true));
                }
                self.expect(',', true)?;
                Ok((current, false))
            });
            match step {
                Ok((current, done)) => {
                    list.push(current);
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    if self.at_eof() {
                        return Err(e);
                    }
                    self.backtrack_to(',');
                    break;
                }
            }
        }
        if list.len() == 1 {
            return Ok(first);
        }
        Ok(Value::Array(list))
    }

    fn rest(&self) -> String {
        self.chars[self.index.min(self.chars.len())..].iter().collect()
    }

    fn consume_regex(&mut self, re: &Regex) -> Option<String> {
        let rest = self.rest();
        let m = re.find(&rest)?;
        let text = m.as_str().to_owned();
        self.index += text.chars().count();
        Some(text)
    }

    fn finish(&self, text: String) -> Res<Value> {
        if self.resolve {
            if let Some(v) = (self.files)(&text).map_err(Failure::File)? {
                return Ok(v);
            }
        }
        Ok(Value::String(text))
    }

    fn value(&mut self) -> Res<Value> {
        match self.consume_regex(&FIRST_VALUE) {
            Some(text) => self.finish(text.replace("\\,", ",").trim_end().to_owned()),
            None => Ok(Value::String(String::new())),
        }
    }

    fn explicit_list(&mut self) -> Res<Value> {
        self.expect('[', true)?;
        let mut values = Vec::new();
        while self.current() != Some(']') {
            values.push(self.explicit_values()?);
            self.consume_whitespace();
            if self.current() != Some(']') {
                self.expect(',', false)?;
                self.consume_whitespace();
            }
        }
        self.expect(']', false)?;
        Ok(Value::Array(values))
    }

    fn explicit_values(&mut self) -> Res<Value> {
        match self.current() {
            Some('[') => self.explicit_list(),
            Some('{') => self.hash_literal(),
            _ => self.first_value(),
        }
    }

    fn hash_literal(&mut self) -> Res<Value> {
        self.expect('{', true)?;
        let mut map = Map::new();
        while self.current() != Some('}') {
            let key = self.key();
            self.resolve = self.expect('@', true).is_ok();
            self.expect('=', true)?;
            let v = self.explicit_values()?;
            self.consume_whitespace();
            if self.current() != Some('}') {
                self.expect(',', false)?;
                self.consume_whitespace();
            }
            map.insert(key, v);
        }
        self.expect('}', false)?;
        Ok(Value::Object(map))
    }

    fn first_value(&mut self) -> Res<Value> {
        match self.current() {
            Some('\'') => self.quoted(&SINGLE_QUOTED, '\''),
            Some('"') => self.quoted(&DOUBLE_QUOTED, '"'),
            _ => self.value(),
        }
    }

    fn second_value(&mut self) -> Res<Value> {
        match self.current() {
            Some('\'') => self.quoted(&SINGLE_QUOTED, '\''),
            Some('"') => self.quoted(&DOUBLE_QUOTED, '"'),
            _ => {
                let Some(text) = self.consume_regex(&SECOND_VALUE) else {
                    return Err(self.syntax("<second>", "<none>".into()));
                };
                self.finish(text.replace("\\,", ",").trim_end().to_owned())
            }
        }
    }

    fn quoted(&mut self, re: &Regex, quote: char) -> Res<Value> {
        let name = if quote == '\'' { "singled quoted" } else { "double quoted" };
        let Some(text) = self.consume_regex(re) else {
            return Err(self.syntax(&format!("<{name}>"), "<none>".into()));
        };
        let inner: String = text.chars().skip(1).take(text.chars().count() - 2).collect();
        let unescaped = inner.replace(&format!("\\{quote}"), &quote.to_string()).replace("\\\\", "\\");
        self.finish(unescaped)
    }

    fn syntax(&self, expected: &str, actual: String) -> Failure {
        Failure::Syntax { expected: expected.to_owned(), actual, index: self.index }
    }

    fn expect(&mut self, c: char, whitespace: bool) -> Res<()> {
        if whitespace {
            self.consume_whitespace();
        }
        match self.current() {
            None => return Err(self.syntax(&c.to_string(), "EOF".into())),
            Some(actual) if actual != c => return Err(self.syntax(&c.to_string(), actual.to_string())),
            Some(_) => self.index += 1,
        }
        if whitespace {
            self.consume_whitespace();
        }
        Ok(())
    }

    fn current(&self) -> Option<char> {
        self.chars.get(self.index).copied()
    }

    fn at_eof(&self) -> bool {
        self.index >= self.chars.len()
    }

    fn backtrack_to(&mut self, c: char) {
        while self.index > 0 && self.chars.get(self.index) != Some(&c) {
            self.index -= 1;
        }
    }

    fn consume_whitespace(&mut self) {
        while self.current().is_some_and(|c| " \t\n\r\x0b\x0c".contains(c)) {
            self.index += 1;
        }
    }
}

/// The model applied to a parsed shorthand value (`BackCompatVisitor`): scalars become the
/// member's type, and a single value where a list is expected becomes a one-element list.
pub fn apply_model(model: &Model, shape: &str, value: &mut Value) -> Result<(), String> {
    let s = model.shape(shape);
    match s.kind {
        Kind::Structure => {
            if s.document {
                return Err("Shorthand syntax does not support document types. Use JSON input for top-level argument to specify nested parameter".into());
            }
            if let Value::Object(map) = value {
                for m in &s.members {
                    if let Some(v) = map.get_mut(&m.name) {
                        if model.shape(&m.shape).document {
                            return Err(format!("Shorthand syntax does not support document types. Use JSON input for top-level argument to specify nested parameter: {}", m.name));
                        }
                        apply_model(model, &m.shape, v)?;
                    }
                }
            }
        }
        Kind::List => {
            let member = s.member.clone().unwrap_or_default();
            match value {
                Value::Array(items) => {
                    for item in items {
                        apply_model(model, &member, item)?;
                    }
                }
                Value::Null => {}
                other => {
                    let mut single = other.take();
                    apply_model(model, &member, &mut single)?;
                    *other = Value::Array(vec![single]);
                }
            }
        }
        Kind::Map => {
            let value_shape = s.value.clone().unwrap_or_default();
            if let Value::Object(map) = value {
                for v in map.values_mut() {
                    apply_model(model, &value_shape, v)?;
                }
            }
        }
        Kind::Integer | Kind::Long => {
            if let Value::String(text) = value {
                *value = Value::from(super::unpack::py_int(text)?);
            }
        }
        Kind::Float | Kind::Double => {
            if let Value::String(text) = value {
                *value = super::unpack::py_float(text)?;
            }
        }
        Kind::Boolean => {
            if let Value::String(text) = value {
                match text.to_lowercase().as_str() {
                    "true" => *value = Value::Bool(true),
                    "false" => *value = Value::Bool(false),
                    _ => {}
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_files(_: &str) -> Result<Option<Value>, String> {
        Ok(None)
    }

    fn p(s: &str) -> Result<Value, String> {
        parse(s, &no_files)
    }

    #[test]
    fn parses_like_the_cli() {
        assert_eq!(p("a=b").expect("ok"), json!({"a": "b"}));
        assert_eq!(p("a=b,c").expect("ok"), json!({"a": ["b", "c"]}));
        assert_eq!(p("a=b,c=d").expect("ok"), json!({"a": "b", "c": "d"}));
        assert_eq!(p("a=b,c,d=e").expect("ok"), json!({"a": ["b", "c"], "d": "e"}));
        assert_eq!(p("a=[b,c],d={e=f}").expect("ok"), json!({"a": ["b", "c"], "d": {"e": "f"}}));
        assert_eq!(p("a='x,y',b=\"it's\"").expect("ok"), json!({"a": "x,y", "b": "it's"}));
        assert_eq!(p("a=x\\,y").expect("ok"), json!({"a": "x,y"}));
        assert_eq!(p("a=").expect("ok"), json!({"a": ""}));
    }

    #[test]
    fn errors_like_the_cli() {
        assert_eq!(p("Id").expect_err("error"), "Expected: '=', received: 'EOF' for input:\nId\n  ^");
        assert!(p("a=b,a=c").expect_err("error").starts_with("Second instance of key \"a\""));
    }
}
