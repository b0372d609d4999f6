//! Error responses exactly as SPEC §1.6.3: the model's status, `x-amzn-ErrorType`, and a
//! JSON body with the message under both `message` and `Message` (plus `__type` for
//! browsers that cannot read unexposed headers). Never HTML.

use axum::response::{IntoResponse, Response};
use confab_wire::ApiError;
use http::{HeaderValue, StatusCode};
use serde_json::{Map, Value};

pub fn error_response(error: &dyn ApiError) -> Response {
    let mut body = Map::new();
    body.insert("__type".into(), Value::String(error.aws_code().to_owned()));
    body.insert("message".into(), Value::String(error.message().to_owned()));
    body.insert("Message".into(), Value::String(error.message().to_owned()));
    body.extend(error.extra_members());
    let status = StatusCode::from_u16(error.http_status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, json_body(&Value::Object(body))).into_response();
    response.headers_mut().insert("x-amzn-ErrorType", HeaderValue::from_static(error.aws_code()));
    response
}

/// A JSON body with its content type.
pub fn json_body(value: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    ([(http::header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// Errors that belong to no operation (unknown route, wrong method): same format, with the
/// code AWS uses for them.
pub struct Unrouted {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl ApiError for Unrouted {
    fn aws_code(&self) -> &'static str {
        self.code
    }
    fn http_status_code(&self) -> u16 {
        self.status
    }
    fn message(&self) -> &str {
        &self.message
    }
}
