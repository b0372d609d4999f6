//! The guard that `confab_wire::model::validate` enforces the whole vendored model.
//!
//! For every operation of both vendored models this test reads the model JSON itself (not the
//! validator's compiled form), builds a minimal valid input (every required member, recursively,
//! with values satisfying every constraint) and checks that it is accepted. Then, for every
//! member reachable from the input shape (to `WALK_DEPTH` levels) and every constraint on it,
//! it builds an input that violates exactly that constraint and checks that the validator
//! rejects it with exactly one violation naming the member path and the constraint. Every
//! (operation, member, constraint) that is not enforced is listed in the failure.
//!
//! A second test checks that the vendored models equal the shared botocore models in
//! `../shared/aws-models` (minus documentation) when that folder exists.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use confab_wire::model::{operation_errors, operations, validate, Api};
use serde_json::{json, Map, Value};

const PARTICIPANT_JSON: &str = include_str!("../models/connectparticipant.json");
const CONNECT_JSON: &str = include_str!("../models/connect-chat.json");

/// The connect operations kept by `tools/extract-models.py`.
const CONNECT_OPERATIONS: [&str; 14] = [
    "StartChatContact",
    "CreateParticipant",
    "StopContact",
    "DescribeContact",
    "StartContactStreaming",
    "StopContactStreaming",
    "CreatePersistentContactAssociation",
    "UpdateParticipantRoleConfig",
    "SendChatIntegrationEvent",
    "TransferContact",
    "StartOutboundChatContact",
    "CreateView",
    "CreateViewVersion",
    "UpdateParticipantAuthentication",
];

/// Member nesting explored below each operation input (recursive shapes such as
/// SegmentAttributeValue are unrolled this far).
const WALK_DEPTH: usize = 6;

/// Sample values for every pattern of the vendored models: (pattern, valid, invalid).
/// The valid sample must also satisfy the length limits of the shapes using the pattern.
const PATTERN_SAMPLES: &[(&str, &str, &str)] = &[
    (
        "[a-fA-F0-9]{8}(?:-[a-fA-F0-9]{4}){3}-[a-fA-F0-9]{12}",
        "0f5e6e1c-1d3a-4b9d-8c7e-123456789abc",
        "0f5e6e1c-1d3a-4b9d-8c7e",
    ),
    (
        "^([\\p{L}\\p{N}_.:\\/=+\\-@()']+[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@()']*)$",
        "Submit form",
        " leading space",
    ),
    ("^[a-zA-Z0-9\\_\\-:\\/$]+$", "arn:aws:connect/view$1", "no spaces allowed"),
    ("^(?!aws:)[a-zA-Z+-=._:/]+$", "department", "aws:reserved"),
    (
        "^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
        "0f5e6e1c-1d3a-4b9d-8c7e-123456789abc",
        "0F5E6E1C-1D3A-4B9D-8C7E-123456789ABC",
    ),
    // CreateView, CreateViewVersion, UpdateParticipantAuthentication
    ("^[\\x20-\\x21\\x23-\\x5B\\x5D-\\x7E]*$", "access_denied", "quote\"inside"),
    ("^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$", "team", "aws:team"),
    ("^[a-zA-Z0-9]$", "a", "ab"),
    (
        "^([\\p{L}\\p{N}_.:\\/=+\\-@,()']+[\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@,()']*)$",
        "An order form, v2",
        " leading space",
    ),
    ("^([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)$", "token-1", "semi;colon"),
    ("^[a-zA-Z0-9\\_\\-:\\/]+$", "instance-1", "no spaces allowed"),
];

/// A multi-byte character for length checks: limits count code points, not bytes.
const WIDE: char = 'é';

struct ModelJson {
    api: Api,
    model: Value,
}

fn parse(json: &str) -> Value {
    serde_json::from_str(json).expect("vendored model is JSON")
}

