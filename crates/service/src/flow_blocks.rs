//! Settings of the two flow blocks confab stands in for (it has no flows): views for the
//! Show view block, loaded at start, and the OpenID Connect provider of the Authenticate
//! Customer block. In the TOML file: `[[service.flow_blocks.views]]` and
//! `[service.flow_blocks.authentication]`.

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FlowBlocks {
    /// Views registered (or updated) at start, published, as if made with CreateView.
    pub views: Vec<ViewSetting>,
    pub authentication: AuthenticationSettings,
}

/// A view from the settings. Its Id is chosen here (CreateView picks a UUID), so templates
/// and tests can name it; its ARN is `arn:aws:connect:<region>:<account>:instance/<instance_id>/view/<id>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewSetting {
    pub instance_id: String,
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The view template, JSON text.
    pub template: String,
    #[serde(default)]
    pub actions: Vec<String>,
    /// JSON schema text; derived from the template when absent.
    #[serde(default)]
    pub input_schema: Option<String>,
}

/// The OpenID Connect provider customers sign in with. Off while `authorization_endpoint`
/// is unset: then GetAuthenticationUrl, CancelParticipantAuthentication,
/// UpdateParticipantAuthentication and AuthenticateCustomer answer that authentication is
/// not configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthenticationSettings {
    /// e.g. `https://auth.example.com/oauth2/authorize` (Cognito: `https://<domain>/oauth2/authorize`).
    pub authorization_endpoint: Option<String>,
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Redirect URIs GetAuthenticationUrl accepts; empty accepts any.
    pub redirect_uris: Vec<String>,
    /// GetAuthenticationUrl must come this soon after `authentication.initiated` (AWS: one minute).
    pub url_window_secs: i64,
    /// A sign-in not reported by UpdateParticipantAuthentication by then ends with
    /// `authentication.timeout` (the flow block's timeout; UNCERTAIN default).
    pub timeout_secs: i64,
}

impl Default for AuthenticationSettings {
    fn default() -> AuthenticationSettings {
        AuthenticationSettings {
            authorization_endpoint: None,
            client_id: String::new(),
            scopes: vec!["openid".into()],
            redirect_uris: Vec::new(),
            url_window_secs: 60,
            timeout_secs: 300,
        }
    }
}

impl AuthenticationSettings {
    /// The authorize endpoint when authentication is on.
    pub fn provider(&self) -> Option<&str> {
        self.authorization_endpoint.as_deref().filter(|e| !e.is_empty())
    }
}
