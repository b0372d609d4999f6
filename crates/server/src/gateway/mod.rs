//! The websocket gateway: holds this node's sockets by contact ("rooms") and delivers what
//! the bus carries to every subscribed socket of the contact, in sequence order. A gap in
//! sequence numbers (a lost or reordered bus message) is filled from the store, never
//! skipped. A socket whose queue overflows is closed instead of stalling the others.

mod frames;
mod room;
mod socket;

pub use socket::close_codes;

use confab_ports::{Envelope, EnvelopeKind, ItemQuery, Locate, Receiver};
use confab_service::Service;
use confab_service::Session;
use parking_lot::Mutex;
use room::{Room, SocketState};
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const SHARDS: usize = 64;
/// How long a gap may stay open before it is filled from the store: reordering between
/// two publishers usually heals within microseconds.
const GAP_WAIT: Duration = Duration::from_millis(25);

pub struct Gateway {
    service: Arc<Service>,
    shards: Vec<Mutex<HashMap<String, Room>>>,
    hasher: RandomState,
    next_socket: AtomicU64,
    open: AtomicUsize,
    queue: usize,
}

/// A socket allowed in, not yet upgraded.
pub struct Admission {
    contact_id: String,
    initial_contact_id: String,
    participant_id: String,
}

impl Gateway {
    pub fn new(service: Arc<Service>, queue: usize) -> Arc<Gateway> {
        Arc::new(Gateway {
            service,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            next_socket: AtomicU64::new(1),
            open: AtomicUsize::new(0),
            queue: queue.max(16),
        })
    }

    /// The bus receiver that feeds this gateway.
    pub fn receiver(self: &Arc<Self>) -> Receiver {
        let gateway = Arc::downgrade(self);
        Arc::new(move |envelope| {
            if let Some(g) = gateway.upgrade() {
                g.on_envelope(envelope);
            }
        })
    }

    pub fn open_sockets(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Checks the per-participant socket limit before the upgrade.
    pub async fn admit(&self, session: &Session) -> Result<Admission, String> {
        let max = self.service.config().max_sockets_per_participant;
        let pid = &session.participant.id;
        let open =
            self.shard(&session.contact.id).lock().get(&session.contact.id).map_or(0, |r| r.sockets_of(pid));
        if open >= max {
            return Err(format!("A participant may hold at most {max} open websockets"));
        }
        Ok(Admission {
            contact_id: session.contact.id.clone(),
            initial_contact_id: session.contact.initial_contact_id.clone(),
            participant_id: pid.clone(),
        })
    }

    fn shard(&self, contact_id: &str) -> &Mutex<HashMap<String, Room>> {
        let i = (self.hasher.hash_one(contact_id) as usize) % SHARDS;
        &self.shards[i]
    }

    /// Registers a socket in its room (created with the store's newest sequence number as
    /// the point delivery starts from).
    async fn register(
        &self,
        admission: &Admission,
    ) -> (u64, tokio::sync::mpsc::Receiver<room::Outbound>, Arc<SocketState>) {
        let base = self
            .service
            .store()
            .locate(&admission.contact_id, Locate::Last)
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = tokio::sync::mpsc::channel(self.queue);
        let state = Arc::new(SocketState::default());
        let mut shard = self.shard(&admission.contact_id).lock();
        let room = shard
            .entry(admission.contact_id.clone())
            .or_insert_with(|| Room::new(base, admission.initial_contact_id.clone()));
        room.add(id, admission.participant_id.clone(), tx, state.clone());
        (id, rx, state)
    }

    fn unregister(&self, contact_id: &str, socket_id: u64) {
        let mut shard = self.shard(contact_id).lock();
        if let Some(room) = shard.get_mut(contact_id) {
            room.remove(socket_id);
            if room.is_empty() {
                shard.remove(contact_id);
            }
        }
    }

    /// Everything the bus brings lands here, synchronously in the publisher's task.
    fn on_envelope(self: &Arc<Self>, envelope: Envelope) {
        if envelope.kind == EnvelopeKind::Resync {
            let gateway = self.clone();
            tokio::spawn(async move { gateway.resync().await });
            return;
        }
        let needs_fill = {
            let mut shard = self.shard(&envelope.contact_id).lock();
            let Some(room) = shard.get_mut(&envelope.contact_id) else {
                return;
            };
            match envelope.kind {
                EnvelopeKind::Item { seq, json } => room.item(seq, &json),
                EnvelopeKind::Close { participant_id, after_seq } => room.close(participant_id, after_seq),
                EnvelopeKind::Resync => false,
            }
        };
        if needs_fill {
            let gateway = self.clone();
            tokio::spawn(async move { gateway.fill_gap(envelope.contact_id).await });
        }
    }

    /// After the bus lost messages: every room catches up to the store's newest item.
    async fn resync(self: Arc<Self>) {
        let contacts: Vec<String> =
            self.shards.iter().flat_map(|s| s.lock().keys().cloned().collect::<Vec<_>>()).collect();
        for contact_id in contacts {
            let Ok(Some(last)) = self.service.store().locate(&contact_id, Locate::Last).await else {
                continue;
            };
            let needs_fill =
                self.shard(&contact_id).lock().get_mut(&contact_id).is_some_and(|room| room.catch_up(last));
            if needs_fill {
                let gateway = self.clone();
                tokio::spawn(async move { gateway.fill_gap(contact_id).await });
            }
        }
    }

    /// Fills a gap from the store after a short wait; if the store lacks the items too, the
    /// room skips ahead rather than stall.
    fn fill_gap(
        self: Arc<Self>,
        contact_id: String,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(async move { self.fill_gap_now(contact_id).await })
    }

    async fn fill_gap_now(self: Arc<Self>, contact_id: String) {
        tokio::time::sleep(GAP_WAIT).await;
        let Some((from, to, initial)) = self.shard(&contact_id).lock().get(&contact_id).and_then(Room::gap)
        else {
            return;
        };
        let limit = usize::try_from(to - from + 1).unwrap_or(usize::MAX);
        let query = ItemQuery { contact_id: contact_id.clone(), from, ascending: true, limit };
        let items = self.service.store().items(query).await.unwrap_or_default();
        let mut shard = self.shard(&contact_id).lock();
        let Some(room) = shard.get_mut(&contact_id) else {
            return;
        };
        for item in items {
            if let Some(json) = frames::pushed_from_stored(&item.json, &initial, &contact_id) {
                room.item(item.seq, &json);
            }
        }
        if room.gap().is_some_and(|(gap_from, _, _)| gap_from == from) {
            tracing::warn!(contact_id, from, to, "items missing from the store; skipping ahead");
            room.skip_to(to);
        }
        if room.fill_done() {
            drop(shard);
            let gateway = self.clone();
            tokio::spawn(async move { gateway.fill_gap(contact_id).await });
        }
    }
}

impl Gateway {
    /// Closes every socket with "going away" (server shutdown): clients reconnect elsewhere.
    pub fn shutdown(&self) {
        for shard in &self.shards {
            for room in shard.lock().values() {
                room.kill_all(close_codes::GOING_AWAY);
            }
        }
    }
}
