//! From option strings to parameter values (`awscli/argprocess.py`): `file://` and `fileb://`
//! values, JSON or shorthand for structures, maps and lists, numbers and booleans as Python
//! reads them.

use super::shorthand;
use crate::errors::CliError;
use crate::model::{Kind, Model};
use crate::output::py;
use base64::Engine;
use serde_json::Value;

/// What was given for one option.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    One(String),
    Many(Vec<String>),
    Flag(bool),
}

/// `get_paramfile`: the contents of `file://PATH` (text) or `fileb://PATH` (bytes, kept as
/// base64 for blob members), or None for any other value.
pub fn param_file(value: &str) -> Result<Option<Value>, String> {
    let (path, binary) = if let Some(p) = value.strip_prefix("file://") {
        (p, false)
    } else if let Some(p) = value.strip_prefix("fileb://") {
        (p, true)
    } else {
        return Ok(None);
    };
    let expanded = expand_user(path);
    let bytes = std::fs::read(&expanded).map_err(|e| {
        let errno = e.raw_os_error().unwrap_or(0);
        let reason = match e.kind() {
            std::io::ErrorKind::NotFound => "No such file or directory".to_owned(),
            std::io::ErrorKind::PermissionDenied => "Permission denied".to_owned(),
            _ => e.to_string(),
        };
        format!("Unable to load paramfile {value}: [Errno {errno}] {reason}: {}", py::str_repr(&expanded))
    })?;
    if binary {
        return Ok(Some(Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))));
    }
    Ok(Some(Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

fn expand_user(path: &str) -> String {
    match (path.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => path.to_owned(),
    }
}

/// Python's `int(text)`.
pub fn py_int(text: &str) -> Result<i64, String> {
    let cleaned = text.trim().replace('_', "");
    cleaned
        .parse::<i64>()
        .map_err(|_| format!("invalid literal for int() with base 10: {}", py::str_repr(text)))
}

/// Python's `float(text)`.
pub fn py_float(text: &str) -> Result<Value, String> {
    let f: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("could not convert string to float: {}", py::str_repr(text)))?;
    Ok(serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null))
}

/// Parses JSON as the CLI does for an option (`Invalid JSON: ...`, in Python's words).
fn json_value(cli_name: &str, text: &str) -> Result<Value, CliError> {
    parse_json(text)
        .map_err(|e| CliError::param(cli_name, &format!("Invalid JSON: {e}\nJSON received: {text}")))
}

/// JSON, or why Python would refuse it.
pub fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| super::pyjson::error(text).unwrap_or_else(|| e.to_string()))
}

/// Resolves `file://` prefixes in what was given (one value, or a list of one value).
fn resolve_files(cli_name: &str, given: Given) -> Result<Given, CliError> {
    let load = |s: String| -> Result<String, CliError> {
        match param_file(&s).map_err(|e| CliError::param(cli_name, &e))? {
            Some(Value::String(contents)) => Ok(contents),
            _ => Ok(s),
        }
    };
    Ok(match given {
        Given::One(s) => Given::One(load(s)?),
        Given::Many(v) if v.len() == 1 => Given::Many(vec![load(v.into_iter().next().unwrap_or_default())?]),
        other => other,
    })
}

/// The parameter value of an option, for a member of shape `shape`.
pub fn unpack(model: &Model, shape: &str, cli_name: &str, given: Given) -> Result<Value, CliError> {
    let given = resolve_files(cli_name, given)?;
    let s = model.shape(shape);
    match (s.kind, given) {
        (_, Given::Flag(b)) => Ok(Value::Bool(b)),
        (Kind::List, Given::Many(values)) => unpack_list(model, shape, cli_name, values),
        (Kind::List, Given::One(value)) => unpack_list(model, shape, cli_name, vec![value]),
        (kind, Given::One(value)) if kind.is_scalar() => scalar(kind, &value).map_err(CliError::Plain),
        (_, Given::One(value)) => complex(model, shape, cli_name, &value),
        (_, Given::Many(values)) => unpack(model, shape, cli_name, Given::One(values.join(" "))),
    }
}

fn scalar(kind: Kind, value: &str) -> Result<Value, String> {
    match kind {
        Kind::Integer | Kind::Long => Ok(Value::from(py_int(value)?)),
        Kind::Float | Kind::Double => py_float(value),
        Kind::Boolean => Ok(Value::Bool(!value.is_empty() && value.to_lowercase() != "false")),
        _ => Ok(Value::String(value.to_owned())),
    }
}

fn looks_like_json(value: &str, open: char) -> bool {
    value.trim_start().starts_with(open)
}

fn complex(model: &Model, shape: &str, cli_name: &str, value: &str) -> Result<Value, CliError> {
    if looks_like_json(value, '{') || looks_like_json(value, '[') {
        if !looks_like_json(value, '{') {
            return Err(CliError::param(cli_name, &format!("Invalid JSON:\n{value}")));
        }
        return json_value(cli_name, value);
    }
    let s = model.shape(shape);
    // A structure of one string member named Value takes the bare value.
    if s.kind == Kind::Structure
        && s.members.len() == 1
        && s.members[0].name == "Value"
        && model.shape(&s.members[0].shape).kind == Kind::String
        && !value.contains('=')
    {
        return Ok(serde_json::json!({ "Value": value }));
    }
    let mut parsed = shorthand::parse(value, &param_file).map_err(|e| CliError::param(cli_name, &e))?;
    shorthand::apply_model(model, shape, &mut parsed).map_err(|e| CliError::param(cli_name, &e))?;
    Ok(parsed)
}

fn unpack_list(model: &Model, shape: &str, cli_name: &str, values: Vec<String>) -> Result<Value, CliError> {
    if values.len() == 1 && looks_like_json(&values[0], '[') {
        return json_value(cli_name, &values[0]);
    }
    let member = model.shape(shape).member.clone().unwrap_or_default();
    let member_kind = model.shape(&member).kind;
    let mut out = Vec::with_capacity(values.len());
    for v in &values {
        let item = if member_kind.is_scalar() {
            scalar(member_kind, v).map_err(CliError::Plain)?
        } else {
            complex(model, &member, cli_name, v)?
        };
        out.push(item);
    }
    Ok(Value::Array(out))
}
