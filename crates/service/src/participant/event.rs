//! SendEvent (SPEC §2.3): typing (pushed, not kept), read and delivered receipts (kept on
//! the message, pushed as MESSAGEMETADATA), connection.acknowledged, participant.invited.

use super::idempotency_key;
use crate::lifecycle::{internal_p, Session};
use crate::tokens::TokenKind;
use crate::{items, Service};
use confab_ports::{Batch, Check, Locate, Receipt, StoreError};
use confab_wire::item::{event, Item, MessageMetadata, Receipt as WireReceipt, TYPE_MESSAGE_METADATA};
use confab_wire::participant::{SendEventInput, SentItem};
use confab_wire::time::iso_millis;
use confab_wire::ParticipantError;

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReceiptKind {
    Delivered,
    Read,
}

impl Service {
    pub async fn send_event(
        &self,
        connection_token: Option<&str>,
        input: SendEventInput,
    ) -> Result<SentItem, ParticipantError> {
        let session = self.authenticate(TokenKind::Connection, connection_token).await?;
        let now = self.clock.now();
        let p = &session.participant;
        match input.content_type.as_str() {
            event::TYPING => {
                let mut item = items::event(p, event::TYPING, now);
                item.content = input.content;
                self.push_ephemeral(&session.contact, &item).await;
                Ok(sent(&item))
            }
            // Deprecated by AWS in favour of ConnectParticipant; still honoured.
            event::CONNECTION_ACKNOWLEDGED => {
                self.mark_connected(p).await?;
                Ok(sent(&items::event(p, event::CONNECTION_ACKNOWLEDGED, now)))
            }
            event::MESSAGE_DELIVERED => self.receipt(&session, ReceiptKind::Delivered, input).await,
            event::MESSAGE_READ => self.receipt(&session, ReceiptKind::Read, input).await,
            // Listed by chatjs as sendable (UNCERTAIN in SPEC §2.3); kept in the transcript
            // as GetTranscript's documentation says.
            event::PARTICIPANT_INVITED => {
                let key = idempotency_key(
                    "SendEvent",
                    &p.id,
                    input.client_token.as_deref(),
                    &[&input.content_type, input.content.as_deref().unwrap_or("")],
                );
                let mut item = items::event(p, event::PARTICIPANT_INVITED, now);
                item.content = input.content;
                self.append_sent(&session, item, key).await
            }
            other => Err(ParticipantError::validation(format!(
                "ContentType '{other}' is not a supported event; supported: [{}, {}, {}, {}, {}]",
                event::TYPING,
                event::CONNECTION_ACKNOWLEDGED,
                event::MESSAGE_DELIVERED,
                event::MESSAGE_READ,
                event::PARTICIPANT_INVITED
            ))),
        }
    }

    /// Records a receipt on the message (idempotent per message, reader and kind: the first
    /// timestamp stays) and pushes it as a MESSAGEMETADATA item.
    async fn receipt(
        &self,
        session: &Session,
        kind: ReceiptKind,
        input: SendEventInput,
    ) -> Result<SentItem, ParticipantError> {
        let message_id = receipt_message_id(input.content.as_deref())?;
        let (p, contact) = (&session.participant, &session.contact);
        let active = self.store.participants(&contact.id).await.map_err(internal_p)?;
        if active.iter().filter(|p| p.is_active()).count() > 2 {
            return Err(ParticipantError::Conflict(
                "Message receipts are not supported when there are more than two active participants in the chat".into(),
            ));
        }
        if self
            .store
            .locate(&contact.id, Locate::ItemId(message_id.clone()))
            .await
            .map_err(internal_p)?
            .is_none()
        {
            return Err(ParticipantError::validation(format!(
                "No message with Id '{message_id}' in this chat"
            )));
        }
        let now = self.clock.now();
        let stamp = Some(now);
        let receipt = Receipt {
            contact_id: contact.id.clone(),
            message_id: message_id.clone(),
            recipient_id: p.id.clone(),
            delivered_at: stamp.filter(|_| kind == ReceiptKind::Delivered),
            read_at: stamp.filter(|_| kind == ReceiptKind::Read),
        };
        let mut batch = Batch::new(contact.id.clone());
        batch.checks = vec![Check::ContactActive, Check::ParticipantActive(p.id.clone())];
        batch.receipts.push(receipt);
        match self.store.commit(batch).await {
            Ok(_) => {}
            Err(StoreError::CheckFailed(_)) => return Err(ParticipantError::access_denied()),
            Err(e) => return Err(internal_p(e)),
        }
        let item = metadata_item(&p.id, &contact.id, message_id, kind, now);
        self.push_ephemeral(contact, &item).await;
        Ok(sent(&item))
    }
}

fn sent(item: &Item) -> SentItem {
    SentItem {
        id: item.id.clone().unwrap_or_default(),
        absolute_time: item.absolute_time.clone().unwrap_or_default(),
    }
}

/// A receipt's Content is `{"messageId":"<item id>"}`.
fn receipt_message_id(content: Option<&str>) -> Result<String, ParticipantError> {
    let invalid = || {
        ParticipantError::validation(
            r#"A receipt's Content must be JSON of the form {"messageId":"<Id of the message>"}"#,
        )
    };
    let value: serde_json::Value =
        serde_json::from_str(content.ok_or_else(invalid)?).map_err(|_| invalid())?;
    value["messageId"].as_str().filter(|s| !s.is_empty()).map(str::to_owned).ok_or_else(invalid)
}

/// What the websocket carries for a receipt: one receipt per item, the reader as recipient
/// (chatjs reads only `Receipts[0]` and hides receipts addressed to itself).
fn metadata_item(reader: &str, contact_id: &str, message_id: String, kind: ReceiptKind, at: i64) -> Item {
    let stamp = Some(iso_millis(at));
    let receipt = WireReceipt {
        delivered_timestamp: stamp.clone().filter(|_| kind == ReceiptKind::Delivered),
        read_timestamp: stamp.filter(|_| kind == ReceiptKind::Read),
        recipient_participant_id: reader.to_owned(),
    };
    let mut item = items::system_event(contact_id, event::MESSAGE_METADATA, at);
    item.kind = Some(TYPE_MESSAGE_METADATA.to_owned());
    item.message_metadata = Some(MessageMetadata { message_id, receipts: vec![receipt] });
    item
}
