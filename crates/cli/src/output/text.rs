//! `--output text`: the AWS CLI's `awscli/text.py`. Scalars of a dict on one tab-separated
//! line (keys sorted), nested values below with the key upper-cased as the line's first word.

use super::py::str_of;
use serde_json::{Map, Value};

pub fn format(v: &Value, out: &mut String) {
    format_value(v, out, None, None);
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Array(_) | Value::Object(_))
}

fn format_value(v: &Value, out: &mut String, identifier: Option<&str>, scalar_keys: Option<&[String]>) {
    match v {
        Value::Object(map) => format_dict(map, out, identifier, scalar_keys),
        Value::Array(items) => format_list(items, out, identifier),
        other => {
            out.push_str(&str_of(other));
            out.push('\n');
        }
    }
}

fn format_list(items: &[Value], out: &mut String, identifier: Option<&str>) {
    if items.is_empty() {
        return;
    }
    if items.iter().any(Value::is_object) {
        let keys = all_scalar_keys(items);
        for item in items {
            format_value(item, out, identifier, Some(&keys));
        }
    } else if items.iter().any(Value::is_array) {
        let (scalars, others): (Vec<&Value>, Vec<&Value>) = items.iter().partition(|v| !is_container(v));
        if !scalars.is_empty() {
            format_scalar_list(&scalars, out, identifier);
        }
        for other in others {
            format_value(other, out, identifier, None);
        }
    } else {
        let all: Vec<&Value> = items.iter().collect();
        format_scalar_list(&all, out, identifier);
    }
}

fn format_scalar_list(items: &[&Value], out: &mut String, identifier: Option<&str>) {
    match identifier {
        Some(id) => {
            for item in items {
                out.push_str(&format!("{}\t{}\n", id.to_uppercase(), str_of(item)));
            }
        }
        None => {
            out.push_str(&items.iter().map(|v| str_of(v)).collect::<Vec<_>>().join("\t"));
            out.push('\n');
        }
    }
}

fn format_dict(
    map: &Map<String, Value>,
    out: &mut String,
    identifier: Option<&str>,
    scalar_keys: Option<&[String]>,
) {
    let mut scalars: Vec<String> = Vec::new();
    let mut others: Vec<(&String, &Value)> = Vec::new();
    match scalar_keys {
        None => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (k, v) in entries {
                if is_container(v) {
                    others.push((k, v));
                } else {
                    scalars.push(str_of(v));
                }
            }
        }
        Some(keys) => {
            for k in keys {
                scalars.push(map.get(k).map(str_of).unwrap_or_default());
            }
            let mut rest: Vec<(&String, &Value)> = map.iter().filter(|(k, _)| !keys.contains(k)).collect();
            rest.sort_by(|a, b| a.0.cmp(b.0));
            others = rest;
        }
    }
    if !scalars.is_empty() {
        if let Some(id) = identifier {
            scalars.insert(0, id.to_uppercase());
        }
        out.push_str(&scalars.join("\t"));
        out.push('\n');
    }
    for (k, v) in others {
        format_value(v, out, Some(k), None);
    }
}

fn all_scalar_keys(items: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for item in items.iter().filter_map(Value::as_object) {
        for (k, v) in item {
            if !is_container(v) && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys.sort();
    keys
}
