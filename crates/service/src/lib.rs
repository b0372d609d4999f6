//! The operations of confab, one function per API operation, and the rules behind them:
//! contact lifecycle, participant roles, tokens, idempotency, receipts, timers. Talks to
//! the world only through the ports, so every rule runs against any backend and a clock
//! that tests can move.

pub mod attachments;
mod authentication;
mod chat_timers;
pub mod config;
pub mod control;
pub mod flow_blocks;
mod hooks;
mod items;
mod lifecycle;
pub use lifecycle::Session;
pub mod participant;
pub mod streaming;
pub mod timers;
pub mod tokens;
mod views;

use confab_ports::{Blobs, Bus, Clock, Envelope, EnvelopeKind, Store, StoreError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::Notify;

pub use config::Config;
pub use tokens::{Claims, TokenKind, Tokens};

/// Facts about the HTTP request an operation needs (where its websocket URLs point).
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// Base of websocket URLs, e.g. `ws://127.0.0.1:8380` or `wss://chat.example.com/prefix`.
    pub ws_base: String,
    /// Base of URLs confab serves over HTTP itself (attachment uploads and downloads).
    pub http_base: String,
}

/// The ports the service runs on.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub blobs: Arc<dyn Blobs>,
    pub clock: Arc<dyn Clock>,
}

pub struct Service {
    /// This service itself, for work it hands to background tasks.
    me: Weak<Service>,
    /// The configured store with the append hooks (`hooks.rs`): what operations use.
    store: Arc<dyn Store>,
    /// The configured store itself, for hooked commits that bring their own reads
    /// (`Service::commit_sent`).
    backend: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    blobs: Arc<dyn Blobs>,
    clock: Arc<dyn Clock>,
    tokens: Tokens,
    config: Config,
    timers_changed: Notify,
    items_appended: AtomicU64,
    /// Wakes the streaming delivery loop (`streaming/delivery.rs`).
    streaming_queued: Notify,
}

impl Service {
    pub fn new(ports: Ports, config: Config, secret: &[u8]) -> Arc<Service> {
        Arc::new_cyclic(|me| Service {
            me: me.clone(),
            // Appends also queue streaming deliveries and reset chat timers (`hooks.rs`).
            store: hooks::HookedStore::wrap(ports.store.clone(), me.clone()),
            backend: ports.store,
            bus: ports.bus,
            blobs: ports.blobs,
            clock: ports.clock,
            tokens: Tokens::new(secret),
            config,
            timers_changed: Notify::new(),
            items_appended: AtomicU64::new(0),
            streaming_queued: Notify::new(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    pub fn blobs(&self) -> &Arc<dyn Blobs> {
        &self.blobs
    }

    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// Transcript items appended since start (for /metrics).
    pub fn items_appended(&self) -> u64 {
        self.items_appended.load(Ordering::Relaxed)
    }

    /// Tells the timer loop that the schedule may have changed.
    pub fn wake_timers(&self) {
        self.timers_changed.notify_one();
    }

    pub(crate) fn count_items(&self, n: usize) {
        self.items_appended.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) async fn publish_item(&self, contact_id: &str, seq: u64, json: String) {
        let kind = EnvelopeKind::Item { seq, json: Arc::from(json) };
        self.bus.publish(Envelope { contact_id: contact_id.to_owned(), kind }).await;
    }

    pub(crate) async fn publish_close(
        &self,
        contact_id: &str,
        participant_id: Option<String>,
        after_seq: u64,
    ) {
        let kind = EnvelopeKind::Close { participant_id, after_seq };
        self.bus.publish(Envelope { contact_id: contact_id.to_owned(), kind }).await;
    }
}

/// Store failures are server faults for both APIs.
pub(crate) fn internal(e: StoreError) -> String {
    tracing::error!(error = %e, "store failure");
    "The service could not complete the request; try again".to_owned()
}
