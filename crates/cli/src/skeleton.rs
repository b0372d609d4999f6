//! `--generate-cli-skeleton`: botocore's `ArgumentGenerator`. Inputs get empty values (the
//! first enum value where botocore picks one at random), outputs get member names.

use crate::model::{Kind, Model};
use serde_json::{Map, Value};

/// The skeleton of a shape; `names` fills strings with member names (the output skeleton).
pub fn generate(model: &Model, shape: &str, names: bool) -> Value {
    let mut stack = Vec::new();
    build(model, shape, names, "", &mut stack)
}

fn build(model: &Model, shape_name: &str, names: bool, name: &str, stack: &mut Vec<String>) -> Value {
    stack.push(shape_name.to_owned());
    let shape = model.shape(shape_name);
    let v = match shape.kind {
        Kind::Structure => {
            // A shape met again inside itself is cut short, as botocore does.
            if stack.iter().filter(|s| *s == shape_name).count() > 1 {
                Value::Object(Map::new())
            } else {
                let mut map = Map::new();
                for m in &shape.members {
                    map.insert(m.name.clone(), build(model, &m.shape, names, &m.name, stack));
                }
                Value::Object(map)
            }
        }
        Kind::List => {
            let member = shape.member.clone().unwrap_or_default();
            let item_name = if names { member.clone() } else { String::new() };
            Value::Array(vec![build(model, &member, names, &item_name, stack)])
        }
        Kind::Map => {
            let value = shape.value.clone().unwrap_or_default();
            let mut map = Map::new();
            map.insert("KeyName".into(), build(model, &value, names, "", stack));
            Value::Object(map)
        }
        Kind::String if names => Value::String(name.to_owned()),
        Kind::String => Value::String(shape.enums.first().cloned().unwrap_or_default()),
        Kind::Integer | Kind::Long => Value::from(0),
        Kind::Float | Kind::Double => serde_json::json!(0.0),
        Kind::Boolean => Value::Bool(true),
        // datetime(1970, 1, 1) as the CLI's JSON encoder writes it.
        Kind::Timestamp => Value::String("1970-01-01T00:00:00".into()),
        Kind::Blob => Value::Null,
    };
    stack.pop();
    v
}

/// The placeholder timestamps as `str(datetime)` shows them (text and table output).
pub fn datetimes_as_str(v: &mut Value) {
    match v {
        Value::String(s) if s == "1970-01-01T00:00:00" => *s = "1970-01-01 00:00:00".into(),
        Value::Array(items) => items.iter_mut().for_each(datetimes_as_str),
        Value::Object(map) => map.values_mut().for_each(datetimes_as_str),
        _ => {}
    }
}
