//! Handlers of the control plane. Any SigV4 signature is accepted (dummy credentials).

use super::{parse, request_context, respond, Call};
use crate::errors::error_response;
use crate::routes::Endpoint;
use crate::App;
use axum::response::Response;
use confab_wire::ConnectError;
use std::sync::Arc;

pub async fn handle(app: &Arc<App>, call: Call) -> Response {
    let service = &app.service;
    match call.route.endpoint {
        Endpoint::StartChatContact => {
            let ctx = request_context(app, &call.headers);
            match parse(call.input) {
                Ok(input) => respond(service.start_chat_contact(&ctx, input).await),
                Err(e) => invalid(e),
            }
        }
        Endpoint::CreateParticipant => match parse(call.input) {
            Ok(input) => respond(service.create_participant(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::StopContact => match parse(call.input) {
            Ok(input) => respond(service.stop_contact(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::DescribeContact => {
            let label = |name: &str| {
                call.route.labels.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default()
            };
            respond(service.describe_contact(&label("InstanceId"), &label("ContactId")).await)
        }
        Endpoint::CreateView => match parse(call.input) {
            Ok(input) => respond(service.create_view(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::CreateViewVersion => match parse(call.input) {
            Ok(input) => respond(service.create_view_version(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::UpdateParticipantAuthentication => match parse(call.input) {
            Ok(input) => respond(service.update_participant_authentication(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::AuthenticateCustomer => match parse(call.input) {
            Ok(input) => respond(service.authenticate_customer(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::CreatePersistentContactAssociation => match parse(call.input) {
            Ok(input) => respond(service.create_persistent_contact_association(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::StartContactStreaming => match parse(call.input) {
            Ok(input) => respond(service.start_contact_streaming(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::StopContactStreaming => match parse(call.input) {
            Ok(input) => respond(service.stop_contact_streaming(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::UpdateParticipantRoleConfig => match parse(call.input) {
            Ok(input) => respond(service.update_participant_role_config(input).await),
            Err(e) => invalid(e),
        },
        Endpoint::SendChatIntegrationEvent => {
            let ctx = request_context(app, &call.headers);
            match parse(call.input) {
                Ok(input) => respond(service.send_chat_integration_event(&ctx, input).await),
                Err(e) => invalid(e),
            }
        }
        Endpoint::TransferContact => match parse(call.input) {
            Ok(input) => respond(service.transfer_contact(input).await),
            Err(e) => invalid(e),
        },
        other => error_response(&ConnectError::InvalidRequest(format!(
            "{} is not supported by this server yet",
            other.name()
        ))),
    }
}

fn invalid(message: String) -> Response {
    error_response(&ConnectError::InvalidRequest(message))
}
