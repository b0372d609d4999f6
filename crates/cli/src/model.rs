//! The botocore service models, read once: operations, shapes and members, and the CLI names
//! derived from them. Everything the commands do (options, skeletons, serialization, output
//! parsing) is driven by these tables; no operation is written by hand.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::LazyLock;

// The same vendored models the server validates against (written by tools/extract-models.py).
static PARTICIPANT_JSON: &str = include_str!("../../wire/models/connectparticipant.json");
static CONNECT_JSON: &str = include_str!("../../wire/models/connect-chat.json");

static PARTICIPANT: LazyLock<Model> = LazyLock::new(|| Model::parse("connectparticipant", PARTICIPANT_JSON));
static CONNECT: LazyLock<Model> = LazyLock::new(|| Model::parse("connect", CONNECT_JSON));

/// The model of a CLI service name (`connectparticipant`, `connect`).
pub fn service(name: &str) -> Option<&'static Model> {
    match name {
        "connectparticipant" => Some(&PARTICIPANT),
        "connect" => Some(&CONNECT),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Timestamp,
    Blob,
}

impl Kind {
    fn parse(s: &str) -> Kind {
        match s {
            "structure" => Kind::Structure,
            "list" => Kind::List,
            "map" => Kind::Map,
            "integer" => Kind::Integer,
            "long" => Kind::Long,
            "float" => Kind::Float,
            "double" => Kind::Double,
            "boolean" => Kind::Boolean,
            "timestamp" => Kind::Timestamp,
            "blob" => Kind::Blob,
            _ => Kind::String,
        }
    }

    pub fn is_scalar(self) -> bool {
        !matches!(self, Kind::Structure | Kind::List | Kind::Map)
    }
}

/// A structure member: its shape and where it goes on the wire.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub shape: String,
    pub location: Option<String>,
    pub location_name: Option<String>,
    pub idempotency_token: bool,
}

#[derive(Debug, Clone)]
pub struct Shape {
    pub name: String,
    pub kind: Kind,
    pub members: Vec<Member>,
    pub required: Vec<String>,
    pub member: Option<String>,
    pub key: Option<String>,
    pub value: Option<String>,
    pub enums: Vec<String>,
    /// As written in the model (an integer or a float, which errors show as Python would).
    pub min: Option<serde_json::Number>,
    pub union: bool,
    pub document: bool,
    pub timestamp_format: Option<String>,
}

impl Shape {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub method: String,
    pub request_uri: String,
    pub input: Option<String>,
    pub output: Option<String>,
}

impl Operation {
    /// `CreateParticipantConnection` → `create-participant-connection`.
    pub fn cli_name(&self) -> String {
        xform_name(&self.name)
    }
}

#[derive(Debug)]
pub struct Model {
    /// The CLI's name for the service (`connectparticipant`).
    pub cli_name: &'static str,
    pub signing_name: String,
    pub operations: Vec<Operation>,
    shapes: HashMap<String, Shape>,
}

impl Model {
    fn parse(cli_name: &'static str, json: &str) -> Model {
        let v: Value = serde_json::from_str(json).expect("vendored model is JSON");
        let signing_name = v["metadata"]["signingName"].as_str().unwrap_or(cli_name).to_owned();
        let operations = v["operations"]
            .as_object()
            .map(|ops| ops.values().map(parse_operation).collect())
            .unwrap_or_default();
        let shapes = v["shapes"]
            .as_object()
            .map(|s| s.iter().map(|(k, v)| (k.clone(), parse_shape(k, v))).collect())
            .unwrap_or_default();
        Model { cli_name, signing_name, operations, shapes }
    }

    pub fn shape(&self, name: &str) -> &Shape {
        self.shapes.get(name).unwrap_or_else(|| panic!("shape {name} is missing from the model"))
    }

    /// The operation with this CLI name (`send-message`).
    pub fn operation_by_cli_name(&self, cli_name: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.cli_name() == cli_name)
    }

    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.iter().find(|o| o.name == name)
    }

    /// The CLI operation names, sorted (as argparse lists the choices).
    pub fn cli_operation_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.operations.iter().map(Operation::cli_name).collect();
        names.sort();
        names
    }
}

fn str_of(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn parse_operation(v: &Value) -> Operation {
    Operation {
        name: str_of(v, "name").unwrap_or_default(),
        method: str_of(&v["http"], "method").unwrap_or_else(|| "POST".into()),
        request_uri: str_of(&v["http"], "requestUri").unwrap_or_else(|| "/".into()),
        input: v.get("input").and_then(|i| str_of(i, "shape")),
        output: v.get("output").and_then(|o| str_of(o, "shape")),
    }
}

fn parse_member(name: &str, v: &Value) -> Member {
    Member {
        name: name.to_owned(),
        shape: str_of(v, "shape").unwrap_or_default(),
        location: str_of(v, "location"),
        location_name: str_of(v, "locationName"),
        idempotency_token: v.get("idempotencyToken").and_then(Value::as_bool).unwrap_or(false),
    }
}

fn ref_shape(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(|r| str_of(r, "shape"))
}

fn parse_shape(name: &str, v: &Value) -> Shape {
    let empty = Map::new();
    let members = v.get("members").and_then(Value::as_object).unwrap_or(&empty);
    let strings = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    Shape {
        name: name.to_owned(),
        kind: Kind::parse(v["type"].as_str().unwrap_or("string")),
        members: members.iter().map(|(k, m)| parse_member(k, m)).collect(),
        required: strings("required"),
        member: ref_shape(v, "member"),
        key: ref_shape(v, "key"),
        value: ref_shape(v, "value"),
        enums: strings("enum"),
        min: v.get("min").and_then(Value::as_number).cloned(),
        union: v.get("union").and_then(Value::as_bool).unwrap_or(false),
        document: v.get("document").and_then(Value::as_bool).unwrap_or(false),
        timestamp_format: str_of(v, "timestampFormat"),
    }
}

/// botocore's `xform_name(name, '-')`: CamelCase to kebab-case, keeping acronyms together
/// (`ChatDurationInMinutes` → `chat-duration-in-minutes`, `URLExpiryInSeconds` →
/// `url-expiry-in-seconds`).
pub fn xform_name(name: &str) -> String {
    static FIRST: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new("(.)([A-Z][a-z]+)").expect("regex"));
    static END: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new("([a-z0-9])([A-Z])").expect("regex"));
    static SPECIAL: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new("[A-Z]{2,}s$").expect("regex"));
    if name.contains('-') {
        return name.to_owned();
    }
    let mut name = name.to_owned();
    // A trailing plural acronym ("ARNs") stays one word.
    if let Some(m) = SPECIAL.find(&name) {
        let matched = m.as_str().to_lowercase();
        name = format!("{}-{matched}", &name[..m.start()]);
    }
    let s1 = FIRST.replace_all(&name, "${1}-${2}").into_owned();
    END.replace_all(&s1, "${1}-${2}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_botocore() {
        assert_eq!(xform_name("CreateParticipantConnection"), "create-participant-connection");
        assert_eq!(xform_name("URLExpiryInSeconds"), "url-expiry-in-seconds");
        assert_eq!(xform_name("ChatDurationInMinutes"), "chat-duration-in-minutes");
        assert_eq!(xform_name("ClientToken"), "client-token");
        assert_eq!(xform_name("Type"), "type");
        assert_eq!(xform_name("ContactId"), "contact-id");
    }

    #[test]
    fn models_load() {
        assert_eq!(service("connectparticipant").expect("model").operations.len(), 11);
        assert!(service("connect").expect("model").operations.len() >= 11);
    }
}
