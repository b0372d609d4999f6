//! SendMessage (SPEC §2.2): a MESSAGE item, durable before the answer, pushed to every
//! socket of the contact, sender included.

use super::idempotency_key;
use crate::lifecycle::{internal_p, Session};
use crate::tokens::TokenKind;
use crate::{items, Service};
use confab_ports::{Batch, Check, Committed, Role, StoreError};
use confab_wire::item::{message, Item};
use confab_wire::participant::{SendMessageInput, SentItem};
use confab_wire::ParticipantError;

impl Service {
    pub async fn send_message(
        &self,
        connection_token: Option<&str>,
        input: SendMessageInput,
    ) -> Result<SentItem, ParticipantError> {
        let session = self.authenticate(TokenKind::Connection, connection_token).await?;
        self.check_message_type(&session, &input.content_type)?;
        if input.content.len() > self.config.max_message_bytes {
            return Err(ParticipantError::validation(format!(
                "Message content is {} bytes; the limit is {} bytes",
                input.content.len(),
                self.config.max_message_bytes
            )));
        }
        let p = &session.participant;
        let key = idempotency_key(
            "SendMessage",
            &p.id,
            input.client_token.as_deref(),
            &[&input.content_type, &input.content],
        );
        // A replay is found by the commit itself (it answers with the recorded response), so
        // the common case costs no extra read.
        let now = self.clock.now();
        let item = items::message(p, &input.content_type, input.content, now);
        self.append_sent(&session, item, key).await
    }

    /// Commits one item sent by the session's participant and answers with its Id and time.
    /// The item is pushed as soon as it is committed (it survives a crash of this process
    /// from then on) and answered once durable: the other sockets need not wait for the sync,
    /// the sender is told only what will not be lost.
    pub(crate) async fn append_sent(
        &self,
        session: &Session,
        item: Item,
        key: Option<String>,
    ) -> Result<SentItem, ParticipantError> {
        let answer = SentItem {
            id: item.id.clone().unwrap_or_default(),
            absolute_time: item.absolute_time.clone().unwrap_or_default(),
        };
        let mut batch = Batch::new(session.contact.id.clone());
        batch.checks = vec![Check::ContactActive, Check::ParticipantActive(session.participant.id.clone())];
        batch.idempotency = key.map(|k| (k, serde_json::to_string(&answer).unwrap_or_default()));
        batch.items.push(items::to_new(&item, self.clock.now()));
        let staged = match self.commit_sent(session, batch).await {
            Ok(staged) => staged,
            Err(StoreError::CheckFailed(_)) => return Err(ParticipantError::access_denied()),
            Err(e) => return Err(internal_p(e)),
        };
        if let Committed::Applied { seqs } = &staged.committed {
            self.push_committed(&session.contact, vec![item], seqs).await;
        }
        staged.durable.wait().await.map_err(internal_p)?;
        match staged.committed {
            Committed::Applied { .. } => Ok(answer),
            Committed::Replayed { response } => Ok(serde_json::from_str(&response).unwrap_or(answer)),
        }
    }

    /// The content types a participant may send: those enabled on the contact (text/plain
    /// always) among what participants send. `interactive` (normally sent by flows) is
    /// open to bots and agents: confab has no flows, so this is how one is sent.
    fn check_message_type(&self, session: &Session, content_type: &str) -> Result<(), ParticipantError> {
        let enabled = supported_types(&session.contact.details);
        let sendable = match content_type {
            message::INTERACTIVE => session.participant.role != Role::Customer,
            t => message::ALL.contains(&t),
        };
        if sendable && (content_type == message::PLAIN || enabled.iter().any(|t| t == content_type)) {
            return Ok(());
        }
        Err(ParticipantError::validation(format!(
            "ContentType '{content_type}' is not supported for this chat; supported content types: [{}]",
            enabled.join(", ")
        )))
    }
}

/// The contact's SupportedMessagingContentTypes (default `[text/plain]`).
pub(crate) fn supported_types(details: &serde_json::Value) -> Vec<String> {
    match details["SupportedMessagingContentTypes"].as_array() {
        Some(list) => list.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        None => vec![message::PLAIN.to_owned()],
    }
}
