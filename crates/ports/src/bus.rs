//! The Bus port: carries what happened in a contact to every node's websocket gateway.
//! Published after the store commit; receivers order by sequence number and fill gaps from
//! the store, so the bus may lose or reorder messages without clients noticing.

use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeKind {
    /// A transcript item (`seq > 0`) or a pushed-only event (`seq == 0`); `json` is the item
    /// as pushed on the websocket (with InitialContactId and ContactId).
    Item { seq: u64, json: Arc<str> },
    /// Close the sockets of one participant (or of everyone when None) once every item up
    /// to `after_seq` has been delivered.
    Close { participant_id: Option<String>, after_seq: u64 },
    /// The bus may have lost messages (it was disconnected): every room of this node fills
    /// up from the store. `contact_id` is empty.
    Resync,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub contact_id: String,
    pub kind: EnvelopeKind,
}

/// Where a node's gateway receives envelopes.
pub type Receiver = Arc<dyn Fn(Envelope) + Send + Sync>;

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Publishes to every node (this one included). Never blocks on slow receivers.
    async fn publish(&self, envelope: Envelope);
    /// Registers this node's receiver; called once at start.
    fn set_receiver(&self, receiver: Receiver);
    /// Whether the bus reaches the other nodes right now (for /healthz).
    fn health(&self) -> Result<(), String> {
        Ok(())
    }
}
