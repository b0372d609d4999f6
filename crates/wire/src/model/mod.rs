//! Model-driven input validation (SPEC §1.9): the server checks every constraint of the
//! botocore service models, not just what the SDKs check client-side.
//!
//! The vendored models (`crates/wire/models/*.json`, written by `tools/extract-models.py`)
//! are embedded with `include_str!` and compiled once, on first use, into a compact form
//! (shape table indexed by number, pre-compiled patterns, pre-rendered enum sets). A
//! validation walks the input against it and allocates only when it finds a violation.
//!
//! Rules (Smithy / botocore semantics):
//! * structure: `required` members present and not null; unknown members ignored; a union
//!   (`"union": true`) must have exactly one non-null member set.
//! * string: `min`/`max` length in Unicode code points, `pattern` (unanchored), `enum`.
//! * integer/long: a JSON integer within `min`/`max` and the type's range.
//! * float/double: a JSON number (or `"NaN"`, `"Infinity"`, `"-Infinity"`) within `min`/`max`.
//! * boolean: JSON bool; timestamp: number or string; blob: string.
//! * list: item count `min`/`max`, items (not null) validated at `path.N.member` (1-based).
//! * map: entry count `min`/`max`; keys reported at the map's path as
//!   `Map keys must satisfy constraint: [...]`; values validated at `path.<key>`.
//!
//! Paths are AWS style: member names with their first character lower-cased
//! (`StartPosition` → `startPosition`, `URLExpiryInSeconds` → `uRLExpiryInSeconds`),
//! joined by `.`. Values are shown as `Value 'x'` (cut to 64 characters), `Value null`
//! for a missing member, and omitted (`Value at '…'`) for objects and for `sensitive`
//! shapes and everything below them.
//!
//! At most 100 violations are collected (the walk stops there), and the
//! message is cut to 2000 characters (the `Reason` shape's limit).

mod pattern;
mod schema;
mod validate;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::LazyLock;

use schema::Model;

/// The two services confab serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// Amazon Connect Participant Service (`connectparticipant`, 2018-09-07).
    Participant,
    /// The chat subset of the Amazon Connect API (`connect`, 2017-08-08).
    Connect,
}

/// Why an input was rejected: `message` is the full AWS-style text, e.g.
/// "1 validation error detected: Value 'SIDEWAYS' at 'scanDirection' failed to satisfy constraint: Member must satisfy enum value set: [FORWARD, BACKWARD]"
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    pub violations: Vec<String>,
}

/// Longest message produced (the `Reason` shape of ValidationException allows 2000).
const MESSAGE_MAX_CHARS: usize = 2000;

impl Invalid {
    fn from_violations(violations: Vec<String>) -> Invalid {
        let n = violations.len();
        let mut message = format!(
            "{n} validation error{} detected: {}",
            if n == 1 { "" } else { "s" },
            violations.join("; ")
        );
        if let Some((cut, _)) = message.char_indices().nth(MESSAGE_MAX_CHARS - 3) {
            message.truncate(cut);
            message.push_str("...");
        }
        Invalid { message, violations }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Invalid {}

static PARTICIPANT_JSON: &str = include_str!("../../models/connectparticipant.json");
static CONNECT_JSON: &str = include_str!("../../models/connect-chat.json");

fn load(name: &str, json: &str) -> Model {
    let value: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("vendored model {name} is not JSON: {e}"));
    Model::from_json(&value).unwrap_or_else(|e| panic!("vendored model {name} is invalid: {e}"))
}

static PARTICIPANT: LazyLock<Model> = LazyLock::new(|| load("connectparticipant.json", PARTICIPANT_JSON));
static CONNECT: LazyLock<Model> = LazyLock::new(|| load("connect-chat.json", CONNECT_JSON));

fn model(api: Api) -> &'static Model {
    match api {
        Api::Participant => &PARTICIPANT,
        Api::Connect => &CONNECT,
    }
}

fn check(model: &Model, operation: &str, input: &serde_json::Value) -> Result<(), Invalid> {
    let Some(op) = model.operation(operation) else {
        return Err(Invalid::from_violations(vec![format!(
            "Operation '{operation}' is not part of the model"
        )]));
    };
    let Some(shape) = op.input else {
        return Ok(());
    };
    let mut checker = validate::Checker::new(model);
    checker.check_input(shape, input);
    if checker.violations.is_empty() {
        Ok(())
    } else {
        Err(Invalid::from_violations(checker.violations))
    }
}

/// Validates the whole input of `operation` (e.g. "SendMessage") against the model.
/// `input` is a JSON object keyed by input member names (PascalCase, as in the model),
/// holding body members AND header/URI-label members (e.g. "ConnectionToken", "ViewToken",
/// "InstanceId"), all already extracted by the caller.
///
/// `null` is treated as an empty object. An operation that is not in the model is
/// rejected with `Operation '<name>' is not part of the model`.
pub fn validate(api: Api, operation: &str, input: &serde_json::Value) -> Result<(), Invalid> {
    check(model(api), operation, input)
}

/// Names of the modeled errors the operation declares (e.g. ["AccessDeniedException", ...]).
/// Empty for an operation that is not in the model.
pub fn operation_errors(api: Api, operation: &str) -> &'static [String] {
    model(api).operation(operation).map(|op| op.errors.as_slice()).unwrap_or(&[])
}

/// Operation names of the vendored model, in model order.
pub fn operations(api: Api) -> Vec<&'static str> {
    model(api).operations.iter().map(|op| op.name.as_str()).collect()
}
