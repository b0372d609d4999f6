//! The router: one variant per operation, found from the method and the raw path. Labels are
//! percent-decoded exactly once, after splitting on `/`, so `%2F` stays inside a label.

use percent_encoding::percent_decode_str;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    // Participant API
    CancelParticipantAuthentication,
    CompleteAttachmentUpload,
    CreateParticipantConnection,
    DescribeView,
    DisconnectParticipant,
    GetAttachment,
    GetAuthenticationUrl,
    GetTranscript,
    SendEvent,
    SendMessage,
    StartAttachmentUpload,
    // Control plane
    StartChatContact,
    CreateParticipant,
    StopContact,
    DescribeContact,
    StartContactStreaming,
    StopContactStreaming,
    CreatePersistentContactAssociation,
    UpdateParticipantRoleConfig,
    SendChatIntegrationEvent,
    TransferContact,
    StartOutboundChatContact,
    CreateView,
    CreateViewVersion,
    UpdateParticipantAuthentication,
    /// confab extension: what an Authenticate Customer flow block does (no model).
    AuthenticateCustomer,
    // confab's own
    AttachmentUpload,
    AttachmentDownload,
    WebSocket,
    Healthz,
    Metrics,
    TestClock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Participant,
    Connect,
    Own,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    NotFound,
    MethodNotAllowed,
    BadLabel,
}

/// A routed request: the endpoint and its URI labels, by member name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub endpoint: Endpoint,
    pub labels: Vec<(&'static str, String)>,
}

impl Endpoint {
    pub fn api(self) -> Api {
        use Endpoint::*;
        match self {
            CancelParticipantAuthentication
            | CompleteAttachmentUpload
            | CreateParticipantConnection
            | DescribeView
            | DisconnectParticipant
            | GetAttachment
            | GetAuthenticationUrl
            | GetTranscript
            | SendEvent
            | SendMessage
            | StartAttachmentUpload => Api::Participant,
            AttachmentUpload | AttachmentDownload | WebSocket | Healthz | Metrics | TestClock => Api::Own,
            _ => Api::Connect,
        }
    }

    /// The operation name of the model (and of metrics).
    pub fn name(self) -> &'static str {
        use Endpoint::*;
        match self {
            CancelParticipantAuthentication => "CancelParticipantAuthentication",
            CompleteAttachmentUpload => "CompleteAttachmentUpload",
            CreateParticipantConnection => "CreateParticipantConnection",
            DescribeView => "DescribeView",
            DisconnectParticipant => "DisconnectParticipant",
            GetAttachment => "GetAttachment",
            GetAuthenticationUrl => "GetAuthenticationUrl",
            GetTranscript => "GetTranscript",
            SendEvent => "SendEvent",
            SendMessage => "SendMessage",
            StartAttachmentUpload => "StartAttachmentUpload",
            StartChatContact => "StartChatContact",
            CreateParticipant => "CreateParticipant",
            StopContact => "StopContact",
            DescribeContact => "DescribeContact",
            StartContactStreaming => "StartContactStreaming",
            StopContactStreaming => "StopContactStreaming",
            CreatePersistentContactAssociation => "CreatePersistentContactAssociation",
            UpdateParticipantRoleConfig => "UpdateParticipantRoleConfig",
            SendChatIntegrationEvent => "SendChatIntegrationEvent",
            TransferContact => "TransferContact",
            StartOutboundChatContact => "StartOutboundChatContact",
            CreateView => "CreateView",
            CreateViewVersion => "CreateViewVersion",
            UpdateParticipantAuthentication => "UpdateParticipantAuthentication",
            AuthenticateCustomer => "AuthenticateCustomer",
            AttachmentUpload => "AttachmentUpload",
            AttachmentDownload => "AttachmentDownload",
            WebSocket => "WebSocket",
            Healthz => "Healthz",
            Metrics => "Metrics",
            TestClock => "TestClock",
        }
    }
}

