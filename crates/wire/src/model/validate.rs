//! The input walker: checks a JSON value against a compiled shape and collects AWS-style
//! violation texts. Nothing is allocated unless a violation is found.

use std::fmt::{self, Write as _};

use serde_json::{Map, Number, Value};

use super::schema::{Kind, Model, ShapeId, StringRules, Structure};

/// At most this many violations are collected; the walk stops once it is reached.
pub(crate) const MAX_VIOLATIONS: usize = 100;
/// Values nested deeper than this (counted in shapes below the input) are rejected.
pub(crate) const MAX_DEPTH: usize = 64;
/// Displayed values (and map keys in paths) are cut to this many characters.
pub(crate) const SHOWN_CHARS: usize = 64;

/// Location of a value in the input, rendered AWS style on demand:
/// `startPosition.mostRecent`, `attachmentIds.1.member`, `segmentAttributes.connect:Subtype.valueString`.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    /// Zero-based index, rendered one-based as `.N.member`.
    Index(&'a Path<'a>, usize),
    /// Value of a map entry, rendered as `.key`.
    Key(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, name) => f.write_str(name),
            Path::Member(parent, name) => write!(f, "{parent}.{name}"),
            Path::Index(Path::Root, i) => write!(f, "{}.member", i + 1),
            Path::Index(parent, i) => write!(f, "{parent}.{}.member", i + 1),
            Path::Key(Path::Root, key) => write!(f, "{}", Truncated(key)),
            Path::Key(parent, key) => write!(f, "{parent}.{}", Truncated(key)),
        }
    }
}

/// A string cut to [`SHOWN_CHARS`] characters, with `...` when cut.
struct Truncated<'a>(&'a str);

impl fmt::Display for Truncated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(SHOWN_CHARS) {
            Some((cut, _)) => write!(f, "{}...", &self.0[..cut]),
            None => f.write_str(self.0),
        }
    }
}

/// What to show after `Value` in a violation.
enum Shown<'a> {
    Null,
    Json(&'a Value),
    Str(&'a str),
}

fn write_scalar(out: &mut String, v: &Value) -> bool {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Null => out.push_str("null"),
        Value::Array(_) | Value::Object(_) => return false,
    }
    true
}

/// `Value 'x'`, `Value null` or `Value` (sensitive, or not a short rendering).
fn write_shown(out: &mut String, shown: &Shown<'_>, sensitive: bool) {
    out.push_str("Value");
    match shown {
        Shown::Null => out.push_str(" null"),
        _ if sensitive => {}
        Shown::Str(s) => {
            let _ = write!(out, " '{}'", Truncated(s));
        }
        Shown::Json(Value::Array(items)) => {
            // Java's List.toString, as the AWS services print lists: [a, b]
            let mut rendered = String::from("[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    rendered.push_str(", ");
                }
                if !write_scalar(&mut rendered, item) {
                    return;
                }
                if rendered.len() > 4 * SHOWN_CHARS {
                    break;
                }
            }
            rendered.push(']');
            let _ = write!(out, " '{}'", Truncated(&rendered));
        }
        Shown::Json(Value::Object(_)) => {}
        Shown::Json(v) => {
            let mut scalar = String::new();
            write_scalar(&mut scalar, v);
            let _ = write!(out, " '{}'", Truncated(&scalar));
        }
    }
}

fn int_value(n: &Number) -> Option<i128> {
    if let Some(i) = n.as_i64() {
        Some(i128::from(i))
    } else {
        n.as_u64().map(i128::from)
    }
}

/// Calls `fail` with the text of every constraint of `rules` that `s` violates.
fn string_failures(model: &Model, rules: &StringRules, s: &str, mut fail: impl FnMut(&dyn fmt::Display)) {
    if let Some(values) = &rules.enum_values {
        if !values.iter().any(|v| v == s) {
            fail(&format_args!("Member must satisfy enum value set: {}", rules.enum_text));
        }
    }
    // Lengths are in code points. bytes/4 <= chars <= bytes, so counting is only needed
    // near the limits.
    let bytes = s.len();
    let needs_count = rules.max.is_some_and(|m| bytes > m) || rules.min.is_some_and(|m| bytes / 4 < m);
    if needs_count {
        let chars = s.chars().count();
        if let Some(min) = rules.min {
            if chars < min {
                fail(&format_args!("Member must have length greater than or equal to {min}"));
            }
        }
        if let Some(max) = rules.max {
            if chars > max {
                fail(&format_args!("Member must have length less than or equal to {max}"));
            }
        }
    }
    if let Some(p) = rules.pattern {
        let pattern = &model.patterns[p];
        if !pattern.is_match(s) {
            fail(&format_args!("Member must satisfy regular expression pattern: {}", pattern.source));
        }
    }
}

