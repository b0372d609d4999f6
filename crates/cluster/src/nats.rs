//! The cluster [`Bus`]: NATS core subjects between nodes.
//!
//! - `publish` hands the envelope to this node's receiver at once (as the in-process bus
//!   does), then queues it for the other nodes. The queue is bounded and never waited on:
//!   when NATS is slow or down the envelope is dropped and counted. Items are durable in the
//!   store, and receivers fill gaps from it, so a dropped envelope only delays a frame; once
//!   publishing works again this node asks every node to resync.
//! - Every envelope carries the id of the node that sent it (plus a per-process suffix, so
//!   two nodes given one id still hear each other); a node ignores its own.
//! - After a NATS outage (or when NATS dropped messages for us as a slow consumer) the
//!   receiver gets [`EnvelopeKind::Resync`]: every room catches up from the store.
//! - Subjects: `<prefix>.s.<shard>`, the shard a hash of the contact id (64 of them), so
//!   that nodes may later subscribe to what they serve only; `<prefix>.s.resync` for resync
//!   requests. The default prefix is `confab`; `?prefix=` in the URL sets another.
//! - Wire format: JSON with a version (`v: 1`); envelopes of other versions are ignored.

use async_nats::Event;
use async_trait::async_trait;
use bytes::Bytes;
use confab_ports::{Bus, Envelope, EnvelopeKind, Receiver};
use futures_util::StreamExt;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Envelopes waiting for NATS, at most; past this they are dropped.
const QUEUE: usize = 8_192;
const SHARDS: u32 = 64;
const WIRE_VERSION: u32 = 1;
/// How long one publish may wait on the NATS client before the queue is given up on.
const PUBLISH_WAIT: Duration = Duration::from_secs(1);
/// How long `connect` waits for the server to confirm the subscriptions.
const CONFIRM_WAIT: Duration = Duration::from_secs(5);

/// An envelope as it travels between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Wire {
    v: u32,
    from: String,
    #[serde(default)]
    contact: String,
    #[serde(flatten)]
    body: Body,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Body {
    Item { seq: u64, json: String },
    Close { participant: Option<String>, after_seq: u64 },
    Resync,
}

impl Wire {
    fn of(from: &str, envelope: &Envelope) -> Wire {
        let body = match &envelope.kind {
            EnvelopeKind::Item { seq, json } => Body::Item { seq: *seq, json: json.to_string() },
            EnvelopeKind::Close { participant_id, after_seq } => {
                Body::Close { participant: participant_id.clone(), after_seq: *after_seq }
            }
            EnvelopeKind::Resync => Body::Resync,
        };
        Wire { v: WIRE_VERSION, from: from.to_owned(), contact: envelope.contact_id.clone(), body }
    }

    fn into_envelope(self) -> Envelope {
        let kind = match self.body {
            Body::Item { seq, json } => EnvelopeKind::Item { seq, json: Arc::from(json) },
            Body::Close { participant, after_seq } => {
                EnvelopeKind::Close { participant_id: participant, after_seq }
            }
            Body::Resync => EnvelopeKind::Resync,
        };
        let contact_id = if kind == EnvelopeKind::Resync { String::new() } else { self.contact };
        Envelope { contact_id, kind }
    }
}

/// What a connection event means for the rooms of this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lost {
    Nothing,
    /// NATS dropped messages to this node: its rooms catch up.
    Here,
    /// The connection came back: this node missed messages, and the others may have missed
    /// what it published meanwhile: every node catches up.
    Everywhere,
}

/// Follows the connection through NATS client events.
#[derive(Debug, Default)]
struct Connectivity {
    disconnected: bool,
}

impl Connectivity {
    fn on_event(&mut self, event: &Event) -> Lost {
        match event {
            Event::Disconnected => {
                self.disconnected = true;
                Lost::Nothing
            }
            // Also sent for the first connection, which follows no outage.
            Event::Connected if std::mem::take(&mut self.disconnected) => Lost::Everywhere,
            Event::SlowConsumer(_) => Lost::Here,
            _ => Lost::Nothing,
        }
    }
}

struct Outgoing {
    subject: String,
    payload: Bytes,
}

/// What the bus handle, the NATS event callback and the tasks share.
struct Shared {
    /// This process on the wire.
    origin: String,
    prefix: String,
    receiver: RwLock<Option<Receiver>>,
    outgoing: mpsc::Sender<Outgoing>,
    connectivity: Mutex<Connectivity>,
    /// Something was not published: once publishing works, ask every node to resync.
    lost: AtomicBool,
    sent: AtomicU64,
    dropped: AtomicU64,
    received: AtomicU64,
}