/// Routes a request by method and raw (still percent-encoded) path, base path removed.
pub fn route(method: &http::Method, path: &str) -> Result<Route, RouteError> {
    use Endpoint::*;
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (endpoint, want, labels): (Endpoint, http::Method, Vec<(&'static str, &str)>) =
        match segments.as_slice() {
            ["participant", "cancel-authentication"] => {
                (CancelParticipantAuthentication, http::Method::POST, vec![])
            }
            ["participant", "complete-attachment-upload"] => {
                (CompleteAttachmentUpload, http::Method::POST, vec![])
            }
            ["participant", "connection"] => (CreateParticipantConnection, http::Method::POST, vec![]),
            ["participant", "views", token] if !token.is_empty() => {
                (DescribeView, http::Method::GET, vec![("ViewToken", *token)])
            }
            ["participant", "disconnect"] => (DisconnectParticipant, http::Method::POST, vec![]),
            ["participant", "attachment"] => (GetAttachment, http::Method::POST, vec![]),
            ["participant", "authentication-url"] => (GetAuthenticationUrl, http::Method::POST, vec![]),
            ["participant", "transcript"] => (GetTranscript, http::Method::POST, vec![]),
            ["participant", "event"] => (SendEvent, http::Method::POST, vec![]),
            ["participant", "message"] => (SendMessage, http::Method::POST, vec![]),
            ["participant", "start-attachment-upload"] => (StartAttachmentUpload, http::Method::POST, vec![]),
            ["contact", "chat"] => (StartChatContact, http::Method::PUT, vec![]),
            ["contact", "create-participant"] => (CreateParticipant, http::Method::POST, vec![]),
            ["contact", "stop"] => (StopContact, http::Method::POST, vec![]),
            ["contacts", instance, contact] => {
                (DescribeContact, http::Method::GET, vec![("InstanceId", *instance), ("ContactId", *contact)])
            }
            ["contact", "start-streaming"] => (StartContactStreaming, http::Method::POST, vec![]),
            ["contact", "stop-streaming"] => (StopContactStreaming, http::Method::POST, vec![]),
            ["contact", "persistent-contact-association", instance, contact] => (
                CreatePersistentContactAssociation,
                http::Method::POST,
                vec![("InstanceId", *instance), ("InitialContactId", *contact)],
            ),
            ["contact", "participant-role-config", instance, contact] => (
                UpdateParticipantRoleConfig,
                http::Method::PUT,
                vec![("InstanceId", *instance), ("ContactId", *contact)],
            ),
            ["chat-integration-event"] => (SendChatIntegrationEvent, http::Method::POST, vec![]),
            ["contact", "transfer"] => (TransferContact, http::Method::POST, vec![]),
            ["contact", "outbound-chat"] => (StartOutboundChatContact, http::Method::PUT, vec![]),
            ["views", instance] => (CreateView, http::Method::PUT, vec![("InstanceId", *instance)]),
            ["views", instance, view, "versions"] => {
                (CreateViewVersion, http::Method::PUT, vec![("InstanceId", *instance), ("ViewId", *view)])
            }
            ["contact", "update-participant-authentication"] => {
                (UpdateParticipantAuthentication, http::Method::POST, vec![])
            }
            ["contact", "authenticate-customer"] => (AuthenticateCustomer, http::Method::POST, vec![]),
            ["attachments", "upload"] => (AttachmentUpload, http::Method::PUT, vec![]),
            ["attachments", "download"] => (AttachmentDownload, http::Method::GET, vec![]),
            ["ws"] => (WebSocket, http::Method::GET, vec![]),
            ["healthz"] => (Healthz, http::Method::GET, vec![]),
            ["metrics"] => (Metrics, http::Method::GET, vec![]),
            ["_confab", "clock"] => (TestClock, http::Method::POST, vec![]),
            _ => return Err(RouteError::NotFound),
        };
    if *method != want && !(want == http::Method::GET && *method == http::Method::HEAD) {
        return Err(RouteError::MethodNotAllowed);
    }
    let labels = labels
        .into_iter()
        .map(|(name, raw)| {
            let value = percent_decode_str(raw).decode_utf8().map_err(|_| RouteError::BadLabel)?;
            if value.is_empty() {
                return Err(RouteError::BadLabel);
            }
            Ok((name, value.into_owned()))
        })
        .collect::<Result<_, _>>()?;
    Ok(Route { endpoint, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_path() {
        let r = route(&http::Method::POST, "/participant/message").map(|r| r.endpoint);
        assert_eq!(r, Ok(Endpoint::SendMessage));
        assert_eq!(route(&http::Method::GET, "/participant/message"), Err(RouteError::MethodNotAllowed));
        assert_eq!(route(&http::Method::POST, "/participant/nope"), Err(RouteError::NotFound));
        assert_eq!(
            route(&http::Method::PUT, "/contact/chat").map(|r| r.endpoint),
            Ok(Endpoint::StartChatContact)
        );
    }

    #[test]
    fn labels_are_decoded_once_and_keep_slashes() {
        let r = route(
            &http::Method::GET,
            "/participant/views/view%2Ftoken%2Bwith%20spaces%26%3F%3D%28%29%21%2A%27",
        );
        let labels = r.map(|r| r.labels).unwrap_or_default();
        assert_eq!(labels, vec![("ViewToken", "view/token+with spaces&?=()!*'".to_owned())]);
        let r = route(&http::Method::GET, "/contacts/inst-1/c%2525").map(|r| r.labels).unwrap_or_default();
        assert_eq!(r, vec![("InstanceId", "inst-1".to_owned()), ("ContactId", "c%25".to_owned())]);
    }

    #[test]
    fn views_and_authentication_routes() {
        let r = route(&http::Method::PUT, "/views/inst-1/v%2F1/versions").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(r.endpoint, Endpoint::CreateViewVersion);
        assert_eq!(r.labels, vec![("InstanceId", "inst-1".to_owned()), ("ViewId", "v/1".to_owned())]);
        let r = route(&http::Method::PUT, "/views/inst-1").map(|r| r.endpoint);
        assert_eq!(r, Ok(Endpoint::CreateView));
        let r = route(&http::Method::POST, "/contact/authenticate-customer").map(|r| r.endpoint);
        assert_eq!(r, Ok(Endpoint::AuthenticateCustomer));
        let r = route(&http::Method::POST, "/contact/update-participant-authentication").map(|r| r.endpoint);
        assert_eq!(r, Ok(Endpoint::UpdateParticipantAuthentication));
    }
}