pub(crate) struct Checker<'m> {
    model: &'m Model,
    pub(crate) violations: Vec<String>,
}

impl<'m> Checker<'m> {
    pub(crate) fn new(model: &'m Model) -> Self {
        Checker { model, violations: Vec::new() }
    }

    fn full(&self) -> bool {
        self.violations.len() >= MAX_VIOLATIONS
    }

    fn push(&mut self, shown: Shown<'_>, sensitive: bool, path: &Path<'_>, constraint: &dyn fmt::Display) {
        if self.full() {
            return;
        }
        let mut text = String::new();
        write_shown(&mut text, &shown, sensitive);
        let _ = write!(text, " at '{path}' failed to satisfy constraint: {constraint}");
        self.violations.push(text);
    }

    /// Validates a whole operation input (an object of member name → value; `null` counts
    /// as an empty object).
    pub(crate) fn check_input(&mut self, shape: ShapeId, input: &Value) {
        let model = self.model;
        match (&model.shapes[shape].kind, input) {
            (Kind::Structure(st), Value::Object(obj)) => {
                self.check_members(st, input, obj, &Path::Root, model.shapes[shape].sensitive, 0);
            }
            (Kind::Structure(st), Value::Null) => {
                let empty = Map::new();
                self.check_members(st, input, &empty, &Path::Root, model.shapes[shape].sensitive, 0);
            }
            (Kind::Structure(_), _) => self.violations.push("Input must be a JSON object".to_owned()),
            (_, _) => self.check(shape, input, &Path::Root, false, 0),
        }
    }

    fn check_members(
        &mut self,
        st: &Structure,
        value: &Value,
        obj: &Map<String, Value>,
        path: &Path<'_>,
        sensitive: bool,
        depth: usize,
    ) {
        if st.union {
            let set =
                st.members.iter().filter(|m| obj.get(m.name.as_str()).is_some_and(|v| !v.is_null())).count();
            if set != 1 {
                self.push(
                    Shown::Json(value),
                    sensitive,
                    path,
                    &format_args!("Member must have exactly one member set (found {set})"),
                );
            }
        }
        for m in &st.members {
            if self.full() {
                return;
            }
            let member_path = Path::Member(path, &m.path_name);
            match obj.get(m.name.as_str()) {
                None | Some(Value::Null) => {
                    if m.required && !st.union {
                        self.push(Shown::Null, sensitive, &member_path, &"Member must not be null");
                    }
                }
                Some(v) => self.check(m.shape, v, &member_path, sensitive, depth + 1),
            }
        }
    }

