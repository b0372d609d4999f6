//! AuthenticateCustomer (`POST /contact/authenticate-customer`): a confab extension that
//! does what an Authenticate Customer flow block does when a chat reaches it, since confab
//! has no flows. It opens an authentication session for the contact's customer and sends
//! `authentication.initiated` (Content `{"SessionId":"<36 characters>"}`) to the chat; the
//! answer carries the same SessionId. Called with any SigV4 signature, like the rest of
//! the control plane (a backend or a test plays the flow).

use super::{find_contact, internal_c};
use crate::Service;
use confab_ports::Role;
use confab_wire::auth::{AuthenticateCustomerInput, AuthenticateCustomerOutput};
use confab_wire::ConnectError;

impl Service {
    pub async fn authenticate_customer(
        &self,
        input: AuthenticateCustomerInput,
    ) -> Result<AuthenticateCustomerOutput, ConnectError> {
        self.auth_enabled_c()?;
        // Not in any AWS model, so the validator has not seen it: check here.
        for (name, value) in [("InstanceId", &input.instance_id), ("ContactId", &input.contact_id)] {
            if value.is_empty() || value.len() > 256 {
                return Err(ConnectError::InvalidParameter(format!("{name} must be 1-256 characters")));
            }
        }
        let contact = find_contact(self, &input.instance_id, &input.contact_id).await?.ok_or_else(|| {
            ConnectError::ResourceNotFound(format!("Contact '{}' does not exist", input.contact_id))
        })?;
        if !contact.is_active() {
            return Err(ConnectError::InvalidRequest(format!("Contact '{}' has ended", contact.id)));
        }
        let participants = self.store.participants(&contact.id).await.map_err(internal_c)?;
        let customer = participants
            .iter()
            .find(|p| p.role == Role::Customer && p.is_active())
            .ok_or_else(|| ConnectError::InvalidRequest("The customer has left this chat".into()))?;
        let opened = self.open_auth_session(&contact, &customer.id).await.map_err(internal_c)?;
        let session_id = opened.ok_or_else(|| {
            ConnectError::InvalidRequest(format!("Contact '{}' ended meanwhile", contact.id))
        })?;
        Ok(AuthenticateCustomerOutput { session_id })
    }

    /// The control plane's answer when no identity provider is configured.
    pub(crate) fn auth_enabled_c(&self) -> Result<&str, ConnectError> {
        self.config
            .flow_blocks
            .authentication
            .provider()
            .ok_or_else(|| ConnectError::InvalidRequest(crate::authentication::NOT_CONFIGURED.into()))
    }
}
