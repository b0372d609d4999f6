//! Handlers of the participant API: authenticated by `X-Amz-Bearer` only (any
//! `Authorization` header is ignored, SPEC §1.4).

use super::{parse, request_context, respond, Call};
use crate::errors::error_response;
use crate::routes::Endpoint;
use crate::App;
use axum::response::Response;
use confab_wire::ParticipantError;
use serde_json::{Map, Value};
use std::sync::Arc;

pub async fn handle(app: &Arc<App>, call: Call) -> Response {
    let bearer = call.headers.get("x-amz-bearer").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bearer = bearer.as_deref().filter(|b| !b.is_empty());
    let service = &app.service;
    match call.route.endpoint {
        Endpoint::CreateParticipantConnection => {
            let ctx = request_context(app, &call.headers);
            run(call.input, |input| service.create_participant_connection(&ctx, bearer, input)).await
        }
        Endpoint::SendMessage => run(call.input, |input| service.send_message(bearer, input)).await,
        Endpoint::SendEvent => run(call.input, |input| service.send_event(bearer, input)).await,
        Endpoint::GetTranscript => run(call.input, |input| service.get_transcript(bearer, input)).await,
        Endpoint::DisconnectParticipant => {
            run(call.input, |input| service.disconnect_participant(bearer, input)).await
        }
        Endpoint::StartAttachmentUpload => {
            let ctx = request_context(app, &call.headers);
            run(call.input, |input| service.start_attachment_upload(&ctx, bearer, input)).await
        }
        Endpoint::CompleteAttachmentUpload => {
            run(call.input, |input| service.complete_attachment_upload(bearer, input)).await
        }
        Endpoint::GetAttachment => {
            let ctx = request_context(app, &call.headers);
            run(call.input, |input| service.get_attachment(&ctx, bearer, input)).await
        }
        Endpoint::DescribeView => {
            let token = call.route.labels.iter().find(|(n, _)| *n == "ViewToken").map(|(_, v)| v.as_str());
            respond(service.describe_view(bearer, token.unwrap_or_default()).await)
        }
        Endpoint::GetAuthenticationUrl => {
            run(call.input, |input| service.get_authentication_url(bearer, input)).await
        }
        Endpoint::CancelParticipantAuthentication => {
            run(call.input, |input| service.cancel_participant_authentication(bearer, input)).await
        }
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

/// Parses the checked input into the operation's input struct, runs the operation, and
/// renders its answer or error.
async fn run<I, T, E, F>(input: Map<String, Value>, operation: impl FnOnce(I) -> F) -> Response
where
    I: serde::de::DeserializeOwned,
    T: serde::Serialize,
    E: confab_wire::ApiError,
    F: std::future::Future<Output = Result<T, E>>,
{
    match parse(input) {
        Ok(input) => respond(operation(input).await),
        Err(e) => invalid(e),
    }
}