fn lower_first(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn join(path: &str, seg: &str) -> String {
    if path.is_empty() {
        seg.to_owned()
    } else {
        format!("{path}.{seg}")
    }
}

fn int_json(v: i128) -> Option<Value> {
    if let Ok(i) = i64::try_from(v) {
        Some(json!(i))
    } else {
        u64::try_from(v).ok().map(|u| json!(u))
    }
}

#[derive(Clone, Debug)]
enum Step {
    Member(String),
    /// the first list item
    Item,
    /// the value of the first map entry
    MapValue,
}

enum Leaf {
    Set(Value),
    Remove,
}

#[derive(Clone, Copy, PartialEq)]
enum Via {
    Member { required: bool },
    UnionMember,
    Item,
    MapValue,
}

struct Target {
    steps: Vec<Step>,
    path: String,
    shape: String,
    via: Via,
}

/// One violating input: what to put at the target, the constraint text the violation must
/// contain, and a label for the report.
struct Case {
    label: String,
    leaf: Leaf,
    /// `None`: the input must be accepted.
    expect: Option<String>,
    /// where the violation is reported (defaults to the target path)
    at: Option<String>,
}

impl Case {
    fn reject(label: impl Into<String>, value: Value, expect: impl Into<String>) -> Case {
        Case { label: label.into(), leaf: Leaf::Set(value), expect: Some(expect.into()), at: None }
    }
    fn accept(label: impl Into<String>, value: Value) -> Case {
        Case { label: label.into(), leaf: Leaf::Set(value), expect: None, at: None }
    }
}

#[derive(Default)]
struct Report {
    checks: usize,
    by_constraint: BTreeMap<String, usize>,
    failures: Vec<String>,
    skipped: Vec<String>,
}

impl ModelJson {
    fn shapes(&self) -> &Map<String, Value> {
        self.model["shapes"].as_object().expect("shapes")
    }

    fn shape(&self, name: &str) -> &Map<String, Value> {
        self.shapes().get(name).and_then(Value::as_object).unwrap_or_else(|| panic!("no shape {name}"))
    }

    fn ty(&self, name: &str) -> &str {
        self.shape(name)["type"].as_str().expect("type")
    }

    fn usize_of(&self, name: &str, key: &str) -> Option<usize> {
        self.shape(name).get(key).and_then(Value::as_u64).map(|n| n as usize)
    }

    fn target_of(&self, name: &str, key: &str) -> String {
        self.shape(name)[key]["shape"].as_str().expect("target").to_owned()
    }

    fn members(&self, name: &str) -> Vec<(String, String)> {
        self.shape(name)["members"]
            .as_object()
            .expect("members")
            .iter()
            .map(|(m, r)| (m.clone(), r["shape"].as_str().expect("member shape").to_owned()))
            .collect()
    }

    fn required(&self, name: &str) -> Vec<String> {
        self.shape(name)
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    fn is_union(&self, name: &str) -> bool {
        self.shape(name).get("union").and_then(Value::as_bool).unwrap_or(false)
    }

    fn pattern(&self, name: &str) -> Option<&str> {
        self.shape(name).get("pattern").and_then(Value::as_str)
    }

    fn enum_values(&self, name: &str) -> Option<Vec<String>> {
        self.shape(name)
            .get("enum")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
    }

    fn pattern_sample(pattern: &str) -> (&'static str, &'static str) {
        PATTERN_SAMPLES
            .iter()
            .find(|(p, _, _)| *p == pattern)
            .map(|(_, ok, bad)| (*ok, *bad))
            .unwrap_or_else(|| panic!("no sample in PATTERN_SAMPLES for pattern {pattern:?}"))
    }

    /// A valid string for a string shape; `variant` makes distinct values (map keys).
    fn valid_string(&self, name: &str, variant: usize) -> String {
        if let Some(values) = self.enum_values(name) {
            return values[variant % values.len()].clone();
        }
        let min = self.usize_of(name, "min").unwrap_or(0);
        let max = self.usize_of(name, "max").unwrap_or(usize::MAX);
        let base = match self.pattern(name) {
            Some(p) => Self::pattern_sample(p).0.to_owned(),
            None => "a".repeat(min.max(1).min(max)),
        };
        if variant == 0 || base.is_empty() {
            return base;
        }
        // vary the last character, and the one before it past 26 variants (maps of 50 tags)
        let mut chars: Vec<char> = base.chars().collect();
        let last = chars.len() - 1;
        chars[last] = char::from(b'a' + (variant % 26) as u8);
        if variant >= 26 && last > 0 {
            chars[last - 1] = char::from(b'a' + (variant / 26 % 26) as u8);
        }
        chars.into_iter().collect()
    }

    fn int_bounds(&self, name: &str) -> (i128, i128, bool, bool) {
        let (lo, hi) = match self.ty(name) {
            "integer" => (i128::from(i32::MIN), i128::from(i32::MAX)),
            _ => (i128::from(i64::MIN), i128::from(i64::MAX)),
        };
        let s = self.shape(name);
        let num = |k: &str| {
            s.get(k).map(|v| {
                v.as_i64().map(i128::from).or_else(|| v.as_u64().map(i128::from)).expect("integer bound")
            })
        };
        let min = num("min");
        let max = num("max");
        (min.unwrap_or(lo).max(lo), max.unwrap_or(hi).min(hi), min.is_some(), max.is_some())
    }

    /// A minimal valid value: required members only, one list item / map entry at least.
    fn valid(&self, name: &str, depth: usize) -> Value {
        assert!(depth < 40, "required members of {name} recurse without end");
        match self.ty(name) {
            "string" => Value::String(self.valid_string(name, 0)),
            "integer" | "long" => {
                let (min, max, _, _) = self.int_bounds(name);
                int_json(0i128.clamp(min, max)).expect("representable")
            }
            "float" | "double" => {
                let s = self.shape(name);
                let min = s.get("min").and_then(Value::as_f64).unwrap_or(f64::MIN);
                let max = s.get("max").and_then(Value::as_f64).unwrap_or(f64::MAX);
                json!(0f64.clamp(min, max))
            }
            "boolean" => json!(true),
            "timestamp" => json!(1_700_000_000),
            "blob" => json!("aGVsbG8="),
            "list" => {
                let n = self.list_len(name);
                let member = self.target_of(name, "member");
                Value::Array((0..n).map(|_| self.valid(&member, depth + 1)).collect())
            }
            "map" => {
                let n = self.list_len(name);
                Value::Object(self.map_entries(name, n, depth))
            }
            "structure" => {
                let mut obj = Map::new();
                if self.is_union(name) {
                    let (m, s) = self.members(name).into_iter().next().expect("union has members");
                    obj.insert(m, self.valid(&s, depth + 1));
                } else {
                    let members = self.members(name);
                    for r in self.required(name) {
                        let s = &members.iter().find(|(m, _)| *m == r).expect("required member").1;
                        obj.insert(r, self.valid(s, depth + 1));
                    }
                }
                Value::Object(obj)
            }
            other => panic!("shape {name}: type {other} not handled by the test"),
        }
    }

    fn list_len(&self, name: &str) -> usize {
        let min = self.usize_of(name, "min").unwrap_or(0);
        let max = self.usize_of(name, "max").unwrap_or(usize::MAX);
        min.max(1).min(max)
    }

    fn map_entries(&self, name: &str, n: usize, depth: usize) -> Map<String, Value> {
        let key = self.target_of(name, "key");
        let value = self.target_of(name, "value");
        let mut out = Map::new();
        let mut variant = 0;
        while out.len() < n {
            let k = self.valid_string(&key, variant);
            variant += 1;
            assert!(variant < 1000, "cannot make {n} distinct keys for {name}");
            out.insert(k, self.valid(&value, depth + 1));
        }
        out
    }

    fn first_key(&self, map: &str) -> String {
        self.valid_string(&self.target_of(map, "key"), 0)
    }

    /// The valid value of `name` with `leaf` applied at `steps`.
    fn build(&self, name: &str, steps: &[Step], leaf: &Leaf) -> Value {
        let Some((step, rest)) = steps.split_first() else {
            match leaf {
                Leaf::Set(v) => return v.clone(),
                Leaf::Remove => unreachable!("Remove applies to a member"),
            }
        };
        match step {
            Step::Member(m) => {
                let mut obj = if self.is_union(name) {
                    Map::new()
                } else {
                    match self.valid(name, 0) {
                        Value::Object(o) => o,
                        _ => unreachable!(),
                    }
                };
                if rest.is_empty() && matches!(leaf, Leaf::Remove) {
                    obj.remove(m);
                } else {
                    let shape = self.members(name).into_iter().find(|(n, _)| n == m).expect("member").1;
                    obj.insert(m.clone(), self.build(&shape, rest, leaf));
                }
                Value::Object(obj)
            }
            Step::Item => {
                let mut v = self.valid(name, 0);
                let member = self.target_of(name, "member");
                v.as_array_mut().expect("list")[0] = self.build(&member, rest, leaf);
                v
            }
            Step::MapValue => {
                let mut v = self.valid(name, 0);
                let value = self.target_of(name, "value");
                let key = self.first_key(name);
                v.as_object_mut().expect("map").insert(key, self.build(&value, rest, leaf));
                v
            }
        }
    }

    fn walk(&self, name: &str, steps: &[Step], path: &str, depth: usize, out: &mut Vec<Target>) {
        if depth >= WALK_DEPTH {
            return;
        }
        let push = |step: Step, path: String, shape: String, via: Via, out: &mut Vec<Target>| {
            let mut steps = steps.to_vec();
            steps.push(step);
            self.walk(&shape, &steps, &path, depth + 1, out);
            out.push(Target { steps, path, shape, via });
        };
        match self.ty(name) {
            "structure" => {
                let required = self.required(name);
                let union = self.is_union(name);
                for (m, s) in self.members(name) {
                    let via = if union {
                        Via::UnionMember
                    } else {
                        Via::Member { required: required.contains(&m) }
                    };
                    push(Step::Member(m.clone()), join(path, &lower_first(&m)), s, via, out);
                }
            }
            "list" => {
                let member = self.target_of(name, "member");
                push(Step::Item, join(path, "1.member"), member, Via::Item, out);
            }
            "map" => {
                let value = self.target_of(name, "value");
                push(Step::MapValue, join(path, &self.first_key(name)), value, Via::MapValue, out);
            }
            _ => {}
        }
    }

    /// Every constraint of the shape at a target, as violating (and boundary-valid) values.
    fn cases(&self, t: &Target) -> Vec<Case> {
        let name = t.shape.as_str();
        let mut cases = vec![Case::accept("valid value", self.valid(name, 0))];
        match t.via {
            Via::Member { required: true } => {
                cases.push(Case {
                    label: "required (absent)".into(),
                    leaf: Leaf::Remove,
                    expect: Some("Member must not be null".into()),
                    at: None,
                });
                cases.push(Case::reject("required (null)", Value::Null, "Member must not be null"));
            }
            Via::Item | Via::MapValue => {
                cases.push(Case::reject("not null", Value::Null, "Member must not be null"));
            }
            Via::Member { required: false } | Via::UnionMember => {}
        }
        match self.ty(name) {
            "string" => {
                cases.push(Case::reject("type", json!(12345), "Member must be a string"));
                cases.extend(self.string_cases(name));
            }
            "integer" | "long" => {
                cases.push(Case::reject("type (string)", json!("7"), "Member must be an integer"));
                cases.push(Case::reject("type (fraction)", json!(1.5), "Member must be an integer"));
                let (min, max, _, _) = self.int_bounds(name);
                if let Some(v) = int_json(min - 1) {
                    cases.push(Case::reject(
                        format!("min value {min}"),
                        v,
                        format!("Member must have value greater than or equal to {min}"),
                    ));
                }
                if let Some(v) = int_json(max + 1) {
                    cases.push(Case::reject(
                        format!("max value {max}"),
                        v,
                        format!("Member must have value less than or equal to {max}"),
                    ));
                }
                for (label, b) in [("min value boundary", min), ("max value boundary", max)] {
                    if let Some(v) = int_json(b) {
                        cases.push(Case::accept(label, v));
                    }
                }
            }
            "float" | "double" => {
                cases.push(Case::reject("type", json!(true), "Member must be a number"));
                let s = self.shape(name);
                if let Some(min) = s.get("min") {
                    let v = min.as_f64().expect("float min");
                    cases.push(Case::reject(
                        format!("min value {min}"),
                        json!(v - 1.0),
                        format!("Member must have value greater than or equal to {min}"),
                    ));
                    cases.push(Case::accept("min value boundary", json!(v)));
                }
                if let Some(max) = s.get("max") {
                    let v = max.as_f64().expect("float max");
                    cases.push(Case::reject(
                        format!("max value {max}"),
                        json!(v + 1.0),
                        format!("Member must have value less than or equal to {max}"),
                    ));
                    cases.push(Case::accept("max value boundary", json!(v)));
                }
            }
            "boolean" => cases.push(Case::reject("type", json!("true"), "Member must be a boolean")),
            "timestamp" => {
                cases.push(Case::reject("type", json!(true), "Member must be a timestamp"));
                cases.push(Case::accept("timestamp as string", json!("2024-01-01T00:00:00Z")));
            }
            "blob" => cases.push(Case::reject("type", json!(5), "Member must be a base64-encoded string")),
            "list" => {
                cases.push(Case::reject("type", json!("x"), "Member must be a list"));
                let member = self.target_of(name, "member");
                let item = self.valid(&member, 0);
                if let Some(min) = self.usize_of(name, "min").filter(|&m| m > 0) {
                    cases.push(Case::reject(
                        format!("list min {min}"),
                        Value::Array(vec![item.clone(); min - 1]),
                        format!("Member must have length greater than or equal to {min}"),
                    ));
                }
                if let Some(max) = self.usize_of(name, "max") {
                    cases.push(Case::reject(
                        format!("list max {max}"),
                        Value::Array(vec![item.clone(); max + 1]),
                        format!("Member must have length less than or equal to {max}"),
                    ));
                    cases.push(Case::accept("list max boundary", Value::Array(vec![item; max])));
                }
            }
            "map" => {
                cases.push(Case::reject("type", json!(["x"]), "Member must be a map"));
                if let Some(min) = self.usize_of(name, "min").filter(|&m| m > 0) {
                    cases.push(Case::reject(
                        format!("map min {min}"),
                        Value::Object(self.map_entries(name, min - 1, 0)),
                        format!("Member must have length greater than or equal to {min}"),
                    ));
                }
                if let Some(max) = self.usize_of(name, "max") {
                    cases.push(Case::reject(
                        format!("map max {max}"),
                        Value::Object(self.map_entries(name, max + 1, 0)),
                        format!("Member must have length less than or equal to {max}"),
                    ));
                    cases.push(Case::accept(
                        "map max boundary",
                        Value::Object(self.map_entries(name, max, 0)),
                    ));
                }
                // every constraint of the key shape, reported at the map's path
                let key = self.target_of(name, "key");
                let value = self.valid(&self.target_of(name, "value"), 0);
                for c in self.string_cases(&key) {
                    let (Leaf::Set(Value::String(k)), expect) = (&c.leaf, &c.expect) else {
                        continue;
                    };
                    let mut entry = Map::new();
                    entry.insert(k.clone(), value.clone());
                    cases.push(Case {
                        label: format!("map key {}", c.label),
                        leaf: Leaf::Set(Value::Object(entry)),
                        expect: expect.as_ref().map(|e| format!("Map keys must satisfy constraint: [{e}")),
                        at: None,
                    });
                }
            }
            "structure" => {
                cases.push(Case::reject("type", json!("x"), "Member must be an object"));
                if self.is_union(name) {
                    cases.push(Case::reject(
                        "union with no member set",
                        json!({}),
                        "Member must have exactly one member set",
                    ));
                    let members = self.members(name);
                    if members.len() >= 2 {
                        let mut two = Map::new();
                        for (m, s) in members.iter().take(2) {
                            two.insert(m.clone(), self.valid(s, 0));
                        }
                        cases.push(Case::reject(
                            "union with two members set",
                            Value::Object(two),
                            "Member must have exactly one member set",
                        ));
                    }
                }
            }
            other => panic!("type {other} not handled by the test"),
        }
        cases
    }

    /// Length, enum and pattern cases of a string shape (values only, no type case).
    fn string_cases(&self, name: &str) -> Vec<Case> {
        let mut cases = Vec::new();
        let min = self.usize_of(name, "min");
        let max = self.usize_of(name, "max");
        if let Some(values) = self.enum_values(name) {
            cases.push(Case::reject(
                "enum",
                json!("NOT_A_MODELED_VALUE"),
                format!("Member must satisfy enum value set: [{}]", values.join(", ")),
            ));
            for v in values {
                cases.push(Case::accept(format!("enum value {v}"), json!(v)));
            }
            return cases; // no botocore enum shape carries lengths
        }
        // lengths are built from the valid sample, padded or cut with a multi-byte character
        // (pattern samples are chosen so that this keeps them matching)
        let sample = self.valid_string(name, 0);
        let fill = if self.pattern(name).is_some() { sample.chars().last().unwrap_or('a') } else { WIDE };
        let of_len = |n: usize| -> String {
            let mut s: String =
                if self.pattern(name).is_some() { sample.chars().take(n).collect() } else { String::new() };
            while s.chars().count() < n {
                s.push(fill);
            }
            s
        };
        if let Some(min) = min.filter(|&m| m > 0) {
            cases.push(Case::reject(
                format!("min length {min}"),
                json!(of_len(min - 1)),
                format!("Member must have length greater than or equal to {min}"),
            ));
            cases.push(Case::accept("min length boundary", json!(of_len(min))));
        }
        if let Some(max) = max {
            cases.push(Case::reject(
                format!("max length {max}"),
                json!(of_len(max + 1)),
                format!("Member must have length less than or equal to {max}"),
            ));
            if max > 0 {
                cases.push(Case::accept("max length boundary", json!(of_len(max))));
            }
        }
        if let Some(p) = self.pattern(name) {
            let (_, bad) = Self::pattern_sample(p);
            cases.push(Case::reject(
                "pattern",
                json!(bad),
                format!("Member must satisfy regular expression pattern: {p}"),
            ));
        }
        cases
    }

    fn run(&self, report: &mut Report) {
        let ops = self.model["operations"].as_object().expect("operations");
        for (op, def) in ops {
            let Some(input) = def.get("input").and_then(|i| i["shape"].as_str()) else {
                continue;
            };
            // the minimal valid input
            let minimal = self.valid(input, 0);
            report.checks += 1;
            if let Err(e) = validate(self.api, op, &minimal) {
                report.failures.push(format!(
                    "{:?} {op}: minimal valid input {minimal} rejected: {}",
                    self.api, e.message
                ));
                continue;
            }
            let mut targets = Vec::new();
            self.walk(input, &[], "", 0, &mut targets);
            for t in &targets {
                for case in self.cases(t) {
                    self.check_case(op, input, t, &case, report);
                }
            }
        }
    }

    fn check_case(&self, op: &str, input: &str, t: &Target, case: &Case, report: &mut Report) {
        let value = self.build(input, &t.steps, &case.leaf);
        report.checks += 1;
        let where_ = format!("{:?} {op} '{}' ({}): {}", self.api, t.path, t.shape, case.label);
        let result = validate(self.api, op, &value);
        // A length at the model's limit may still break the shape's pattern: ViewContentSha256
        // (max 64, pattern `^[a-zA-Z0-9]$`) contradicts itself, and an empty string fails a
        // `+` pattern too. Pattern violations alongside a length case are the model's, not
        // the validator's.
        let pattern_only = |v: &String| v.contains("Member must satisfy regular expression pattern");
        let Some(expect) = &case.expect else {
            if let Err(e) = result {
                let boundary = case.label.ends_with("boundary");
                if !(boundary && e.violations.iter().all(pattern_only)) {
                    report.failures.push(format!("{where_}: valid input rejected: {}", e.message));
                }
            }
            return;
        };
        let kind = case
            .label
            .split(|c: char| c.is_ascii_digit() || c == '(')
            .next()
            .unwrap_or("")
            .trim_end_matches([' ', '-']);
        *report.by_constraint.entry(kind.to_owned()).or_default() += 1;
        let at = case.at.as_deref().unwrap_or(&t.path);
        let needle = format!(" at '{at}' failed to satisfy constraint: {expect}");
        match result {
            Ok(()) => report.failures.push(format!("{where_}: NOT ENFORCED (input accepted)")),
            Err(e) => {
                let named = e.violations.iter().any(|v| v.contains(&needle));
                let only_patterns = kind.contains("length")
                    && e.violations.iter().filter(|v| !v.contains(&needle)).all(pattern_only);
                if !named || (e.violations.len() != 1 && !only_patterns) {
                    report.failures.push(format!(
                        "{where_}: expected exactly one violation containing {needle:?}, got: {}",
                        e.message
                    ));
                }
                if !e.message.contains(&needle) {
                    report
                        .failures
                        .push(format!("{where_}: message does not name the violation: {}", e.message));
                }
            }
        }
    }

    /// Patterns of string shapes reachable from some operation input.
    fn input_patterns(&self) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<String> = self.model["operations"]
            .as_object()
            .expect("operations")
            .values()
            .filter_map(|o| o.get("input").and_then(|i| i["shape"].as_str()).map(str::to_owned))
            .collect();
        let mut out = BTreeSet::new();
        while let Some(n) = stack.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            if let Some(p) = self.pattern(&n) {
                out.insert(p.to_owned());
            }
            match self.ty(&n) {
                "structure" => stack.extend(self.members(&n).into_iter().map(|(_, s)| s)),
                "list" => stack.push(self.target_of(&n, "member")),
                "map" => {
                    stack.push(self.target_of(&n, "key"));
                    stack.push(self.target_of(&n, "value"));
                }
                _ => {}
            }
        }
        out
    }
}

