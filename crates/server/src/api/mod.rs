//! Request dispatch: route, read and check the body, call the operation's handler, render
//! the answer or the error, and record metrics. Handlers live in a file per API.

mod attachments;
mod connect;
mod own;
mod participant;

use crate::errors::{error_response, Unrouted};
use crate::routes::{route, Api, Endpoint, Route, RouteError};
use crate::{cors, App};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use confab_wire::model::{self, Invalid};
use confab_wire::{ApiError, ConnectError, ParticipantError};
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, Method};
use http_body_util::BodyExt;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Instant;

/// What a handler gets: the routed operation, its input as a JSON object (body members plus
/// URI labels), and the request headers.
pub struct Call {
    pub route: Route,
    pub input: Map<String, Value>,
    pub headers: HeaderMap,
}

pub async fn dispatch(State(app): State<Arc<App>>, request: Request) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let is_participant_path = strip_base(&app.config.base_path, request.uri().path())
        .is_some_and(|p| p.starts_with("/attachments/") || p.starts_with("/participant/"));
    // A bug must answer 500 InternalServerException, never a dropped connection.
    let answered = std::panic::AssertUnwindSafe(answer(&app, request)).catch_unwind().await;
    let (name, mut response) = match answered {
        Ok(Ok((endpoint, response))) => (endpoint.name(), response),
        Ok(Err(response)) => ("Unrouted", response),
        Err(_) => {
            tracing::error!(%request_id, "handler panicked");
            (
                "Panicked",
                error_response(&Unrouted {
                    code: "InternalServerException",
                    status: 500,
                    message: "Internal server error".into(),
                }),
            )
        }
    };
    let status = response.status().as_u16();
    let out = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        out.insert("x-amzn-RequestId", v);
    }
    if is_participant_path || out.contains_key("Access-Control-Allow-Origin") {
        cors::decorate(out, &app.config.cors_origin);
    }
    app.metrics.observe(name, status, started.elapsed());
    if status >= 500 {
        tracing::warn!(operation = name, status, %request_id, "request failed");
    } else {
        tracing::debug!(operation = name, status, %request_id, elapsed_us = started.elapsed().as_micros() as u64, "request");
    }
    response
}

async fn answer(app: &Arc<App>, request: Request) -> Result<(Endpoint, Response), Response> {
    let Some(path) = strip_base(&app.config.base_path, request.uri().path()) else {
        return Err(unrouted(RouteError::NotFound, request.uri().path()));
    };
    if request.method() == Method::OPTIONS {
        return Err(cors::preflight(&app.config.cors_origin, request.headers()));
    }
    let route = route(request.method(), path).map_err(|e| unrouted(e, path))?;
    let endpoint = route.endpoint;
    if !app.throttle.admit(endpoint.name()) {
        return Ok((endpoint, throttled(endpoint)));
    }
    let response = match endpoint.api() {
        Api::Own => own::handle(app, route, request).await,
        Api::Participant if !has_bearer(request.headers()) => {
            crate::errors::error_response(&ParticipantError::access_denied())
        }
        api => {
            let (parts, body) = request.into_parts();
            match read_input(app, api, &route, body).await {
                Ok(input) => {
                    let call = Call { route, input, headers: parts.headers };
                    match api {
                        Api::Participant => participant::handle(app, call).await,
                        _ => connect::handle(app, call).await,
                    }
                }
                Err(response) => response,
            }
        }
    };
    Ok((endpoint, response))
}

/// The participant API authenticates by `X-Amz-Bearer` before anything else.
fn has_bearer(headers: &HeaderMap) -> bool {
    headers.get("x-amz-bearer").is_some_and(|v| !v.is_empty())
}

/// The path below the configured base path, or None when it is not under it.
fn strip_base<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    let base = base.trim_end_matches('/');
    let rest = path.strip_prefix(base)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

fn unrouted(error: RouteError, path: &str) -> Response {
    let e = match error {
        RouteError::NotFound => Unrouted {
            code: "UnknownOperationException",
            status: 404,
            message: format!("No operation at {path}"),
        },
        RouteError::MethodNotAllowed => Unrouted {
            code: "UnknownOperationException",
            status: 405,
            message: format!("Method not allowed for {path}"),
        },
        RouteError::BadLabel => Unrouted {
            code: "ValidationException",
            status: 400,
            message: format!("A path label of {path} is empty or not UTF-8"),
        },
    };
    error_response(&e)
}

