//! The command line, parsed as the AWS CLI's argparse parsers do: global options anywhere,
//! then the operation's options, built from the model (`table`), turned into parameter
//! values (`unpack`, `shorthand`).

pub mod pyjson;
pub mod shorthand;
pub mod table;
pub mod unpack;

use crate::errors::CliError;
use crate::model::Model;
use serde_json::{Map, Value};
use table::{Nargs, OpArg};
use unpack::Given;

/// The global options (`awscli/data/cli.json`).
#[derive(Debug, Default, Clone)]
pub struct Globals {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub output: Option<String>,
    pub query: Option<String>,
    pub color: Option<String>,
    pub ca_bundle: Option<String>,
    pub read_timeout: Option<String>,
    pub connect_timeout: Option<String>,
    pub debug: bool,
    pub no_verify_ssl: bool,
    pub no_paginate: bool,
    pub no_sign_request: bool,
    pub version: bool,
}

const VALUE_GLOBALS: &[&str] = &[
    "--endpoint-url",
    "--region",
    "--profile",
    "--output",
    "--query",
    "--color",
    "--ca-bundle",
    "--cli-read-timeout",
    "--cli-connect-timeout",
];
const FLAG_GLOBALS: &[&str] =
    &["--debug", "--no-verify-ssl", "--no-paginate", "--no-sign-request", "--version"];

/// argparse's test for "this is an option, not a value".
pub fn option_like(s: &str) -> bool {
    s.starts_with('-') && s.len() > 1 && s.parse::<f64>().is_err() && !s.contains(' ')
}

/// `Invalid choice, valid choices are:` with two choices a line, as the CLI's parser says it.
pub fn invalid_choice(what: &str, value: &str, choices: &[String]) -> CliError {
    let mut msg = String::from("Invalid choice, valid choices are:\n");
    for pair in choices.chunks(2) {
        msg.push('\n');
        msg.push_str(&pair.iter().map(|c| format!("{c:<40}")).collect::<Vec<_>>().join(" | "));
    }
    let close = crate::args::table::close_matches(value, choices);
    if !close.is_empty() {
        msg.push_str(&format!(
            "\n\n\nInvalid choice: {}, maybe you meant:\n",
            crate::output::py::str_repr(value)
        ));
        for c in close {
            msg.push_str(&format!("\n  * {c}"));
        }
    }
    CliError::Usage(format!("argument {what}: {msg}"))
}

fn check_choice(name: &str, value: &str, choices: &[&str]) -> Result<(), CliError> {
    if choices.contains(&value) {
        return Ok(());
    }
    let owned: Vec<String> = choices.iter().map(|s| s.to_string()).collect();
    Err(invalid_choice(name, value, &owned))
}

/// Takes the global options out of `args`, leaving the rest in order.
pub fn split_globals(args: &[String]) -> Result<(Globals, Vec<String>), CliError> {
    let mut g = Globals::default();
    let mut rest = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        if FLAG_GLOBALS.contains(&name) && inline.is_none() {
            set_flag(&mut g, name);
        } else if VALUE_GLOBALS.contains(&name) {
            let value = match inline {
                Some(v) => v,
                None => match args.get(i + 1) {
                    Some(v) if !option_like(v) => {
                        i += 1;
                        v.clone()
                    }
                    _ => return Err(CliError::Usage(format!("argument {name}: expected one argument"))),
                },
            };
            set_value(&mut g, name, value)?;
        } else {
            rest.push(arg.clone());
        }
        i += 1;
    }
    Ok((g, rest))
}

fn set_flag(g: &mut Globals, name: &str) {
    match name {
        "--debug" => g.debug = true,
        "--no-verify-ssl" => g.no_verify_ssl = true,
        "--no-paginate" => g.no_paginate = true,
        "--no-sign-request" => g.no_sign_request = true,
        _ => g.version = true,
    }
}

fn set_value(g: &mut Globals, name: &str, value: String) -> Result<(), CliError> {
    match name {
        "--endpoint-url" => g.endpoint_url = Some(value),
        "--region" => g.region = Some(value),
        "--profile" => g.profile = Some(value),
        "--output" => {
            check_choice(name, &value, &["json", "text", "table"])?;
            g.output = Some(value)
        }
        "--query" => g.query = Some(value),
        "--color" => {
            check_choice(name, &value, &["on", "off", "auto"])?;
            g.color = Some(value)
        }
        "--ca-bundle" => g.ca_bundle = Some(value),
        "--cli-read-timeout" => g.read_timeout = Some(value),
        _ => g.connect_timeout = Some(value),
    }
    Ok(())
}