fn models() -> [ModelJson; 2] {
    [
        ModelJson { api: Api::Participant, model: parse(PARTICIPANT_JSON) },
        ModelJson { api: Api::Connect, model: parse(CONNECT_JSON) },
    ]
}

#[test]
fn validator_enforces_every_constraint_of_the_model() {
    let mut report = Report::default();
    for m in &models() {
        m.run(&mut report);
    }
    eprintln!(
        "model walk: {} checks; violations exercised per constraint: {:?}",
        report.checks, report.by_constraint
    );
    for s in &report.skipped {
        eprintln!("skipped: {s}");
    }
    assert!(
        report.failures.is_empty(),
        "{} of {} checks failed (operation, member path, constraint):\n{}",
        report.failures.len(),
        report.checks,
        report.failures.join("\n")
    );
    // the walk must actually have covered the model
    assert!(report.checks > 1000, "only {} checks ran", report.checks);
    for kind in [
        "required",
        "not null",
        "type",
        "min length",
        "max length",
        "enum",
        "min value",
        "max value",
        "list min",
        "list max",
        "union with no member set",
        "union with two members set",
        "map key min length",
        "map key max length",
    ] {
        assert!(
            report.by_constraint.get(kind).copied().unwrap_or(0) > 0,
            "no {kind:?} case was exercised: {:?}",
            report.by_constraint
        );
    }
}

