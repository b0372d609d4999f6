//! CORS for browser clients (SPEC §1.10, CHATJS-PROTOCOL a.1): preflights on any path, and
//! the allow/expose headers on participant API responses.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode};

const ALLOW_HEADERS: &str = "content-type, x-amz-bearer, authorization, x-amz-date, x-amz-content-sha256, \
x-amz-user-agent, x-amz-security-token, amz-sdk-invocation-id, amz-sdk-request";
const EXPOSE_HEADERS: &str = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, date";

/// The answer to `OPTIONS`: allows the method and whatever headers the browser asks for.
pub fn preflight(origin: &str, request: &HeaderMap) -> Response {
    let mut response = StatusCode::OK.into_response();
    let headers = response.headers_mut();
    allow_origin(headers, origin);
    headers.insert("Access-Control-Allow-Methods", HeaderValue::from_static("GET, POST, PUT, OPTIONS"));
    let asked = request.get("access-control-request-headers").and_then(|h| h.to_str().ok());
    let allow = match asked {
        Some(asked) if !asked.is_empty() => format!("{ALLOW_HEADERS}, {asked}"),
        _ => ALLOW_HEADERS.to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&allow) {
        headers.insert("Access-Control-Allow-Headers", v);
    }
    headers.insert("Access-Control-Max-Age", HeaderValue::from_static("86400"));
    response
}

/// Adds the CORS headers an actual response needs.
pub fn decorate(headers: &mut HeaderMap, origin: &str) {
    allow_origin(headers, origin);
    headers.insert("Access-Control-Expose-Headers", HeaderValue::from_static(EXPOSE_HEADERS));
}

/// `*` answers any origin; a configured origin is answered as is.
fn allow_origin(headers: &mut HeaderMap, origin: &str) {
    if let Ok(v) = HeaderValue::from_str(origin) {
        headers.insert("Access-Control-Allow-Origin", v);
    }
}
