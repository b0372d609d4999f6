//! The attachment URLs confab serves itself (embedded blobs): `PUT /attachments/upload`
//! and `GET /attachments/download`, each authorised by the signed token in its query.
//! Browsers reach them cross-origin, so they carry CORS headers like the participant API.

use crate::errors::{error_response, Unrouted};
use crate::App;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use confab_service::attachments::UploadError;
use http::header;
use std::sync::Arc;

fn token_of(request: &Request) -> String {
    let query = request.uri().query().unwrap_or("");
    let raw = query.split('&').find_map(|kv| kv.strip_prefix("token=")).unwrap_or("");
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

pub async fn upload(app: &Arc<App>, request: Request) -> Response {
    let token = token_of(&request);
    let content_type =
        request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let limit =
        usize::try_from(app.service.config().attachments.max_bytes).unwrap_or(usize::MAX).saturating_add(1);
    let body = match axum::body::to_bytes(request.into_body(), limit).await {
        Ok(body) => body,
        Err(_) => {
            return refused(UploadError::Invalid("The body is larger than the attachment limit".into()))
        }
    };
    match app.service.receive_upload(&token, content_type.as_deref(), body).await {
        Ok(()) => http::StatusCode::OK.into_response(),
        Err(e) => refused(e),
    }
}

pub async fn download(app: &Arc<App>, request: Request) -> Response {
    match app.service.serve_download(&token_of(&request)).await {
        Ok(d) => (
            [(header::CONTENT_TYPE, d.content_type), (header::CONTENT_DISPOSITION, d.content_disposition)],
            d.bytes,
        )
            .into_response(),
        Err(e) => refused(e),
    }
}

fn refused(e: UploadError) -> Response {
    let (code, status, message) = match e {
        UploadError::Denied(m) => ("AccessDenied", 403, m),
        UploadError::Invalid(m) => ("BadRequest", 400, m),
        UploadError::Gone(m) => ("NoSuchKey", 404, m),
        UploadError::Internal(m) => ("InternalError", 500, m),
    };
    error_response(&Unrouted { code, status, message })
}
