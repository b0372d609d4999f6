//! Compact in-memory form of a botocore service model, built once from the vendored JSON.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};

use super::pattern::Pattern;

pub(crate) type ShapeId = usize;

#[derive(Debug)]
pub(crate) struct Model {
    pub(crate) shapes: Vec<Shape>,
    /// Distinct compiled patterns; `StringRules::pattern` indexes into it.
    pub(crate) patterns: Vec<Pattern>,
    pub(crate) operations: Vec<Operation>,
    op_index: HashMap<String, usize>,
    #[cfg_attr(not(test), allow(dead_code))]
    shape_index: HashMap<String, ShapeId>,
}

#[derive(Debug)]
pub(crate) struct Operation {
    pub(crate) name: String,
    pub(crate) input: Option<ShapeId>,
    pub(crate) errors: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Shape {
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) name: String,
    pub(crate) sensitive: bool,
    pub(crate) kind: Kind,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Structure(Structure),
    String(StringRules),
    /// integer, long, short, byte. Bounds are the model's `min`/`max` intersected with the
    /// range of the type.
    Integer(Bound<i128>, Bound<i128>),
    /// float, double.
    Float(Option<Bound<f64>>, Option<Bound<f64>>),
    Boolean,
    Timestamp,
    Blob,
    List {
        member: ShapeId,
        min: Option<usize>,
        max: Option<usize>,
    },
    Map {
        key: ShapeId,
        value: ShapeId,
        min: Option<usize>,
        max: Option<usize>,
    },
}

/// A numeric bound and its text as the model (or the type) spells it.
#[derive(Debug)]
pub(crate) struct Bound<T> {
    pub(crate) value: T,
    pub(crate) text: String,
}

#[derive(Debug)]
pub(crate) struct Structure {
    pub(crate) members: Vec<Member>,
    pub(crate) union: bool,
}

#[derive(Debug)]
pub(crate) struct Member {
    /// Model member name (PascalCase), the key looked up in the input object.
    pub(crate) name: String,
    /// AWS-style path segment: the name with its first character lower-cased.
    pub(crate) path_name: String,
    pub(crate) shape: ShapeId,
    pub(crate) required: bool,
}

#[derive(Debug)]
pub(crate) struct StringRules {
    pub(crate) min: Option<usize>,
    pub(crate) max: Option<usize>,
    pub(crate) pattern: Option<usize>,
    pub(crate) enum_values: Option<Vec<String>>,
    /// `[A, B, C]`, rendered once.
    pub(crate) enum_text: String,
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn usize_field(obj: &Map<String, Value>, key: &str, shape: &str) -> Result<Option<usize>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("shape {shape}: `{key}` is not a non-negative integer")),
    }
}

fn number_text(n: &Number) -> String {
    n.to_string()
}

fn int_bound(
    obj: &Map<String, Value>,
    key: &str,
    shape: &str,
    type_limit: i128,
    pick: fn(i128, i128) -> i128,
) -> Result<Bound<i128>, String> {
    let type_bound = Bound { value: type_limit, text: type_limit.to_string() };
    let Some(v) = obj.get(key) else {
        return Ok(type_bound);
    };
    let n = v.as_number().ok_or_else(|| format!("shape {shape}: `{key}` is not a number"))?;
    let value = if let Some(i) = n.as_i64() {
        i128::from(i)
    } else if let Some(u) = n.as_u64() {
        i128::from(u)
    } else {
        // a fractional bound on an integer shape: round towards the admissible side
        let f = n.as_f64().unwrap_or(0.0);
        (if key == "min" { f.ceil() } else { f.floor() }) as i128
    };
    // the tighter of the model bound and the type bound
    let tight = pick(value, type_limit);
    if tight == type_limit && tight != value {
        Ok(type_bound)
    } else {
        Ok(Bound { value, text: number_text(n) })
    }
}

fn float_bound(obj: &Map<String, Value>, key: &str, shape: &str) -> Result<Option<Bound<f64>>, String> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => {
            let n = v.as_number().ok_or_else(|| format!("shape {shape}: `{key}` is not a number"))?;
            Ok(Some(Bound { value: n.as_f64().unwrap_or(0.0), text: number_text(n) }))
        }
    }
}

fn target(
    refv: Option<&Value>,
    what: &str,
    shape: &str,
    index: &HashMap<String, ShapeId>,
) -> Result<ShapeId, String> {
    let name = refv
        .and_then(|r| r.get("shape"))
        .and_then(Value::as_str)
        .ok_or_else(|| format!("shape {shape}: `{what}` has no target shape"))?;
    index.get(name).copied().ok_or_else(|| format!("shape {shape}: `{what}` targets unknown shape {name}"))
}

