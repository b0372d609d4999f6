//! Handlers of the participant API: authenticated by `X-Amz-Bearer` only (any
//! `Authorization` header is ignored, SPEC §1.4).

use super::{parse, respond, ws_base, Call};
use crate::errors::error_response;
use crate::routes::Endpoint;
use crate::App;
use axum::response::Response;
use confab_service::RequestContext;
use confab_wire::ParticipantError;
use std::sync::Arc;

pub async fn handle(app: &Arc<App>, call: Call) -> Response {
    let bearer = call.headers.get("x-amz-bearer").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bearer = bearer.as_deref().filter(|b| !b.is_empty());
    let service = &app.service;
    match call.route.endpoint {
        Endpoint::CreateParticipantConnection => {
            let ctx = RequestContext { ws_base: ws_base(app, &call.headers) };
            match parse(call.input) {
                Ok(input) => respond(service.create_participant_connection(&ctx, bearer, input).await),
                Err(e) => invalid(e),
            }
        }
        Endpoint::SendMessage => match parse(call.input) {
            Ok(input) => respond(service.send_message(bearer, input).await),
            Err(e) => invalid(e),
        },
        Endpoint::SendEvent => match parse(call.input) {
            Ok(input) => respond(service.send_event(bearer, input).await),
            Err(e) => invalid(e),
        },
        Endpoint::GetTranscript => match parse(call.input) {
            Ok(input) => respond(service.get_transcript(bearer, input).await),
            Err(e) => invalid(e),
        },
        Endpoint::DisconnectParticipant => match parse(call.input) {
            Ok(input) => respond(service.disconnect_participant(bearer, input).await),
            Err(e) => invalid(e),
        },
        other => not_yet(app, bearer, other).await,
    }
}

fn invalid(message: String) -> Response {
    error_response(&ParticipantError::Validation(message))
}

/// Operations of a later release (attachments, views, authentication): authenticated like
/// the rest, then a clear refusal.
async fn not_yet(app: &Arc<App>, bearer: Option<&str>, endpoint: Endpoint) -> Response {
    if let Err(e) = app.service.authenticate(confab_service::TokenKind::Connection, bearer).await {
        return error_response(&e);
    }
    error_response(&ParticipantError::Validation(format!(
        "{} is not supported by this server yet",
        endpoint.name()
    )))
}
