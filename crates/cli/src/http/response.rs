//! An HTTP answer to what the CLI prints: botocore's rest-json parser. Members in model
//! order, unknown members and nulls dropped, floats as floats, timestamps as they came
//! (`cli_timestamp_format = wire`, the v1 default) or ISO 8601; errors to code and message.

use crate::model::{Kind, Model, Operation};
use serde_json::{Map, Value};

pub struct Response {
    pub status: u16,
    /// Lower-case names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The error code and message of an error answer.
pub fn error_of(resp: &Response) -> (String, String) {
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    let body: Map<String, Value> = if text.trim().is_empty() {
        Map::new()
    } else {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            _ => {
                let mut m = Map::new();
                m.insert("message".into(), Value::String(text.clone()));
                m
            }
        }
    };
    let get = |k: &str| body.get(k).map(crate::output::py::str_of);
    let message = get("message").or_else(|| get("Message")).unwrap_or_default();
    let mut code = get("__type").unwrap_or_else(|| resp.status.to_string());
    if let Some(header) = resp.header("x-amzn-errortype") {
        code = header.to_owned();
    } else if let Some(c) = get("code").or_else(|| get("Code")) {
        code = c;
    }
    let code = code.split(':').next().unwrap_or_default();
    let code = code.rsplit('#').next().unwrap_or_default().to_owned();
    (code, message)
}

/// The parsed output of a successful answer.
pub fn parse(model: &Model, op: &Operation, resp: &Response, iso: bool) -> Value {
    let Some(output) = &op.output else { return Value::Object(Map::new()) };
    let shape = model.shape(output);
    let body: Value = if resp.body.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(&resp.body).unwrap_or(Value::Object(Map::new()))
    };
    let mut out = Map::new();
    for m in &shape.members {
        let name = m.location_name.clone().unwrap_or_else(|| m.name.clone());
        let value = match m.location.as_deref() {
            Some("header") => resp.header(&name.to_lowercase()).map(|h| header_value(model, &m.shape, h)),
            Some("statusCode") => Some(Value::from(resp.status)),
            _ => body.get(&name).filter(|v| !v.is_null()).map(|v| parse_value(model, &m.shape, v, iso)),
        };
        if let Some(v) = value {
            out.insert(m.name.clone(), v);
        }
    }
    Value::Object(out)
}

fn header_value(model: &Model, shape: &str, text: &str) -> Value {
    match model.shape(shape).kind {
        Kind::Integer | Kind::Long => {
            text.parse::<i64>().map(Value::from).unwrap_or(Value::String(text.into()))
        }
        Kind::Boolean => Value::Bool(text.eq_ignore_ascii_case("true")),
        _ => Value::String(text.to_owned()),
    }
}

fn parse_value(model: &Model, shape: &str, v: &Value, iso: bool) -> Value {
    let s = model.shape(shape);
    match (s.kind, v) {
        (Kind::Structure, Value::Object(map)) if !s.document => {
            let mut out = Map::new();
            for m in &s.members {
                let name = m.location_name.clone().unwrap_or_else(|| m.name.clone());
                if let Some(raw) = map.get(&name).filter(|r| !r.is_null()) {
                    out.insert(m.name.clone(), parse_value(model, &m.shape, raw, iso));
                }
            }
            Value::Object(out)
        }
        (Kind::List, Value::Array(items)) => {
            let member = s.member.clone().unwrap_or_default();
            Value::Array(items.iter().map(|i| parse_value(model, &member, i, iso)).collect())
        }
        (Kind::Map, Value::Object(map)) => {
            let value_shape = s.value.clone().unwrap_or_default();
            Value::Object(
                map.iter().map(|(k, i)| (k.clone(), parse_value(model, &value_shape, i, iso))).collect(),
            )
        }
        (Kind::Float | Kind::Double, Value::Number(n)) => {
            serde_json::Number::from_f64(n.as_f64().unwrap_or(0.0)).map(Value::Number).unwrap_or(Value::Null)
        }
        (Kind::Timestamp, raw) if iso => iso_timestamp(raw),
        (_, other) => other.clone(),
    }
}

/// `datetime.isoformat()` of a timestamp in UTC: `2026-11-22T10:50:21.304000+00:00`.
fn iso_timestamp(raw: &Value) -> Value {
    let parsed = match raw {
        Value::Number(n) => {
            let secs = n.as_f64().unwrap_or(0.0);
            time::OffsetDateTime::from_unix_timestamp_nanos((secs * 1e9).round() as i128).ok()
        }
        Value::String(s) => {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
        }
        _ => None,
    };
    let Some(t) = parsed else { return raw.clone() };
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.microsecond();
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let frac = if micros > 0 { format!(".{micros:06}") } else { String::new() };
    Value::String(format!("{base}{frac}+00:00"))
}
