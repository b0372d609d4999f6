//! Parameters to an HTTP request, by the model's rest-json rules: URI labels, query strings,
//! headers, and the rest as a JSON body; idempotency tokens filled in when absent.

use crate::model::{Kind, Model, Operation};
use serde_json::{Map, Value};

pub struct Request {
    pub method: String,
    /// Path (percent-encoded, without the endpoint's own prefix) and query string.
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

const UNRESERVED: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
const GREEDY: &percent_encoding::AsciiSet = &UNRESERVED.remove(b'/');

fn encode(s: &str, set: &'static percent_encoding::AsciiSet) -> String {
    percent_encoding::utf8_percent_encode(s, set).to_string()
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

pub fn build(model: &Model, op: &Operation, params: &Map<String, Value>) -> Request {
    let mut uri = op.request_uri.clone();
    let mut query: Vec<String> = Vec::new();
    let mut headers = Vec::new();
    let mut body = Map::new();
    let mut has_body_members = false;
    if let Some(input) = &op.input {
        let shape = model.shape(input);
        for m in &shape.members {
            let location_name = m.location_name.clone().unwrap_or_else(|| m.name.clone());
            let value = match params.get(&m.name) {
                Some(v) => v.clone(),
                None if m.idempotency_token => Value::String(uuid::Uuid::new_v4().to_string()),
                None => {
                    has_body_members |= m.location.is_none();
                    continue;
                }
            };
            match m.location.as_deref() {
                Some("uri") => {
                    let text = scalar_text(&value);
                    uri = uri.replace(&format!("{{{location_name}+}}"), &encode(&text, GREEDY));
                    uri = uri.replace(&format!("{{{location_name}}}"), &encode(&text, UNRESERVED));
                }
                Some("querystring") => push_query(&mut query, &location_name, &value),
                Some("header") => headers.push((location_name.to_lowercase(), scalar_text(&value))),
                _ => {
                    has_body_members = true;
                    body.insert(location_name, serialize(model, &m.shape, value));
                }
            }
        }
    }
    let (path, uri_query) = match uri.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (uri, None),
    };
    query.extend(uri_query);
    query.sort();
    let body = if has_body_members || !body.is_empty() {
        headers.push(("content-type".into(), "application/json".into()));
        serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
    } else {
        Vec::new()
    };
    Request { method: op.method.clone(), path, query: query.join("&"), headers, body }
}

fn push_query(query: &mut Vec<String>, name: &str, value: &Value) {
    match value {
        Value::Array(items) => items.iter().for_each(|i| push_query(query, name, i)),
        Value::Object(map) => map.iter().for_each(|(k, v)| push_query(query, k, v)),
        v => query.push(format!("{}={}", encode(name, UNRESERVED), encode(&scalar_text(v), UNRESERVED))),
    }
}

/// Body values: timestamps as epoch seconds, everything else as given.
fn serialize(model: &Model, shape: &str, value: Value) -> Value {
    let s = model.shape(shape);
    match (s.kind, value) {
        (Kind::Structure, Value::Object(map)) => Value::Object(
            map.into_iter()
                .map(|(k, v)| match s.member(&k) {
                    Some(m) => (m.location_name.clone().unwrap_or(k), serialize(model, &m.shape, v)),
                    None => (k, v),
                })
                .collect(),
        ),
        (Kind::List, Value::Array(items)) => {
            let member = s.member.clone().unwrap_or_default();
            Value::Array(items.into_iter().map(|i| serialize(model, &member, i)).collect())
        }
        (Kind::Map, Value::Object(map)) => {
            let value_shape = s.value.clone().unwrap_or_default();
            Value::Object(map.into_iter().map(|(k, v)| (k, serialize(model, &value_shape, v))).collect())
        }
        (Kind::Timestamp, Value::String(text)) => timestamp(&text),
        (Kind::Blob, Value::String(text)) => {
            use base64::Engine;
            Value::String(base64::engine::general_purpose::STANDARD.encode(text))
        }
        (_, v) => v,
    }
}

fn timestamp(text: &str) -> Value {
    if let Ok(n) = text.parse::<f64>() {
        return serde_json::json!(n);
    }
    let parsed =
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).or_else(|_| {
            time::OffsetDateTime::parse(&format!("{text}Z"), &time::format_description::well_known::Rfc3339)
        });
    match parsed {
        Ok(t) => {
            let secs = t.unix_timestamp_nanos() as f64 / 1e9;
            if secs.fract() == 0.0 {
                Value::from(secs as i64)
            } else {
                serde_json::json!(secs)
            }
        }
        Err(_) => Value::String(text.to_owned()),
    }
}