#[test]
fn operation_list_and_errors_match_the_model() {
    for m in &models() {
        let ops = m.model["operations"].as_object().expect("operations");
        let mut listed = operations(m.api);
        listed.sort_unstable();
        let mut want: Vec<&str> = ops.keys().map(String::as_str).collect();
        want.sort_unstable();
        assert_eq!(listed, want, "{:?}", m.api);
        for (op, def) in ops {
            let errors: Vec<&str> = def["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .map(|e| e["shape"].as_str().expect("error shape"))
                .collect();
            let got: Vec<&str> = operation_errors(m.api, op).iter().map(String::as_str).collect();
            assert_eq!(got, errors, "{:?} {op}", m.api);
            for e in &errors {
                assert!(m.shapes().contains_key(*e), "{op}: error shape {e} missing");
            }
        }
    }
    let mut connect = operations(Api::Connect);
    connect.sort_unstable();
    let mut want = CONNECT_OPERATIONS.to_vec();
    want.sort_unstable();
    assert_eq!(connect, want);
}

#[test]
fn every_pattern_has_samples() {
    for m in &models() {
        for (name, s) in m.shapes() {
            if let Some(p) = s.get("pattern").and_then(Value::as_str) {
                assert!(
                    PATTERN_SAMPLES.iter().any(|(q, _, _)| *q == p),
                    "{:?} shape {name}: add pattern {p:?} to PATTERN_SAMPLES",
                    m.api
                );
            }
        }
        eprintln!("{:?}: patterns reachable from inputs: {:?}", m.api, m.input_patterns());
    }
}

// ------------------------------------------------------------------ vendored == shared

/// Removes `documentation` keys the way `tools/extract-models.py` does (everywhere except
/// as member names).
fn strip_docs(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .filter(|(k, _)| k.as_str() != "documentation")
                .map(|(k, v)| {
                    let v = if k == "members" {
                        match v {
                            Value::Object(members) => Value::Object(
                                members.iter().map(|(n, m)| (n.clone(), strip_docs(m))).collect(),
                            ),
                            other => strip_docs(other),
                        }
                    } else {
                        strip_docs(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_docs).collect()),
        other => other.clone(),
    }
}

fn closure(model: &Value, ops: &[&str]) -> BTreeSet<String> {
    let shapes = &model["shapes"];
    let mut stack = Vec::new();
    for op in ops {
        let def = &model["operations"][*op];
        for k in ["input", "output"] {
            if let Some(s) = def.get(k).and_then(|r| r["shape"].as_str()) {
                stack.push(s.to_owned());
            }
        }
        for e in def["errors"].as_array().into_iter().flatten() {
            stack.push(e["shape"].as_str().expect("error").to_owned());
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        let s = &shapes[&n];
        assert!(s.is_object(), "shape {n} missing");
        for m in s.get("members").and_then(Value::as_object).into_iter().flatten() {
            stack.push(m.1["shape"].as_str().expect("member").to_owned());
        }
        for k in ["member", "key", "value"] {
            if let Some(t) = s.get(k).and_then(|r| r["shape"].as_str()) {
                stack.push(t.to_owned());
            }
        }
    }
    seen
}

#[test]
fn vendored_models_equal_shared_models() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/aws-models");
    if !shared.is_dir() {
        eprintln!("note: {} is absent; vendored models not compared with the shared ones", shared.display());
        return;
    }
    let read = |f: &str| -> Value {
        let text = std::fs::read_to_string(shared.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{f}: {e}"))
    };

    // participant: the whole model
    let vendored = parse(PARTICIPANT_JSON);
    let full = strip_docs(&read("connectparticipant.json"));
    assert!(!PARTICIPANT_JSON.contains("\"documentation\""));
    assert_eq!(vendored["metadata"], full["metadata"]);
    let mut diffs = Vec::new();
    for section in ["operations", "shapes"] {
        let (v, f) =
            (vendored[section].as_object().expect("vendored"), full[section].as_object().expect("shared"));
        for (name, def) in f {
            if v.get(name) != Some(def) {
                diffs.push(format!("participant {section} {name} differs or is missing"));
            }
        }
        for name in v.keys() {
            if !f.contains_key(name) {
                diffs.push(format!("participant {section} {name} is not in the shared model"));
            }
        }
    }
    assert_eq!(vendored, full, "participant model differs: {diffs:?}");

    // connect: the kept operations and the closure of their shapes
    let vendored = parse(CONNECT_JSON);
    let full_raw = read("connect.json");
    assert!(!CONNECT_JSON.contains("\"documentation\""));
    assert_eq!(vendored["metadata"], full_raw["metadata"]);
    let v_ops = vendored["operations"].as_object().expect("operations");
    let mut names: Vec<&str> = v_ops.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut want = CONNECT_OPERATIONS.to_vec();
    want.sort_unstable();
    assert_eq!(names, want);
    let mut diffs = Vec::new();
    for op in CONNECT_OPERATIONS {
        if v_ops.get(op) != Some(&strip_docs(&full_raw["operations"][op])) {
            diffs.push(format!("operation {op}"));
        }
    }
    let wanted = closure(&full_raw, &CONNECT_OPERATIONS);
    let v_shapes = vendored["shapes"].as_object().expect("shapes");
    let have: BTreeSet<String> = v_shapes.keys().cloned().collect();
    for missing in wanted.difference(&have) {
        diffs.push(format!("shape {missing} missing from the vendored model"));
    }
    for extra in have.difference(&wanted) {
        diffs.push(format!("shape {extra} is not in the closure of the kept operations"));
    }
    for name in wanted.intersection(&have) {
        if v_shapes[name] != strip_docs(&full_raw["shapes"][name]) {
            diffs.push(format!("shape {name} differs"));
        }
    }
    assert!(
        diffs.is_empty(),
        "vendored connect-chat.json differs from ../shared/aws-models/connect.json (re-run tools/extract-models.py):\n{}",
        diffs.join("\n")
    );
}
