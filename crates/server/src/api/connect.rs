//! Handlers of the control plane. Any SigV4 signature is accepted (dummy credentials).

use super::{parse, request_context, respond, Call};
use crate::errors::error_response;
use crate::routes::Endpoint;
use crate::App;
use axum::response::Response;
use confab_wire::ConnectError;
use serde_json::{Map, Value};
use std::sync::Arc;

pub async fn handle(app: &Arc<App>, call: Call) -> Response {
    let service = &app.service;
    match call.route.endpoint {
        Endpoint::StartChatContact => {
            let ctx = request_context(app, &call.headers);
            run(call.input, |input| service.start_chat_contact(&ctx, input)).await
        }
        Endpoint::CreateParticipant => run(call.input, |input| service.create_participant(input)).await,
        Endpoint::StopContact => run(call.input, |input| service.stop_contact(input)).await,
        Endpoint::DescribeContact => {
            let label = |name: &str| {
                call.route.labels.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default()
            };
            respond(service.describe_contact(&label("InstanceId"), &label("ContactId")).await)
        }
        Endpoint::CreateView => run(call.input, |input| service.create_view(input)).await,
        Endpoint::CreateViewVersion => run(call.input, |input| service.create_view_version(input)).await,
        Endpoint::UpdateParticipantAuthentication => {
            run(call.input, |input| service.update_participant_authentication(input)).await
        }
        Endpoint::AuthenticateCustomer => run(call.input, |input| service.authenticate_customer(input)).await,
        Endpoint::CreatePersistentContactAssociation => {
            run(call.input, |input| service.create_persistent_contact_association(input)).await
        }
        Endpoint::StartContactStreaming => {
            run(call.input, |input| service.start_contact_streaming(input)).await
        }
        Endpoint::StopContactStreaming => {
            run(call.input, |input| service.stop_contact_streaming(input)).await
        }
        Endpoint::UpdateParticipantRoleConfig => {
            run(call.input, |input| service.update_participant_role_config(input)).await
        }
        Endpoint::SendChatIntegrationEvent => {
            let ctx = request_context(app, &call.headers);
            run(call.input, |input| service.send_chat_integration_event(&ctx, input)).await
        }
        Endpoint::TransferContact => run(call.input, |input| service.transfer_contact(input)).await,
        other => error_response(&ConnectError::InvalidRequest(format!(
            "{} is not supported by this server yet",
            other.name()
        ))),
    }
}

fn invalid(message: String) -> Response {
    error_response(&ConnectError::InvalidRequest(message))
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
