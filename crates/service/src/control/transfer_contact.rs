//! TransferContact (SPEC §5.9): AWS transfers only TASK and EMAIL contacts with this API;
//! every contact here is a chat, so a known contact is an InvalidRequestException that says
//! how chats move instead.

use super::find_contact;
use crate::Service;
use confab_wire::integration::TransferContactInput;
use confab_wire::participant::Empty;
use confab_wire::ConnectError;

impl Service {
    pub async fn transfer_contact(&self, input: TransferContactInput) -> Result<Empty, ConnectError> {
        let contact = find_contact(self, &input.instance_id, &input.contact_id).await?.ok_or_else(|| {
            ConnectError::ResourceNotFound(format!(
                "Contact '{}' does not exist in this instance",
                input.contact_id
            ))
        })?;
        if input.queue_id.is_some() && input.user_id.is_some() {
            return Err(ConnectError::InvalidRequest("Give QueueId or UserId, not both".into()));
        }
        Err(ConnectError::InvalidRequest(format!(
            "Contact '{}' is a CHAT contact: TransferContact transfers only TASK and EMAIL contacts. A chat moves to another agent when that agent joins it (CreateParticipant)",
            contact.id
        )))
    }
}
