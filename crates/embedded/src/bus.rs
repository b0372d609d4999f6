//! The in-process bus: one node, so "every node" is this one. `publish` hands the envelope
//! to the registered receiver synchronously (the gateway's receiver only enqueues, so this
//! never blocks on a slow socket); with no receiver registered yet, the envelope is dropped.

use async_trait::async_trait;
use confab_ports::{Bus, Envelope, Receiver};
use parking_lot::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct InProcessBus {
    receiver: RwLock<Option<Receiver>>,
    published: AtomicU64,
    dropped: AtomicU64,
}

impl InProcessBus {
    pub fn new() -> InProcessBus {
        InProcessBus::default()
    }

    /// Envelopes handed to the receiver so far.
    pub fn published(&self) -> u64 {
        self.published.load(Ordering::Relaxed)
    }

    /// Envelopes dropped because no receiver was registered.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for InProcessBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcessBus")
            .field("has_receiver", &self.receiver.read().is_some())
            .field("published", &self.published())
            .field("dropped", &self.dropped())
            .finish()
    }
}

#[async_trait]
impl Bus for InProcessBus {
    async fn publish(&self, envelope: Envelope) {
        // Clone the Arc and release the lock before calling out, so a receiver may publish.
        let receiver = self.receiver.read().clone();
        match receiver {
            Some(receiver) => {
                self.published.fetch_add(1, Ordering::Relaxed);
                receiver(envelope);
            }
            None => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn set_receiver(&self, receiver: Receiver) {
        *self.receiver.write() = Some(receiver);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_ports::EnvelopeKind;
    use parking_lot::Mutex;
    use std::sync::Arc;

    fn envelope(seq: u64) -> Envelope {
        Envelope { contact_id: "c".into(), kind: EnvelopeKind::Item { seq, json: Arc::from("{}") } }
    }

    #[tokio::test]
    async fn delivers_synchronously_and_drops_without_receiver() {
        let bus = InProcessBus::new();
        bus.publish(envelope(1)).await;
        assert_eq!(bus.dropped(), 1);

        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        bus.set_receiver(Arc::new(move |e: Envelope| sink.lock().push(e)));
        bus.publish(envelope(2)).await;
        bus.publish(envelope(3)).await;
        // Synchronous: already there when publish returns.
        assert_eq!(*got.lock(), vec![envelope(2), envelope(3)]);
        assert_eq!(bus.published(), 2);
    }
}
