//! StopContact (SPEC §5.3): ends the chat for everyone.

use super::{find_contact, internal_c};
use crate::lifecycle::reason;
use crate::Service;
use confab_wire::connect::StopContactInput;
use confab_wire::participant::Empty;
use confab_wire::ConnectError;

impl Service {
    /// An unknown contact is ContactNotFoundException (410, "does not exist" in the model);
    /// stopping a chat that already ended succeeds, so retries are safe (UNCERTAIN).
    pub async fn stop_contact(&self, input: StopContactInput) -> Result<Empty, ConnectError> {
        let contact = find_contact(self, &input.instance_id, &input.contact_id).await?.ok_or_else(|| {
            ConnectError::ContactNotFound(format!("Contact '{}' does not exist", input.contact_id))
        })?;
        if contact.is_active() {
            self.end_chat(&contact, reason::API).await.map_err(internal_c)?;
        }
        Ok(Empty {})
    }
}