/// Reads the body (an empty body is `{}`), adds URI labels, and checks the whole input
/// against the model. Header-bound tokens are checked by authentication, not here.
async fn read_input(app: &App, api: Api, route: &Route, body: Body) -> Result<Map<String, Value>, Response> {
    let bytes = match http_body_util::Limited::new(body, app.config.max_body_bytes).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let message = format!("The request body is larger than {} bytes", app.config.max_body_bytes);
            return Err(with_status(bad_input(api, route.endpoint, message), 413));
        }
    };
    let mut input = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => map,
            Ok(_) => {
                return Err(bad_input(api, route.endpoint, "The request body must be a JSON object".into()))
            }
            Err(e) => {
                return Err(bad_input(
                    api,
                    route.endpoint,
                    format!("The request body is not valid JSON: {e}"),
                ))
            }
        }
    };
    for (name, value) in &route.labels {
        input.insert((*name).to_owned(), Value::String(value.clone()));
    }
    // confab's extensions have no model: their handlers check their own input.
    if route.endpoint == Endpoint::AuthenticateCustomer {
        return Ok(input);
    }
    let model_api = if api == Api::Participant { model::Api::Participant } else { model::Api::Connect };
    // The tokens are modeled as required members but travel in headers (checked by the
    // handler): they stand in while the model is checked, in place rather than on a copy.
    const TOKENS: [&str; 2] = ["ConnectionToken", "ParticipantToken"];
    let sent = TOKENS.map(|token| input.insert(token.to_owned(), Value::String("-".into())));
    let checked = Value::Object(input);
    let valid = model::validate(model_api, route.endpoint.name(), &checked);
    let Value::Object(mut input) = checked else { unreachable!("built as an object just above") };
    for (token, value) in TOKENS.iter().zip(sent) {
        match value {
            Some(value) => input.insert((*token).to_owned(), value),
            None => input.remove(*token),
        };
    }
    valid.map_err(|Invalid { message, .. }| bad_input(api, route.endpoint, message))?;
    Ok(input)
}

/// A client error about the input, in the API's own terms: ValidationException for the
/// participant API; InvalidParameterException where the operation models it, else
/// InvalidRequestException, for the control plane.
fn bad_input(api: Api, endpoint: Endpoint, message: String) -> Response {
    match api {
        Api::Participant => error_response(&ParticipantError::Validation(message)),
        _ => {
            let errors = model::operation_errors(model::Api::Connect, endpoint.name());
            if errors.iter().any(|e| e == "InvalidParameterException") {
                error_response(&ConnectError::InvalidParameter(message))
            } else {
                error_response(&ConnectError::InvalidRequest(message))
            }
        }
    }
}

/// 429 with the operation's modeled throttling error (StartChatContact models only
/// LimitExceededException).
fn throttled(endpoint: Endpoint) -> Response {
    let message = format!("Rate exceeded for {}", endpoint.name());
    match endpoint.api() {
        Api::Participant => error_response(&ParticipantError::Throttling(message)),
        _ => {
            let errors = model::operation_errors(model::Api::Connect, endpoint.name());
            if errors.iter().any(|e| e == "ThrottlingException") {
                error_response(&ConnectError::Throttling(message))
            } else {
                error_response(&ConnectError::LimitExceeded(message))
            }
        }
    }
}

fn with_status(mut response: Response, status: u16) -> Response {
    if let Ok(s) = http::StatusCode::from_u16(status) {
        *response.status_mut() = s;
    }
    response
}

/// Renders a handler's result.
pub(crate) fn respond<T: serde::Serialize, E: ApiError>(result: Result<T, E>) -> Response {
    match result {
        Ok(out) => crate::errors::json_body(&out),
        Err(e) => error_response(&e),
    }
}

/// Deserialises a checked input into the operation's input struct.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(input: Map<String, Value>) -> Result<T, String> {
    serde_json::from_value(Value::Object(input))
        .map_err(|e| format!("The request does not match the operation's input: {e}"))
}

/// Where the URLs of this request point: websocket and plain HTTP bases.
pub(crate) fn request_context(app: &App, headers: &HeaderMap) -> confab_service::RequestContext {
    let ws = ws_base(app, headers);
    let http_base = ws.replacen("wss://", "https://", 1).replacen("ws://", "http://", 1);
    confab_service::RequestContext { ws_base: ws, http_base }
}

/// The websocket base URL for a request: the public URL when configured, else the Host
/// (with `localhost` answered as `127.0.0.1`, the only plain-ws host chatjs accepts).
pub(crate) fn ws_base(app: &App, headers: &HeaderMap) -> String {
    let base = app.config.base_path.trim_end_matches('/');
    if let Some(public) = &app.config.public_url {
        let public = public.trim_end_matches('/');
        let ws = public.replacen("https://", "wss://", 1).replacen("http://", "ws://", 1);
        return format!("{ws}{base}");
    }
    let host = headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    // Served over TLS: the Host stays as asked (the certificate names it; chatjs takes any wss://).
    if app.config.tls_cert.is_some() {
        return format!("wss://{host}{base}");
    }
    let host = match host.strip_prefix("localhost") {
        Some(port) => format!("127.0.0.1{port}"),
        None => host.to_owned(),
    };
    format!("ws://{host}{base}")
}