impl Model {
    /// Builds the compact form from a botocore JSON model.
    pub(crate) fn from_json(model: &Value) -> Result<Model, String> {
        let shapes_json =
            model.get("shapes").and_then(Value::as_object).ok_or("model has no `shapes` object")?;
        let ops_json =
            model.get("operations").and_then(Value::as_object).ok_or("model has no `operations` object")?;

        let shape_index: HashMap<String, ShapeId> =
            shapes_json.keys().enumerate().map(|(i, name)| (name.clone(), i)).collect();

        let mut pattern_index: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut shapes = Vec::with_capacity(shapes_json.len());

        for (name, shape) in shapes_json {
            let obj = shape.as_object().ok_or_else(|| format!("shape {name} is not an object"))?;
            let ty =
                obj.get("type").and_then(Value::as_str).ok_or_else(|| format!("shape {name} has no type"))?;
            let kind = match ty {
                "structure" => {
                    let members_json = obj
                        .get("members")
                        .and_then(Value::as_object)
                        .ok_or_else(|| format!("shape {name}: structure without members"))?;
                    let required: Vec<&str> = match obj.get("required") {
                        None => Vec::new(),
                        Some(r) => r
                            .as_array()
                            .ok_or_else(|| format!("shape {name}: `required` is not a list"))?
                            .iter()
                            .map(|v| {
                                v.as_str()
                                    .ok_or_else(|| format!("shape {name}: `required` item is not a string"))
                            })
                            .collect::<Result<_, _>>()?,
                    };
                    for r in &required {
                        if !members_json.contains_key(*r) {
                            return Err(format!("shape {name}: required member {r} is not a member"));
                        }
                    }
                    let members = members_json
                        .iter()
                        .map(|(mname, mref)| {
                            Ok(Member {
                                name: mname.clone(),
                                path_name: lower_first(mname),
                                shape: target(Some(mref), mname, name, &shape_index)?,
                                required: required.contains(&mname.as_str()),
                            })
                        })
                        .collect::<Result<Vec<_>, String>>()?;
                    Kind::Structure(Structure {
                        members,
                        union: obj.get("union").and_then(Value::as_bool).unwrap_or(false),
                    })
                }
                "string" => {
                    let pattern = match obj.get("pattern") {
                        None => None,
                        Some(p) => {
                            let p = p
                                .as_str()
                                .ok_or_else(|| format!("shape {name}: `pattern` is not a string"))?;
                            Some(match pattern_index.get(p) {
                                Some(&i) => i,
                                None => {
                                    patterns.push(Pattern::compile(p));
                                    pattern_index.insert(p.to_owned(), patterns.len() - 1);
                                    patterns.len() - 1
                                }
                            })
                        }
                    };
                    let enum_values = match obj.get("enum") {
                        None => None,
                        Some(e) => Some(
                            e.as_array()
                                .ok_or_else(|| format!("shape {name}: `enum` is not a list"))?
                                .iter()
                                .map(|v| {
                                    v.as_str()
                                        .map(str::to_owned)
                                        .ok_or_else(|| format!("shape {name}: enum value is not a string"))
                                })
                                .collect::<Result<Vec<_>, _>>()?,
                        ),
                    };
                    let enum_text =
                        enum_values.as_ref().map(|v| format!("[{}]", v.join(", "))).unwrap_or_default();
                    Kind::String(StringRules {
                        min: usize_field(obj, "min", name)?,
                        max: usize_field(obj, "max", name)?,
                        pattern,
                        enum_values,
                        enum_text,
                    })
                }
                "integer" | "long" | "short" | "byte" => {
                    let (lo, hi) = match ty {
                        "integer" => (i128::from(i32::MIN), i128::from(i32::MAX)),
                        "long" => (i128::from(i64::MIN), i128::from(i64::MAX)),
                        "short" => (i128::from(i16::MIN), i128::from(i16::MAX)),
                        _ => (i128::from(i8::MIN), i128::from(i8::MAX)),
                    };
                    Kind::Integer(
                        int_bound(obj, "min", name, lo, i128::max)?,
                        int_bound(obj, "max", name, hi, i128::min)?,
                    )
                }
                "float" | "double" => {
                    Kind::Float(float_bound(obj, "min", name)?, float_bound(obj, "max", name)?)
                }
                "boolean" => Kind::Boolean,
                "timestamp" => Kind::Timestamp,
                "blob" => Kind::Blob,
                "list" => Kind::List {
                    member: target(obj.get("member"), "member", name, &shape_index)?,
                    min: usize_field(obj, "min", name)?,
                    max: usize_field(obj, "max", name)?,
                },
                "map" => Kind::Map {
                    key: target(obj.get("key"), "key", name, &shape_index)?,
                    value: target(obj.get("value"), "value", name, &shape_index)?,
                    min: usize_field(obj, "min", name)?,
                    max: usize_field(obj, "max", name)?,
                },
                other => return Err(format!("shape {name}: unsupported type {other}")),
            };
            shapes.push(Shape {
                name: name.clone(),
                sensitive: obj.get("sensitive").and_then(Value::as_bool).unwrap_or(false),
                kind,
            });
        }

        let mut operations = Vec::with_capacity(ops_json.len());
        for (name, op) in ops_json {
            let input = match op.get("input") {
                None => None,
                Some(r) => Some(target(Some(r), "input", name, &shape_index)?),
            };
            let errors = match op.get("errors") {
                None => Vec::new(),
                Some(e) => e
                    .as_array()
                    .ok_or_else(|| format!("operation {name}: `errors` is not a list"))?
                    .iter()
                    .map(|r| {
                        r.get("shape")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .ok_or_else(|| format!("operation {name}: error without shape"))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            };
            operations.push(Operation { name: name.clone(), input, errors });
        }
        let op_index = operations.iter().enumerate().map(|(i, o)| (o.name.clone(), i)).collect();

        Ok(Model { shapes, patterns, operations, op_index, shape_index })
    }

    pub(crate) fn operation(&self, name: &str) -> Option<&Operation> {
        self.op_index.get(name).map(|&i| &self.operations[i])
    }

    #[cfg(test)]
    pub(crate) fn shape_id(&self, name: &str) -> Option<ShapeId> {
        self.shape_index.get(name).copied()
    }

    #[cfg(test)]
    /// Patterns of the model that are not enforced because `regex` cannot compile them,
    /// with the shapes using them.
    pub(crate) fn skipped_patterns(&self) -> Vec<(String, Vec<String>)> {
        self.patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| p.is_skipped())
            .map(|(i, p)| {
                let users = self
                    .shapes
                    .iter()
                    .filter(|s| matches!(&s.kind, Kind::String(r) if r.pattern == Some(i)))
                    .map(|s| s.name.clone())
                    .collect();
                (p.source.clone(), users)
            })
            .collect()
    }
}