    fn check(&mut self, id: ShapeId, value: &Value, path: &Path<'_>, sensitive: bool, depth: usize) {
        if self.full() {
            return;
        }
        let model = self.model;
        let shape = &model.shapes[id];
        let sensitive = sensitive || shape.sensitive;
        if value.is_null() {
            self.push(Shown::Null, sensitive, path, &"Member must not be null");
            return;
        }
        if depth > MAX_DEPTH {
            self.push(
                Shown::Json(value),
                sensitive,
                path,
                &format_args!("Member must not be nested more than {MAX_DEPTH} levels deep"),
            );
            return;
        }
        let shown = Shown::Json(value);
        match &shape.kind {
            Kind::String(rules) => match value.as_str() {
                Some(s) => {
                    string_failures(model, rules, s, |c| self.push(Shown::Str(s), sensitive, path, c));
                }
                None => self.push(shown, sensitive, path, &"Member must be a string"),
            },
            Kind::Integer(min, max) => match value.as_number().and_then(int_value) {
                Some(v) => {
                    if v < min.value {
                        self.push(
                            shown,
                            sensitive,
                            path,
                            &format_args!("Member must have value greater than or equal to {}", min.text),
                        );
                    } else if v > max.value {
                        self.push(
                            shown,
                            sensitive,
                            path,
                            &format_args!("Member must have value less than or equal to {}", max.text),
                        );
                    }
                }
                None => self.push(shown, sensitive, path, &"Member must be an integer"),
            },
            Kind::Float(min, max) => {
                let v = match value {
                    Value::Number(n) => n.as_f64(),
                    // restJson1 spells the non-finite values as strings
                    Value::String(s) if s == "NaN" => None,
                    Value::String(s) if s == "Infinity" => Some(f64::INFINITY),
                    Value::String(s) if s == "-Infinity" => Some(f64::NEG_INFINITY),
                    _ => {
                        self.push(shown, sensitive, path, &"Member must be a number");
                        return;
                    }
                };
                if let Some(v) = v {
                    if let Some(min) = min.as_ref().filter(|b| v < b.value) {
                        self.push(
                            Shown::Json(value),
                            sensitive,
                            path,
                            &format_args!("Member must have value greater than or equal to {}", min.text),
                        );
                    }
                    if let Some(max) = max.as_ref().filter(|b| v > b.value) {
                        self.push(
                            Shown::Json(value),
                            sensitive,
                            path,
                            &format_args!("Member must have value less than or equal to {}", max.text),
                        );
                    }
                }
            }
            Kind::Boolean => {
                if !value.is_boolean() {
                    self.push(shown, sensitive, path, &"Member must be a boolean");
                }
            }
            Kind::Timestamp => {
                if !(value.is_number() || value.is_string()) {
                    self.push(
                        shown,
                        sensitive,
                        path,
                        &"Member must be a timestamp (epoch seconds or date-time string)",
                    );
                }
            }
            Kind::Blob => {
                if !value.is_string() {
                    self.push(shown, sensitive, path, &"Member must be a base64-encoded string");
                }
            }
            Kind::List { member, min, max } => match value.as_array() {
                Some(items) => {
                    if let Some(min) = min.filter(|&m| items.len() < m) {
                        self.push(
                            shown,
                            sensitive,
                            path,
                            &format_args!("Member must have length greater than or equal to {min}"),
                        );
                    }
                    if let Some(max) = max.filter(|&m| items.len() > m) {
                        self.push(
                            Shown::Json(value),
                            sensitive,
                            path,
                            &format_args!("Member must have length less than or equal to {max}"),
                        );
                    }
                    for (i, item) in items.iter().enumerate() {
                        if self.full() {
                            return;
                        }
                        self.check(*member, item, &Path::Index(path, i), sensitive, depth + 1);
                    }
                }
                None => self.push(shown, sensitive, path, &"Member must be a list"),
            },
            Kind::Map { key, value: value_shape, min, max } => match value.as_object() {
                Some(entries) => {
                    if let Some(min) = min.filter(|&m| entries.len() < m) {
                        self.push(
                            shown,
                            sensitive,
                            path,
                            &format_args!("Member must have length greater than or equal to {min}"),
                        );
                    }
                    if let Some(max) = max.filter(|&m| entries.len() > m) {
                        self.push(
                            Shown::Json(value),
                            sensitive,
                            path,
                            &format_args!("Member must have length less than or equal to {max}"),
                        );
                    }
                    for (k, v) in entries {
                        if self.full() {
                            return;
                        }
                        self.check_key(*key, k, path, sensitive);
                        self.check(*value_shape, v, &Path::Key(path, k), sensitive, depth + 1);
                    }
                }
                None => self.push(shown, sensitive, path, &"Member must be a map"),
            },
            Kind::Structure(st) => match value.as_object() {
                Some(obj) => self.check_members(st, value, obj, path, sensitive, depth),
                None => self.push(shown, sensitive, path, &"Member must be an object"),
            },
        }
    }

    /// Map keys are reported at the map's path, AWS style:
    /// `Map keys must satisfy constraint: [Member must have length less than or equal to 128]`.
    fn check_key(&mut self, id: ShapeId, key: &str, path: &Path<'_>, sensitive: bool) {
        let model = self.model;
        let shape = &model.shapes[id];
        let Kind::String(rules) = &shape.kind else {
            return;
        };
        let mut failures: Vec<String> = Vec::new();
        string_failures(model, rules, key, |c| failures.push(c.to_string()));
        if !failures.is_empty() {
            self.push(
                Shown::Str(key),
                sensitive || shape.sensitive,
                path,
                &format_args!("Map keys must satisfy constraint: [{}]", failures.join(", ")),
            );
        }
    }
}
