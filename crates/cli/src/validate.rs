//! The client-side checks botocore makes before sending (`botocore/validate.py`): required
//! members, unknown members, Python types, and `min` lengths and values. Its report is the
//! CLI's `Parameter validation failed:` message.

use crate::model::{Kind, Model, Shape};
use crate::output::py;
use serde_json::Value;

/// Checks `params` against the operation's input shape; the report lines on failure.
pub fn validate(model: &Model, input_shape: &str, params: &Value) -> Result<(), String> {
    let mut errors = Vec::new();
    check(model, model.shape(input_shape), params, "", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("Parameter validation failed:\n{}", errors.join("\n")))
    }
}

fn display_name(name: &str) -> &str {
    if name.is_empty() {
        "input"
    } else {
        name.strip_prefix('.').unwrap_or(name)
    }
}

/// Python's `type(value)` for a JSON value.
fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

fn invalid_type(name: &str, v: &Value, valid: &str) -> String {
    format!(
        "Invalid type for parameter {}, value: {}, type: {}, valid types: {valid}",
        display_name(name),
        py::str_of(v),
        py_type(v)
    )
}

fn is_int(v: &Value) -> bool {
    v.is_boolean() || v.as_number().is_some_and(|n| !n.is_f64())
}

fn check(model: &Model, shape: &Shape, v: &Value, name: &str, errors: &mut Vec<String>) {
    match shape.kind {
        Kind::Structure => structure(model, shape, v, name, errors),
        Kind::List => list(model, shape, v, name, errors),
        Kind::Map => map(model, shape, v, name, errors),
        Kind::String => match v.as_str() {
            Some(s) => {
                let n = s.chars().count();
                min_check(shape, n as f64, &n.to_string(), name, "length", errors)
            }
            None => errors.push(invalid_type(name, v, "<class 'str'>")),
        },
        Kind::Integer | Kind::Long => match v.as_f64() {
            Some(f) if is_int(v) => min_check(shape, f, &py::str_of(v), name, "value", errors),
            _ if v.is_boolean() => {}
            _ => errors.push(invalid_type(name, v, "<class 'int'>")),
        },
        Kind::Float | Kind::Double => match v.as_f64() {
            Some(f) => min_check(shape, f, &py::str_of(v), name, "value", errors),
            None if v.is_boolean() => {}
            None => errors.push(invalid_type(
                name,
                v,
                "<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>",
            )),
        },
        Kind::Boolean => {
            if !v.is_boolean() {
                errors.push(invalid_type(name, v, "<class 'bool'>"));
            }
        }
        Kind::Timestamp => {
            if !(v.is_string() || v.is_number()) {
                errors.push(invalid_type(name, v, "<class 'datetime.datetime'>, timestamp-string"));
            }
        }
        Kind::Blob => {
            if !v.is_string() {
                errors.push(invalid_type(name, v, "<class 'bytes'>, <class 'bytearray'>, file-like object"));
            }
        }
    }
}

/// `range_check`: `shown` is the value as Python prints it (a length, or the number given).
fn min_check(shape: &Shape, value: f64, shown: &str, name: &str, what: &str, errors: &mut Vec<String>) {
    if let Some(min) = &shape.min {
        if value < min.as_f64().unwrap_or(f64::MIN) {
            errors.push(format!(
                "Invalid {what} for parameter {}, value: {shown}, valid min {what}: {}",
                display_name(name),
                py::number(min)
            ));
        }
    }
}

fn structure(model: &Model, shape: &Shape, v: &Value, name: &str, errors: &mut Vec<String>) {
    let Some(params) = v.as_object() else {
        errors.push(invalid_type(name, v, "<class 'dict'>"));
        return;
    };
    let member_names: Vec<&str> = shape.members.iter().map(|m| m.name.as_str()).collect();
    if shape.union && params.len() != 1 {
        let shown = display_name(name);
        errors.push(if params.is_empty() {
            format!("Must set one of the following keys for tagged unionstructure {shown}: {}.", member_names.join(", "))
        } else {
            format!(
                "Invalid number of parameters set for tagged union structure {shown}. Can only set one of the following keys: {}.",
                member_names.join(", ")
            )
        });
    }
    for required in &shape.required {
        if !params.contains_key(required) {
            errors.push(format!("Missing required parameter in {}: \"{required}\"", display_name(name)));
        }
    }
    for key in params.keys() {
        if !member_names.contains(&key.as_str()) {
            errors.push(format!(
                "Unknown parameter in {}: \"{key}\", must be one of: {}",
                display_name(name),
                member_names.join(", ")
            ));
        }
    }
    for (key, value) in params {
        if let Some(m) = shape.member(key) {
            check(model, model.shape(&m.shape), value, &format!("{name}.{key}"), errors);
        }
    }
}

fn list(model: &Model, shape: &Shape, v: &Value, name: &str, errors: &mut Vec<String>) {
    let Some(items) = v.as_array() else {
        errors.push(invalid_type(name, v, "<class 'list'>, <class 'tuple'>"));
        return;
    };
    min_check(shape, items.len() as f64, &items.len().to_string(), name, "length", errors);
    let member = model.shape(shape.member.as_deref().unwrap_or_default());
    for (i, item) in items.iter().enumerate() {
        check(model, member, item, &format!("{name}[{i}]"), errors);
    }
}

fn map(model: &Model, shape: &Shape, v: &Value, name: &str, errors: &mut Vec<String>) {
    let Some(entries) = v.as_object() else {
        errors.push(invalid_type(name, v, "<class 'dict'>"));
        return;
    };
    let key_shape = model.shape(shape.key.as_deref().unwrap_or_default());
    let value_shape = model.shape(shape.value.as_deref().unwrap_or_default());
    for (k, item) in entries {
        check(model, key_shape, &Value::String(k.clone()), &format!("{name} (key: {k})"), errors);
        check(model, value_shape, item, &format!("{name}.{k}"), errors);
    }
}