impl Shared {
    fn deliver(&self, envelope: Envelope) {
        // Clone the Arc and release the lock before calling out, so a receiver may publish.
        let receiver = self.receiver.read().clone();
        if let Some(receiver) = receiver {
            receiver(envelope);
        }
    }

    fn subject(&self, contact_id: &str) -> String {
        format!("{}.s.{}", self.prefix, shard(contact_id))
    }

    fn resync_subject(&self) -> String {
        format!("{}.s.resync", self.prefix)
    }

    /// Queues for the other nodes without waiting.
    fn send(&self, subject: String, wire: &Wire) {
        let payload = match serde_json::to_vec(wire) {
            Ok(bytes) => Bytes::from(bytes),
            Err(e) => return tracing::error!(error = %e, "cannot encode an envelope"),
        };
        if self.outgoing.try_send(Outgoing { subject, payload }).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            if !self.lost.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "NATS publish queue full: dropping envelopes (receivers fill gaps from the store)"
                );
            }
        }
    }

    fn on_event(&self, event: &Event) {
        let lost = self.connectivity.lock().on_event(event);
        match event {
            Event::Connected | Event::Disconnected => tracing::info!(%event, "NATS connection"),
            _ => tracing::warn!(%event, "NATS"),
        }
        if lost == Lost::Nothing {
            return;
        }
        self.deliver(Envelope { contact_id: String::new(), kind: EnvelopeKind::Resync });
        if lost == Lost::Everywhere {
            let resync = Envelope { contact_id: String::new(), kind: EnvelopeKind::Resync };
            self.send(self.resync_subject(), &Wire::of(&self.origin, &resync));
        }
    }

    fn on_message(&self, payload: &[u8]) {
        let wire: Wire = match serde_json::from_slice(payload) {
            Ok(wire) => wire,
            Err(e) => return tracing::debug!(error = %e, "ignoring an undecodable bus message"),
        };
        if wire.v != WIRE_VERSION {
            return tracing::debug!(version = wire.v, "ignoring a bus message of another version");
        }
        if wire.from == self.origin {
            return;
        }
        self.received.fetch_add(1, Ordering::Relaxed);
        self.deliver(wire.into_envelope());
    }
}

/// The shard of a contact: FNV-1a, the same on every node.
fn shard(contact_id: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in contact_id.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % SHARDS
}

pub struct NatsBus {
    client: async_nats::Client,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for NatsBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBus")
            .field("origin", &self.shared.origin)
            .field("prefix", &self.shared.prefix)
            .finish_non_exhaustive()
    }
}

/// Splits `nats://host:port?prefix=p` into the server address and the subject prefix.
fn parse_url(url: &str) -> Result<(String, String), String> {
    let (server, query) = url.split_once('?').unwrap_or((url, ""));
    if !(server.starts_with("nats://") || server.starts_with("tls://")) {
        return Err(format!("bus URL {url:?} is not nats://"));
    }
    let mut prefix = "confab".to_owned();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("prefix", value)) => prefix = value.to_owned(),
            _ => return Err(format!("unknown parameter {pair:?} in bus URL")),
        }
    }
    let valid = prefix.split('.').all(|token| {
        !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if !valid {
        return Err(format!("invalid subject prefix {prefix:?}: dot-separated letters, digits, '_' and '-'"));
    }
    Ok((server.to_owned(), prefix))
}

/// This process on the wire: the node id, then something no other process has.
fn origin(node_id: &str) -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{node_id}/{:x}-{nanos:x}", std::process::id())
}

impl NatsBus {
    /// Connects to `url` (`nats://host:port`, optionally `?prefix=<subject prefix>`) as node
    /// `node_id` and subscribes. Fails when NATS cannot be reached now; later outages are
    /// ridden out (reconnecting for ever, then Resync).
    pub async fn connect(url: &str, node_id: &str) -> Result<NatsBus, String> {
        let (server, prefix) = parse_url(url)?;
        let (outgoing, queue) = mpsc::channel(QUEUE);
        let shared = Arc::new(Shared {
            origin: origin(node_id),
            prefix,
            receiver: RwLock::new(None),
            outgoing,
            connectivity: Mutex::new(Connectivity::default()),
            lost: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            received: AtomicU64::new(0),
        });
        let events = shared.clone();
        let client = async_nats::ConnectOptions::new()
            .name(format!("confab {node_id}"))
            .connection_timeout(Duration::from_secs(5))
            .reconnect_delay_callback(|attempts| {
                Duration::from_millis(100u64.saturating_mul(attempts as u64)).min(Duration::from_secs(2))
            })
            .event_callback(move |event| {
                events.on_event(&event);
                async {}
            })
            .connect(server.as_str())
            .await
            .map_err(|e| format!("connect to NATS at {server}: {e}"))?;
        let subscriber = client
            .subscribe(format!("{}.s.*", shared.prefix))
            .await
            .map_err(|e| format!("subscribe on NATS: {e}"))?;
        confirm_subscriptions(&client, &shared.prefix).await?;
        let tasks = vec![
            tokio::spawn(listen(subscriber, shared.clone())),
            tokio::spawn(forward(client.clone(), queue, shared.clone())),
        ];
        Ok(NatsBus { client, shared, tasks })
    }