/// `--generate-cli-skeleton`'s choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skeleton {
    Input,
    Output,
}

/// An operation's command line, parsed.
#[derive(Debug, Default)]
pub struct Call {
    pub params: Map<String, Value>,
    pub cli_input_json: Option<String>,
    pub skeleton: Option<Skeleton>,
}

/// Parses the operation's options (`args` has no globals and no operation name).
pub fn parse_operation(model: &Model, op_input: Option<&str>, args: &[String]) -> Result<Call, CliError> {
    let table = op_input.map(|s| table::arguments(model, s)).unwrap_or_default();
    let mut given: Vec<(usize, Given)> = Vec::new();
    let mut unknown = Vec::new();
    let mut call = Call::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if !option_like(arg) {
            unknown.push(arg.clone());
            continue;
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        if name == "--cli-input-json" {
            call.cli_input_json = Some(one_value(name, inline, args, &mut i)?);
        } else if name == "--generate-cli-skeleton" {
            call.skeleton = Some(skeleton_value(inline, args, &mut i)?);
        } else if let Some((index, arg, positive)) = table::find(&table, name) {
            given.retain(|(j, _)| *j != index);
            let value = match arg.nargs {
                Nargs::Flag => Given::Flag(positive),
                Nargs::One => Given::One(one_value(name, inline, args, &mut i)?),
                Nargs::Many => Given::Many(many_values(inline, args, &mut i)),
            };
            given.push((index, value));
        } else {
            unknown.push(arg.clone());
        }
    }
    check_required(&table, &given, &call)?;
    if !unknown.is_empty() {
        return Err(CliError::UnknownOptions(unknown));
    }
    given.sort_by_key(|(index, _)| *index);
    for (index, value) in given {
        let arg = &table[index];
        let v = unpack::unpack(model, &arg.shape, &arg.cli_name, value)?;
        call.params.insert(arg.member.clone(), v);
    }
    Ok(call)
}

fn one_value(name: &str, inline: Option<String>, args: &[String], i: &mut usize) -> Result<String, CliError> {
    if let Some(v) = inline {
        return Ok(v);
    }
    match args.get(*i) {
        Some(v) if !option_like(v) => {
            *i += 1;
            Ok(v.clone())
        }
        _ => Err(CliError::Usage(format!("argument {name}: expected one argument"))),
    }
}

fn many_values(inline: Option<String>, args: &[String], i: &mut usize) -> Vec<String> {
    let mut values: Vec<String> = inline.into_iter().collect();
    while let Some(v) = args.get(*i).filter(|v| !option_like(v)) {
        values.push(v.clone());
        *i += 1;
    }
    values
}

fn skeleton_value(inline: Option<String>, args: &[String], i: &mut usize) -> Result<Skeleton, CliError> {
    let value = match inline {
        Some(v) => v,
        None => match args.get(*i).filter(|v| !option_like(v)) {
            Some(v) => {
                *i += 1;
                v.clone()
            }
            None => "input".into(),
        },
    };
    match value.as_str() {
        "input" => Ok(Skeleton::Input),
        "output" => Ok(Skeleton::Output),
        _ => Err(invalid_choice("--generate-cli-skeleton", &value, &["input".into(), "output".into()])),
    }
}

/// argparse's `the following arguments are required`, waived by `--cli-input-json` and by
/// `--generate-cli-skeleton [input]`.
fn check_required(table: &[OpArg], given: &[(usize, Given)], call: &Call) -> Result<(), CliError> {
    if call.cli_input_json.is_some() || call.skeleton == Some(Skeleton::Input) {
        return Ok(());
    }
    let missing: Vec<&str> = table
        .iter()
        .enumerate()
        .filter(|(i, a)| a.required && !given.iter().any(|(j, _)| j == i))
        .map(|(_, a)| a.cli_name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(CliError::Usage(format!("the following arguments are required: {}", missing.join(", "))))
}
