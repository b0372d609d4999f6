//! Handlers of the participant API: authenticated by `X-Amz-Bearer` only (any
//! `Authorization` header is ignored, SPEC §1.4).

use super::{parse, request_context, respond, Call};
use crate::errors::error_response;
use crate::routes::Endpoint;
use crate::App;
use axum::response::Response;
use confab_wire::ParticipantError;
use std::sync::Arc;

pub async fn handle(app: &Arc<App>, call: Call) -> Response {
    let bearer = call.headers.get("x-amz-bearer").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bearer = bearer.as_deref().filter(|b| !b.is_empty());
    let service = &app.service;
    match call.route.endpoint {
        Endpoint::CreateParticipantConnection => {
            let ctx = request_context(app, &call.headers);
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
        Endpoint::StartAttachmentUpload => {
            let ctx = request_context(app, &call.headers);
            match parse(call.input) {
                Ok(input) => respond(service.start_attachment_upload(&ctx, bearer, input).await),
                Err(e) => invalid(e),
            }
        }
        Endpoint::CompleteAttachmentUpload => match parse(call.input) {
            Ok(input) => respond(service.complete_attachment_upload(bearer, input).await),
            Err(e) => invalid(e),
        },
        Endpoint::GetAttachment => {
            let ctx = request_context(app, &call.headers);
            match parse(call.input) {
                Ok(input) => respond(service.get_attachment(&ctx, bearer, input).await),
                Err(e) => invalid(e),
            }
        }
        Endpoint::DescribeView => {
            let token = call.route.labels.iter().find(|(n, _)| *n == "ViewToken").map(|(_, v)| v.as_str());
            respond(service.describe_view(bearer, token.unwrap_or_default()).await)
        }
        Endpoint::GetAuthenticationUrl => match parse(call.input) {
            Ok(input) => respond(service.get_authentication_url(bearer, input).await),
            Err(e) => invalid(e),
        },
        Endpoint::CancelParticipantAuthentication => match parse(call.input) {
            Ok(input) => respond(service.cancel_participant_authentication(bearer, input).await),
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
