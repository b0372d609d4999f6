//! The chat subset of the Amazon Connect API, one file per operation (SPEC §5).

mod authenticate_customer;
mod create_participant;
mod create_view;
mod create_view_version;
mod describe_contact;
mod persistent_chat;
mod send_chat_integration_event;
mod start_chat;
mod start_contact_streaming;
mod stop_contact;
mod stop_contact_streaming;
mod transfer_contact;
mod update_participant_authentication;
mod update_participant_role_config;

use crate::internal;
use confab_ports::{Contact, StoreError};
use confab_wire::ConnectError;

pub(crate) fn internal_c(e: StoreError) -> ConnectError {
    ConnectError::InternalService(internal(e))
}

/// A contact of this instance (ResourceNotFoundException otherwise, as AWS answers for a
/// contact id it does not know in that instance).
pub(crate) async fn find_contact(
    service: &crate::Service,
    instance_id: &str,
    contact_id: &str,
) -> Result<Option<Contact>, ConnectError> {
    let contact = service.store.contact(contact_id).await.map_err(internal_c)?;
    Ok(contact.filter(|c| c.instance_id == instance_id))
}
