//! `confab connectparticipant <operation>` and `confab connect <operation>`: the AWS CLI's
//! service commands, end to end.

use crate::args::{self, Globals, Skeleton};
use crate::config::{self, Env};
use crate::errors::CliError;
use crate::http::{self, Client};
use crate::model::{self, Model, Operation};
use crate::output::{query::Query, Format, Printer};
use crate::{help, skeleton, validate};
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Runs a service command (`args` are what follows the service name) and returns the exit
/// code, having written stdout and stderr as the AWS CLI v1 does.
pub fn run(service: &str, args: &[String]) -> ExitCode {
    let env = Env::load();
    match run_with(service, args, &env) {
        Ok(out) => {
            print_stdout(&out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprint!("{}", e.stderr());
            ExitCode::from(e.exit_code())
        }
    }
}

fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// The command's stdout text, or its error.
pub fn run_with(service: &str, args: &[String], env: &Env) -> Result<String, CliError> {
    let model = model::service(service)
        .ok_or_else(|| CliError::Usage(format!("argument command: Invalid choice: {service}")))?;
    let (globals, rest) = args::split_globals(args)?;
    if globals.version {
        return Ok(version());
    }
    let Some(op_name) = rest.iter().find(|a| !args::option_like(a)).cloned() else {
        return Err(CliError::Usage("the following arguments are required: operation".into()));
    };
    if op_name == "help" {
        return Ok(help::service(model));
    }
    let Some(op) = model.operation_by_cli_name(&op_name) else {
        let mut choices = model.cli_operation_names();
        choices.push("help".into());
        return Err(args::invalid_choice("operation", &op_name, &choices));
    };
    let pos = rest.iter().position(|a| *a == op_name).unwrap_or(0);
    let op_args: Vec<String> = rest[..pos].iter().chain(rest[pos + 1..].iter()).cloned().collect();
    if op_args == ["help"] {
        return Ok(help::operation(model, op));
    }
    call(model, op, &globals, &op_args, env)
}

pub fn version() -> String {
    format!("confab-cli/{} (AWS CLI v1 compatible)\n", env!("CARGO_PKG_VERSION"))
}

fn call(
    model: &Model,
    op: &Operation,
    globals: &Globals,
    op_args: &[String],
    env: &Env,
) -> Result<String, CliError> {
    let mut parsed = args::parse_operation(model, op.input.as_deref(), op_args)?;
    let query = match &globals.query {
        Some(q) => {
            Some(Query::compile(q).map_err(|e| CliError::Plain(format!("Bad value for --query {q}: {e}")))?)
        }
        None => None,
    };
    if let Some(text) = &parsed.cli_input_json {
        merge_input_json(&mut parsed.params, text)?;
    }
    if parsed.skeleton == Some(Skeleton::Input) {
        let skeleton = match &op.input {
            Some(shape) => skeleton::generate(model, shape, false),
            None => Value::Object(Map::new()),
        };
        return Ok(crate::output::py::json_dumps(&skeleton, true) + "\n");
    }
    check_endpoint_option(globals)?;
    let settings = config::resolve(globals, env, service_id(model))?;
    check_region(&settings.region)?;
    if let Some(input) = &op.input {
        fill_idempotency_tokens(model, input, &mut parsed.params);
        validate::validate(model, input, &Value::Object(parsed.params.clone())).map_err(CliError::Plain)?;
    }
    let printer = printer(globals, &settings, query)?;
    if parsed.skeleton == Some(Skeleton::Output) {
        return output_skeleton(model, op, &printer);
    }
    let max_attempts = env.vars.get("AWS_MAX_ATTEMPTS").and_then(|v| v.parse().ok()).unwrap_or(5);
    let client = Client::new(settings, !globals.no_sign_request, globals.debug, max_attempts)?;
    let request = http::request::build(model, op, &parsed.params);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Plain(e.to_string()))?;
    let response = runtime.block_on(client.call(model, op, &request))?;
    if response.status >= 300 {
        return Err(http::service_error(op, &response, None));
    }
    let parsed_output = http::response::parse(model, op, &response, client.settings.iso_timestamps);
    Ok(printer.render(&op.name, &parsed_output))
}

/// The service's id in the model metadata, for `AWS_ENDPOINT_URL_<ID>` and `[services]`.
fn service_id(model: &Model) -> &'static str {
    match model.cli_name {
        "connectparticipant" => "ConnectParticipant",
        _ => "Connect",
    }
}

/// `--cli-input-json`: its members fill what the command line did not give.
fn merge_input_json(params: &mut Map<String, Value>, text: &str) -> Result<(), CliError> {
    let loaded = match args::unpack::param_file(text).map_err(|e| CliError::param("cli-input-json", &e))? {
        Some(Value::String(s)) => s,
        _ => text.to_owned(),
    };
    let input = args::unpack::parse_json(&loaded).map_err(|e| {
        CliError::param("cli-input-json", &format!("Invalid JSON: {e}\nJSON received: {loaded}"))
    })?;
    if let Value::Object(map) = input {
        for (k, v) in map {
            params.entry(k).or_insert(v);
        }
    }
    Ok(())
}

fn printer(
    globals: &Globals,
    settings: &config::Settings,
    query: Option<Query>,
) -> Result<Printer, CliError> {
    let format = Format::parse(&settings.output)
        .ok_or_else(|| CliError::Plain(format!("Unknown output type: {}", settings.output)))?;
    let tty = std::io::stdout().is_terminal();
    let color = match globals.color.as_deref() {
        Some("on") => true,
        Some("off") => false,
        _ => tty,
    };
    let width = if tty { crossterm::terminal::size().map(|(w, _)| w as usize).unwrap_or(80) } else { 80 };
    Ok(Printer { format, query, color, width })
}

/// `--generate-cli-skeleton output`: a response made of member names, checked against the
/// output shape as botocore's stubber checks it, then printed like a real one.
fn output_skeleton(model: &Model, op: &Operation, printer: &Printer) -> Result<String, CliError> {
    let Some(shape) = &op.output else {
        return Ok(printer.render(&op.name, &Value::Object(Map::new())));
    };
    let mut fake = skeleton::generate(model, shape, true);
    validate::validate(model, shape, &fake).map_err(CliError::Plain)?;
    if printer.format != Format::Json {
        // Python's str() of the placeholder datetime.
        skeleton::datetimes_as_str(&mut fake);
    }
    Ok(printer.render(&op.name, &fake))
}

/// botocore fills a missing idempotency token with a fresh UUID before it validates.
fn fill_idempotency_tokens(model: &Model, input: &str, params: &mut Map<String, Value>) {
    for m in &model.shape(input).members {
        if m.idempotency_token && !params.contains_key(&m.name) {
            params.insert(m.name.clone(), Value::String(uuid::Uuid::new_v4().to_string()));
        }
    }
}

/// `--endpoint-url` must have a scheme, as the CLI insists.
fn check_endpoint_option(globals: &Globals) -> Result<(), CliError> {
    match &globals.endpoint_url {
        Some(url) if !url.contains("://") => Err(CliError::Plain(format!(
            "Bad value for --endpoint-url \"{url}\": scheme is missing.  Must be of the form http://<hostname>/ or https://<hostname>/"
        ))),
        _ => Ok(()),
    }
}

/// botocore's check of a region name (it goes into the signature and the ARNs).
fn check_region(region: &str) -> Result<(), CliError> {
    let bytes = region.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-';
    if valid {
        Ok(())
    } else {
        Err(CliError::Plain(format!("Provided region_name '{region}' doesn't match a supported format.")))
    }
}
