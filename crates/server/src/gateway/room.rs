//! One contact's sockets on this node and the ordering state of its deliveries.

use super::socket::close_codes;
use axum::extract::ws::Utf8Bytes;
use confab_wire::item::chat_frame;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, Notify};

/// What a socket's task is told to send.
#[derive(Debug)]
pub(super) enum Outbound {
    Frame(Utf8Bytes),
    Close(u16, &'static str),
}

/// Shared between a socket's task and its room entry.
#[derive(Default)]
pub(super) struct SocketState {
    pub subscribed: AtomicBool,
    pub kill: Notify,
    pub kill_code: AtomicU16,
}

impl SocketState {
    /// Asks the socket's task to close at once (its queue may be full).
    pub fn kill(&self, code: u16) {
        self.kill_code.store(code, Ordering::Relaxed);
        self.kill.notify_one();
    }
}

struct Entry {
    id: u64,
    participant_id: String,
    tx: mpsc::Sender<Outbound>,
    state: Arc<SocketState>,
}

pub(super) struct Room {
    sockets: Vec<Entry>,
    /// Every item up to here has been delivered (or predates the room).
    last_seq: u64,
    /// Items that arrived ahead of a gap.
    pending: BTreeMap<u64, Arc<str>>,
    /// Closes waiting for their items: (participant or everyone, after this seq).
    closes: Vec<(Option<String>, u64)>,
    filling: bool,
    /// The store's newest item after a bus outage: delivery catches up to it.
    catch_up: u64,
    initial_contact_id: String,
}

impl Room {
    pub fn new(last_seq: u64, initial_contact_id: String) -> Room {
        Room {
            sockets: Vec::new(),
            last_seq,
            pending: BTreeMap::new(),
            closes: Vec::new(),
            filling: false,
            catch_up: 0,
            initial_contact_id,
        }
    }

    pub fn add(
        &mut self,
        id: u64,
        participant_id: String,
        tx: mpsc::Sender<Outbound>,
        state: Arc<SocketState>,
    ) {
        self.sockets.push(Entry { id, participant_id, tx, state });
    }

    pub fn remove(&mut self, id: u64) {
        self.sockets.retain(|s| s.id != id);
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    pub fn kill_all(&self, code: u16) {
        for s in &self.sockets {
            s.state.kill(code);
        }
    }

    pub fn sockets_of(&self, participant_id: &str) -> usize {
        self.sockets.iter().filter(|s| s.participant_id == participant_id).count()
    }

    /// An item from the bus; `seq == 0` is pushed-only and goes out at once. Returns true
    /// when a gap fill should start.
    pub fn item(&mut self, seq: u64, json: &str) -> bool {
        if seq == 0 {
            self.broadcast(json);
            return false;
        }
        if seq <= self.last_seq || self.pending.contains_key(&seq) {
            return false;
        }
        if seq == self.last_seq + 1 {
            self.broadcast(json);
            self.last_seq = seq;
            self.drain();
        } else {
            self.pending.insert(seq, Arc::from(json));
        }
        self.apply_closes();
        self.want_fill()
    }

    pub fn close(&mut self, participant_id: Option<String>, after_seq: u64) -> bool {
        self.closes.push((participant_id, after_seq));
        self.apply_closes();
        self.want_fill()
    }

    /// Asks for everything up to `last` (after a bus outage); true when a fill should start.
    pub fn catch_up(&mut self, last: u64) -> bool {
        self.catch_up = self.catch_up.max(last);
        self.want_fill()
    }

    /// The missing range `(from, to)` and the contact's initial id, if any.
    pub fn gap(&self) -> Option<(u64, u64, String)> {
        let to = match self.pending.keys().next() {
            Some(first) => first - 1,
            None => self.closes.iter().map(|(_, after)| *after).max().unwrap_or(0).max(self.catch_up),
        };
        (to > self.last_seq).then(|| (self.last_seq + 1, to, self.initial_contact_id.clone()))
    }

    pub fn skip_to(&mut self, to: u64) {
        self.last_seq = self.last_seq.max(to);
        self.drain();
        self.apply_closes();
    }

    /// A fill finished; true when another is needed.
    pub fn fill_done(&mut self) -> bool {
        self.filling = false;
        self.want_fill()
    }

    fn want_fill(&mut self) -> bool {
        let gap = self.gap().is_some();
        if gap && !self.filling {
            self.filling = true;
            return true;
        }
        false
    }

    fn drain(&mut self) {
        while let Some(json) = self.pending.remove(&(self.last_seq + 1)) {
            self.broadcast(&json);
            self.last_seq += 1;
        }
    }

    fn apply_closes(&mut self) {
        let last = self.last_seq;
        let (ready, waiting): (Vec<_>, Vec<_>) = self.closes.drain(..).partition(|(_, after)| *after <= last);
        self.closes = waiting;
        for (who, _) in ready {
            let reason = if who.is_some() { "Participant left" } else { "Chat ended" };
            self.sockets.retain(|s| {
                if who.as_ref().is_some_and(|p| *p != s.participant_id) {
                    return true;
                }
                if s.tx.try_send(Outbound::Close(close_codes::NORMAL, reason)).is_err() {
                    s.state.kill(close_codes::NORMAL);
                }
                false
            });
        }
    }

    /// Sends one frame to every subscribed socket; a full queue closes that socket.
    fn broadcast(&mut self, json: &str) {
        if self.sockets.is_empty() {
            return;
        }
        let frame = Utf8Bytes::from(chat_frame(json));
        self.sockets.retain(|s| {
            if !s.state.subscribed.load(Ordering::Relaxed) {
                return true;
            }
            match s.tx.try_send(Outbound::Frame(frame.clone())) {
                Ok(()) => true,
                Err(TrySendError::Full(_)) => {
                    s.state.kill(close_codes::TOO_SLOW);
                    false
                }
                Err(TrySendError::Closed(_)) => false,
            }
        });
    }
}
