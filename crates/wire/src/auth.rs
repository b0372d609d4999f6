//! Customer authentication (the Authenticate Customer flow block): GetAuthenticationUrl and
//! CancelParticipantAuthentication of the participant API, UpdateParticipantAuthentication
//! of the control plane, and confab's own AuthenticateCustomer, which stands in for the
//! flow block (confab has no flows).

use serde::{Deserialize, Serialize};

/// Event content types of the flow block (SPEC §3.3; chatjs `CONTENT_TYPE`).
pub mod event {
    pub const INITIATED: &str = "application/vnd.amazonaws.connect.event.authentication.initiated";
    pub const SUCCEEDED: &str = "application/vnd.amazonaws.connect.event.authentication.succeeded";
    pub const FAILED: &str = "application/vnd.amazonaws.connect.event.authentication.failed";
    pub const TIMEOUT: &str = "application/vnd.amazonaws.connect.event.authentication.timeout";
    pub const EXPIRED: &str = "application/vnd.amazonaws.connect.event.authentication.expired";
    /// Double l, as chatjs spells it.
    pub const CANCELLED: &str = "application/vnd.amazonaws.connect.event.authentication.cancelled";
}

/// `POST /participant/authentication-url`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetAuthenticationUrlInput {
    pub session_id: String,
    pub redirect_uri: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAuthenticationUrlOutput {
    pub authentication_url: String,
}

/// `POST /participant/cancel-authentication`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CancelParticipantAuthenticationInput {
    pub session_id: String,
}

/// `POST /contact/update-participant-authentication`: what the identity provider sent to
/// the redirect URI (`state` is the session id).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateParticipantAuthenticationInput {
    pub state: String,
    pub instance_id: String,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// `POST /contact/authenticate-customer` (confab extension).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AuthenticateCustomerInput {
    pub instance_id: String,
    pub contact_id: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthenticateCustomerOutput {
    pub session_id: String,
}

/// The Content of every authentication event: `{"SessionId":"…"}` (chatjs reads
/// `JSON.parse(Content).SessionId` from `authentication.initiated`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionContent {
    pub session_id: String,
}