    /// Whether the NATS connection is up (for /healthz).
    pub fn is_connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    /// Envelopes handed to NATS so far.
    pub fn sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Envelopes not handed to NATS (queue full, NATS stalled or failing).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Envelopes received from other nodes.
    pub fn received(&self) -> u64 {
        self.shared.received.load(Ordering::Relaxed)
    }
}

impl Drop for NatsBus {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn listen(mut subscriber: async_nats::Subscriber, shared: Arc<Shared>) {
    while let Some(message) = subscriber.next().await {
        shared.on_message(&message.payload);
    }
    tracing::warn!("NATS subscription ended");
}

/// Returns once the server has registered this connection's subscriptions, so that what any
/// node publishes from then on reaches this one. A flush does not tell: it returns when the
/// SUB is written to the socket, and the server may still handle another connection's PUB
/// first (under load, a node's first envelopes were missed that way). The server handles one
/// connection's commands in order, so a message this connection sends to a subject of its own
/// comes back only after every SUB sent before it took effect. The subject is under the bus's
/// prefix (`<prefix>.c.<unique>`, which the nodes' `<prefix>.s.*` does not match), so NATS
/// permissions that allow the bus its prefix allow this too.
async fn confirm_subscriptions(client: &async_nats::Client, prefix: &str) -> Result<(), String> {
    // A new inbox name's last token is a unique id (NUID); the subject itself stays ours.
    let inbox = client.new_inbox();
    let subject = format!("{prefix}.c.{}", inbox.rsplit('.').next().unwrap_or_default());
    let mut echo = client.subscribe(subject.clone()).await.map_err(|e| format!("subscribe on NATS: {e}"))?;
    client.publish(subject, Bytes::new()).await.map_err(|e| format!("publish on NATS: {e}"))?;
    client.flush().await.map_err(|e| format!("flush NATS: {e}"))?;
    match tokio::time::timeout(CONFIRM_WAIT, echo.next()).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err("NATS closed the subscription before confirming it".into()),
        Err(_) => return Err(format!("NATS did not confirm the subscription within {CONFIRM_WAIT:?}")),
    }
    // Best effort: the confirming subscription is not needed any more.
    let _ = echo.unsubscribe().await;
    Ok(())
}

/// Hands queued envelopes to the NATS client. A publish that hangs (the client's own buffer
/// is full while NATS is away) empties the queue: those envelopes are lost, and a resync
/// follows once publishing works again.
async fn forward(client: async_nats::Client, mut queue: mpsc::Receiver<Outgoing>, shared: Arc<Shared>) {
    while let Some(out) = queue.recv().await {
        match tokio::time::timeout(PUBLISH_WAIT, client.publish(out.subject, out.payload)).await {
            Ok(Ok(())) => {
                shared.sent.fetch_add(1, Ordering::Relaxed);
                if shared.lost.swap(false, Ordering::Relaxed) {
                    tracing::info!("NATS publishing again: asking every node to resync");
                    let resync = Envelope { contact_id: String::new(), kind: EnvelopeKind::Resync };
                    shared.send(shared.resync_subject(), &Wire::of(&shared.origin, &resync));
                }
            }
            Ok(Err(e)) => {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                if !shared.lost.swap(true, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "NATS publish failed");
                }
            }
            Err(_) => {
                let mut dropped = 1;
                while queue.try_recv().is_ok() {
                    dropped += 1;
                }
                shared.dropped.fetch_add(dropped, Ordering::Relaxed);
                if !shared.lost.swap(true, Ordering::Relaxed) {
                    tracing::warn!(dropped, "NATS publish stalled: dropping queued envelopes");
                }
            }
        }
    }
}

#[async_trait]
impl Bus for NatsBus {
    async fn publish(&self, envelope: Envelope) {
        let subject = if envelope.kind == EnvelopeKind::Resync {
            self.shared.resync_subject()
        } else {
            self.shared.subject(&envelope.contact_id)
        };
        let wire = Wire::of(&self.shared.origin, &envelope);
        self.shared.deliver(envelope);
        self.shared.send(subject, &wire);
    }

    fn health(&self) -> Result<(), String> {
        if self.is_connected() {
            Ok(())
        } else {
            Err("disconnected from NATS (serving on, catching up when it returns)".into())
        }
    }

