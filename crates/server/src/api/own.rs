//! confab's own endpoints: `/healthz`, `/metrics`, the websocket upgrade, and the test clock.

use crate::errors::{error_response, json_body, Unrouted};
use crate::routes::{Endpoint, Route};
use crate::App;
use axum::extract::{FromRequestParts, Request, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;
use std::sync::Arc;

pub async fn handle(app: &Arc<App>, route: Route, request: Request) -> Response {
    match route.endpoint {
        Endpoint::Healthz => healthz(app).await,
        Endpoint::Metrics => metrics(app).await,
        Endpoint::WebSocket => websocket(app, request).await,
        Endpoint::AttachmentUpload => super::attachments::upload(app, request).await,
        Endpoint::AttachmentDownload => super::attachments::download(app, request).await,
        _ => test_clock(app, request).await,
    }
}

/// 200 while the store answers (a node without its bus or blobs still serves chats:
/// "degraded"); 503 when the store does not.
async fn healthz(app: &Arc<App>) -> Response {
    let b = &app.backends;
    let store = app.service.store().health().await.map_err(|e| e.to_string());
    let bus = app.service.bus().health();
    let blobs = app.service.blobs().health().await.map_err(|e| e.to_string());
    let part = |name: &str, r: &Result<(), String>| match r {
        Ok(()) => json!({"backend": name, "status": "ok"}),
        Err(e) => json!({"backend": name, "status": "unavailable", "error": e}),
    };
    let status = match (&store, bus.is_ok() && blobs.is_ok()) {
        (Err(_), _) => "unavailable",
        (Ok(()), true) => "ok",
        (Ok(()), false) => "degraded",
    };
    let mut r = json_body(&json!({
        "status": status,
        "store": part(b.store, &store),
        "bus": part(b.bus, &bus),
        "blobs": part(b.blobs, &blobs),
    }));
    if store.is_err() {
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    }
    r
}

async fn metrics(app: &Arc<App>) -> Response {
    let active = app.service.store().active_contacts().await.unwrap_or(0);
    let gauges = [
        ("confab_active_contacts", "Contacts that have not ended.", active as f64),
        ("confab_open_websockets", "Websockets open on this node.", app.gateway.open_sockets() as f64),
        (
            "confab_items_appended_total",
            "Transcript items appended since start.",
            app.service.items_appended() as f64,
        ),
    ];
    let mut text = app.metrics.render(&gauges);
    text.push_str(&app.backends.metrics.render());
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The websocket URL's `AuthToken` must be genuine, unexpired (100 s to connect) and its
/// participant still in an active chat; otherwise 403 with the API-Gateway-style body.
async fn websocket(app: &Arc<App>, request: Request) -> Response {
    let token = request.uri().query().and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("AuthToken="))
            .map(|t| percent_encoding::percent_decode_str(t).decode_utf8_lossy().into_owned())
    });
    let session = match app.service.authenticate(confab_service::TokenKind::Websocket, token.as_deref()).await
    {
        Ok(s) => s,
        Err(_) => return forbidden(),
    };
    let (mut parts, _) = request.into_parts();
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(u) => u,
        Err(rejection) => {
            return error_response(&Unrouted {
                code: "BadRequestException",
                status: 400,
                message: rejection.body_text(),
            })
        }
    };
    match app.gateway.admit(&session).await {
        Ok(admission) => {
            let gateway = app.gateway.clone();
            // Client frames are tiny (subscribe, heartbeats): a 1 KiB read buffer (it grows for a bigger frame) instead of
            // tungstenite's 128 KiB keeps a held socket near 10 KiB (BENCHMARKS.md).
            upgrade.read_buffer_size(1024).on_upgrade(move |socket| gateway.run_socket(socket, admission))
        }
        Err(message) => {
            let mut r = json_body(&json!({"message": message}));
            *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            r
        }
    }
}

fn forbidden() -> Response {
    let mut r = json_body(&json!({"message": "Forbidden"}));
    *r.status_mut() = StatusCode::FORBIDDEN;
    r
}

/// `POST /_confab/clock {"advanceSeconds": N}` moves the test clock (only when the server
/// was started with `--test-clock`).
async fn test_clock(app: &Arc<App>, request: Request) -> Response {
    let Some(clock) = &app.test_clock else {
        return error_response(&Unrouted {
            code: "UnknownOperationException",
            status: 404,
            message: "The test clock is off (start with --test-clock)".into(),
        });
    };
    let body = axum::body::to_bytes(request.into_body(), 4096).await.unwrap_or_default();
    let secs = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["advanceSeconds"].as_f64())
        .unwrap_or(0.0);
    let now = clock.advance((secs * 1000.0) as i64);
    app.service.wake_timers();
    json_body(&json!({"now": now}))
}
