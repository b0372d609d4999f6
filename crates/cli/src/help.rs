//! `confab <service> help` and `confab <service> <operation> help`: the synopsis the AWS
//! CLI documents, generated from the model.

use crate::args::table::{self, Nargs};
use crate::model::{Kind, Model, Operation};

const GLOBALS: &str =
    "[--debug]\n[--endpoint-url <value>]\n[--no-verify-ssl]\n[--no-paginate]\n[--output <value>]\n\
[--query <value>]\n[--profile <value>]\n[--region <value>]\n[--version <value>]\n[--color <value>]\n\
[--no-sign-request]\n[--ca-bundle <value>]\n[--cli-read-timeout <value>]\n[--cli-connect-timeout <value>]\n";

pub fn service(model: &Model) -> String {
    let mut out = format!("{}\n\nAvailable commands:\n\n", model.cli_name);
    for name in model.cli_operation_names() {
        out.push_str(&format!("  o {name}\n"));
    }
    out
}

pub fn operation(model: &Model, op: &Operation) -> String {
    let mut out = format!("{}\n\nSynopsis\n\n  {}\n", op.name, op.cli_name());
    let args = op.input.as_deref().map(|s| table::arguments(model, s)).unwrap_or_default();
    for a in &args {
        let line = match a.nargs {
            Nargs::Flag => format!("{} | --no-{}", a.cli_name, &a.cli_name[2..]),
            _ => format!("{} <value>", a.cli_name),
        };
        if a.required {
            out.push_str(&format!("{line}\n"));
        } else {
            out.push_str(&format!("[{line}]\n"));
        }
    }
    out.push_str("[--cli-input-json <value>]\n[--generate-cli-skeleton <value>]\n");
    out.push_str(GLOBALS);
    out.push_str("\nOptions\n\n");
    for a in &args {
        let shape = model.shape(&a.shape);
        let kind = match shape.kind {
            Kind::Structure => "structure",
            Kind::List => "list",
            Kind::Map => "map",
            Kind::Integer | Kind::Long => "integer",
            Kind::Boolean => "boolean",
            Kind::Timestamp => "timestamp",
            _ => "string",
        };
        out.push_str(&format!("{} ({kind})\n", a.cli_name));
        if !shape.enums.is_empty() {
            out.push_str(&format!("  Possible values: {}\n", shape.enums.join(", ")));
        }
        if let Some(shorthand) = shorthand(model, &a.shape) {
            out.push_str(&format!("  Shorthand Syntax: {shorthand}\n"));
        }
        if !shape.kind.is_scalar() {
            let json =
                crate::output::py::json_dumps(&crate::skeleton::generate(model, &a.shape, false), true);
            out.push_str(&format!("  JSON Syntax:\n    {}\n", json.replace('\n', "\n    ")));
        }
    }
    out
}

/// `Key=type,...` for a structure of scalars (or a list of them), as the CLI documents it.
fn shorthand(model: &Model, shape: &str) -> Option<String> {
    let s = model.shape(shape);
    let target = match s.kind {
        Kind::List => model.shape(s.member.as_deref()?),
        Kind::Structure => s,
        _ => return None,
    };
    if target.kind != Kind::Structure
        || target.members.iter().any(|m| !model.shape(&m.shape).kind.is_scalar())
    {
        return None;
    }
    let pairs: Vec<String> = target
        .members
        .iter()
        .map(|m| {
            let kind = match model.shape(&m.shape).kind {
                Kind::Integer | Kind::Long => "integer",
                Kind::Boolean => "boolean",
                Kind::Float | Kind::Double => "double",
                Kind::Timestamp => "timestamp",
                _ => "string",
            };
            format!("{}={kind}", m.name)
        })
        .collect();
    let one = pairs.join(",");
    Some(if s.kind == Kind::List { format!("{one} {one}") } else { one })
}