    fn set_receiver(&self, receiver: Receiver) {
        *self.shared.receiver.write() = Some(receiver);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(queue: usize) -> (Arc<Shared>, mpsc::Receiver<Outgoing>, Arc<Mutex<Vec<Envelope>>>) {
        let (outgoing, rx) = mpsc::channel(queue);
        let shared = Arc::new(Shared {
            origin: origin("n1"),
            prefix: "t".into(),
            receiver: RwLock::new(None),
            outgoing,
            connectivity: Mutex::new(Connectivity::default()),
            lost: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            received: AtomicU64::new(0),
        });
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = got.clone();
        *shared.receiver.write() = Some(Arc::new(move |e: Envelope| sink.lock().push(e)));
        (shared, rx, got)
    }

    fn resync() -> Envelope {
        Envelope { contact_id: String::new(), kind: EnvelopeKind::Resync }
    }

    #[test]
    fn reconnect_resyncs_here_and_asks_the_others() {
        let (shared, mut rx, got) = shared(8);
        // The first connection is no reconnection.
        shared.on_event(&Event::Connected);
        assert!(got.lock().is_empty());
        shared.on_event(&Event::Disconnected);
        assert!(got.lock().is_empty());
        shared.on_event(&Event::Connected);
        assert_eq!(*got.lock(), vec![resync()]);
        let out = rx.try_recv().expect("a resync request for the others");
        assert_eq!(out.subject, "t.s.resync");
        let wire: Wire = serde_json::from_slice(&out.payload).expect("decode");
        assert_eq!((wire.from.as_str(), wire.body), (shared.origin.as_str(), Body::Resync));
        // Connected again without an outage in between: nothing.
        shared.on_event(&Event::Connected);
        assert_eq!(got.lock().len(), 1);
        // NATS dropped messages to us: only this node catches up.
        shared.on_event(&Event::SlowConsumer(3));
        assert_eq!(got.lock().len(), 2);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn wire_round_trip_and_own_messages_ignored() {
        let (shared, _rx, got) = shared(8);
        let envelopes = [
            Envelope {
                contact_id: "c1".into(),
                kind: EnvelopeKind::Item { seq: 7, json: Arc::from(r#"{"Id":"x"}"#) },
            },
            Envelope {
                contact_id: "c1".into(),
                kind: EnvelopeKind::Close { participant_id: Some("p".into()), after_seq: 7 },
            },
            Envelope {
                contact_id: "c2".into(),
                kind: EnvelopeKind::Close { participant_id: None, after_seq: 0 },
            },
            resync(),
        ];
        for e in &envelopes {
            let mine = serde_json::to_vec(&Wire::of(&shared.origin, e)).expect("encode");
            shared.on_message(&mine);
            let theirs = serde_json::to_vec(&Wire::of("n2/x", e)).expect("encode");
            shared.on_message(&theirs);
        }
        assert_eq!(*got.lock(), envelopes.to_vec());
        assert_eq!(shared.received.load(Ordering::Relaxed), 4);
        // Other versions and garbage are ignored.
        shared.on_message(br#"{"v":2,"from":"n2","type":"resync"}"#);
        shared.on_message(b"not json");
        assert_eq!(got.lock().len(), 4);
        let text = String::from_utf8(serde_json::to_vec(&Wire::of("n", &envelopes[0])).expect("encode"))
            .expect("utf8");
        assert_eq!(
            text,
            r#"{"v":1,"from":"n","contact":"c1","type":"item","seq":7,"json":"{\"Id\":\"x\"}"}"#
        );
    }

    #[test]
    fn full_queue_drops_and_marks_lost() {
        let (shared, _rx, _got) = shared(1);
        let e =
            Envelope { contact_id: "c".into(), kind: EnvelopeKind::Item { seq: 1, json: Arc::from("{}") } };
        shared.send(shared.subject("c"), &Wire::of(&shared.origin, &e));
        assert!(!shared.lost.load(Ordering::Relaxed));
        shared.send(shared.subject("c"), &Wire::of(&shared.origin, &e));
        assert!(shared.lost.load(Ordering::Relaxed));
        assert_eq!(shared.dropped.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn urls_and_shards() {
        assert_eq!(
            parse_url("nats://127.0.0.1:4222").expect("url"),
            ("nats://127.0.0.1:4222".into(), "confab".into())
        );
        assert_eq!(
            parse_url("nats://h:1?prefix=t.run-1_a").expect("url"),
            ("nats://h:1".into(), "t.run-1_a".into())
        );
        for bad in
            ["http://h", "nats://h?prefix=a..b", "nats://h?prefix=a*", "nats://h?prefix=", "nats://h?x=1"]
        {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert!(shard("anything") < SHARDS);
        assert_eq!(shard("c1"), shard("c1"));
        assert_ne!(origin("n"), "n");
    }
}
