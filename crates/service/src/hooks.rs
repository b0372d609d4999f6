//! What every append does besides appending: the service's store is this wrapper around the
//! configured one. A batch that appends transcript items also, in the same transaction,
//!
//! - queues one streaming delivery per item and active stream of the contact (SPEC §6), so a
//!   committed item is never lost to a crash before it is handed to the delivery loop;
//! - resets the chat timers of a participant who sent a message or an attachment (SPEC §5.8),
//!   and clears their idle state (the `participant.returned` event is pushed after the commit).
//!
//! Doing this here rather than in each operation means every operation that appends items
//! (messages, events, attachments, joins, leaves, the chat's end, …) streams them and resets
//! timers without knowing about either. A contact with neither streaming nor timers costs one
//! small record range read per append (the embedded store answers it from memory); an append
//! by a participant starts from the range read with its session instead
//! (`Service::commit_sent`), so it costs no read of its own.

use crate::chat_timers::{self, IdleState, TimersRecord};
use crate::lifecycle::Session;
use crate::streaming::Stream;
use crate::Service;
use async_trait::async_trait;
use confab_ports::{
    Batch, Check, Committed, Contact, ItemQuery, Locate, Millis, OutboxEntry, Participant, Receipt,
    RecordRange, SessionRead, Staged, Store, StoreError, StoredItem, Timer,
};
use confab_wire::item::Item;
use std::collections::HashMap;
use std::sync::{Arc, Weak};

/// Records of this kind hold a contact's streaming and timer state, keyed
/// `<contact id>/streams`, `<contact id>/timers` and `<contact id>/idle/<participant id>`, so
/// that one range read finds all of it.
pub(crate) const RECORD: &str = "contact-live";

/// How often an append retries when a timer fired between its read and its commit.
const CAS_ATTEMPTS: usize = 5;

pub(crate) fn streams_key(contact_id: &str) -> String {
    format!("{contact_id}/streams")
}

pub(crate) fn timers_key(contact_id: &str) -> String {
    format!("{contact_id}/timers")
}

pub(crate) fn idle_key(contact_id: &str, participant_id: &str) -> String {
    format!("{contact_id}/idle/{participant_id}")
}

/// A contact's streaming and timer state, as read, with the raw values for compare-and-set.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub streams: Vec<Stream>,
    pub streams_raw: Option<String>,
    pub timers: Option<TimersRecord>,
    pub timers_raw: Option<String>,
    /// Per participant whose timers are armed: state and raw record.
    pub idle: HashMap<String, (IdleState, String)>,
}

/// The records of a contact's live state (read with [`Live::range`]).
pub(crate) type LiveRecords = Vec<(String, String)>;

/// Most live-state records read for a contact.
const LIVE_LIMIT: usize = 64;

impl Live {
    /// The key prefix of a contact's live-state records.
    pub(crate) fn prefix(contact_id: &str) -> String {
        format!("{contact_id}/")
    }

    /// The record range holding a contact's live state (`prefix` from [`Live::prefix`]).
    pub(crate) fn range(prefix: &str) -> RecordRange<'_> {
        RecordRange { kind: RECORD, prefix, limit: LIVE_LIMIT }
    }

    pub(crate) async fn read(store: &dyn Store, contact_id: &str) -> Result<Live, StoreError> {
        let prefix = Live::prefix(contact_id);
        let range = Live::range(&prefix);
        let records = store.records(range.kind, range.prefix, range.limit).await?;
        Ok(Live::of(contact_id, records))
    }

    /// The live state from its records, as read.
    pub(crate) fn of(contact_id: &str, records: LiveRecords) -> Live {
        let prefix = Live::prefix(contact_id);
        let mut live = Live::default();
        for (key, value) in records {
            if let Some(rest) = key.strip_prefix(&prefix) {
                live.set(rest, Some(value));
            }
        }
        live
    }

    fn set(&mut self, rest: &str, value: Option<String>) {
        if rest == "streams" {
            self.streams = value.as_deref().and_then(|v| serde_json::from_str(v).ok()).unwrap_or_default();
            self.streams_raw = value;
        } else if rest == "timers" {
            self.timers = value.as_deref().and_then(|v| serde_json::from_str(v).ok());
            self.timers_raw = value;
        } else if let Some(participant) = rest.strip_prefix("idle/") {
            match value.and_then(|v| Some((serde_json::from_str(&v).ok()?, v))) {
                Some(state) => self.idle.insert(participant.to_owned(), state),
                None => self.idle.remove(participant),
            };
        }
    }

    /// The state as the batch leaves it: a batch that starts streaming (StartChatContact)
    /// streams its own items.
    fn overlay(&mut self, batch: &Batch) {
        let prefix = format!("{}/", batch.contact_id);
        for write in batch.records.iter().filter(|w| w.kind == RECORD) {
            if let Some(rest) = write.key.strip_prefix(&prefix) {
                self.set(rest, write.value.clone());
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.streams.is_empty() && self.idle.is_empty()
    }
}

/// The service's view of the store. Every method but `commit` is the wrapped store's own
/// (a method added to the Store port must be passed through here too, or its default runs).
pub(crate) struct HookedStore {
    inner: Arc<dyn Store>,
    service: Weak<Service>,
}

impl HookedStore {
    pub(crate) fn wrap(inner: Arc<dyn Store>, service: Weak<Service>) -> Arc<dyn Store> {
        Arc::new(HookedStore { inner, service })
    }
}

/// What an append's hooks did, for after the commit.
#[derive(Default)]
struct Done {
    /// participant.returned events to push (their streaming deliveries are in the batch).
    returned: Vec<Item>,
    queued: bool,
    timers_set: bool,
}

impl Service {
    /// Commits a batch of items sent by the session's participant, with the hooks, starting
    /// from the live state read with the session (in the same request, so no older than the
    /// request: one read fewer per message where reads are round trips).
    pub(crate) async fn commit_sent(&self, session: &Session, batch: Batch) -> Result<Staged, StoreError> {
        if batch.items.is_empty() || batch.contact_id != session.contact.id {
            return self.store.commit_staged(batch).await;
        }
        let live = Live::of(&session.contact.id, session.live_records.clone());
        self.commit_hooked(self.backend.as_ref(), batch, Some(live)).await
    }

    /// `first`: the contact's live state as already read, for the first attempt.
    async fn commit_hooked(
        &self,
        inner: &dyn Store,
        batch: Batch,
        mut first: Option<Live>,
    ) -> Result<Staged, StoreError> {
        // The last attempt leaves the timers alone rather than fail the append or skip streaming.
        for attempt in 1..=CAS_ATTEMPTS {
            let reset = attempt < CAS_ATTEMPTS;
            if !reset {
                tracing::warn!(contact = %batch.contact_id, "timer state kept changing; appending without resetting timers");
            }
            let mut live = match first.take() {
                Some(live) => live,
                None => Live::read(inner, &batch.contact_id).await?,
            };
            live.overlay(&batch);
            if live.is_empty() {
                return inner.commit_staged(batch).await;
            }
            let mut hooked = batch.clone();
            let done = self.add_hooks(inner, &live, &mut hooked, reset).await?;
            match inner.commit_staged(hooked).await {
                Ok(staged) if matches!(staged.committed, Committed::Applied { .. }) => {
                    self.after_hooks(inner, &batch.contact_id, done).await;
                    return Ok(staged);
                }
                // A timer fired (or another message reset the same timers) in between: read again.
                Err(StoreError::CheckFailed(Check::RecordIs { kind, .. })) if kind == RECORD && reset => {
                    continue
                }
                other => return other,
            }
        }
        inner.commit_staged(batch).await
    }

    async fn add_hooks(
        &self,
        inner: &dyn Store,
        live: &Live,
        batch: &mut Batch,
        reset: bool,
    ) -> Result<Done, StoreError> {
        let items: Vec<Item> =
            batch.items.iter().filter_map(|i| serde_json::from_str(&i.json).ok()).collect();
        let mut done = Done::default();
        let now = self.clock.now();
        if reset {
            let reset = chat_timers::reset_for(live, &items, now, batch);
            done.timers_set = reset.touched;
            done.returned = reset.returned;
        }
        if live.streams.is_empty() {
            return Ok(done);
        }
        let contact = match &batch.contact {
            Some(c) => Some(c.clone()),
            None => inner.contact(&batch.contact_id).await?,
        };
        // Streaming stops with the chat: items after its end (none should come) are not sent,
        // while the batch that ends it still streams chat.ended.
        let Some(contact) = contact.filter(|c| c.is_active() || batch.contact.is_some()) else {
            return Ok(done);
        };
        let mut streamed: Vec<&Item> = done.returned.iter().collect();
        streamed.extend(items.iter());
        for item in streamed {
            self.queue_item(batch, &contact, &live.streams, item, now);
        }
        done.queued = true;
        Ok(done)
    }

    async fn after_hooks(&self, inner: &dyn Store, contact_id: &str, done: Done) {
        if done.queued {
            self.wake_streaming();
        }
        if done.timers_set {
            self.wake_timers();
        }
        if done.returned.is_empty() {
            return;
        }
        if let Ok(Some(contact)) = inner.contact(contact_id).await {
            for item in &done.returned {
                self.publish_item(&contact.id, 0, crate::items::pushed_json(item, &contact)).await;
            }
        }
    }
}

#[async_trait]
impl Store for HookedStore {
    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        let staged = self.commit_staged(batch).await?;
        staged.durable.wait().await?;
        Ok(staged.committed)
    }

    async fn commit_staged(&self, batch: Batch) -> Result<Staged, StoreError> {
        match self.service.upgrade() {
            Some(service) if !batch.items.is_empty() => {
                service.commit_hooked(self.inner.as_ref(), batch, None).await
            }
            _ => self.inner.commit_staged(batch).await,
        }
    }

    async fn contact(&self, id: &str) -> Result<Option<Contact>, StoreError> {
        self.inner.contact(id).await
    }

    async fn participant(&self, id: &str) -> Result<Option<Participant>, StoreError> {
        self.inner.participant(id).await
    }

    async fn participant_in_with_records(
        &self,
        participant_id: &str,
        contact_id: &str,
        records: RecordRange<'_>,
    ) -> Result<Option<SessionRead>, StoreError> {
        self.inner.participant_in_with_records(participant_id, contact_id, records).await
    }

    async fn participants(&self, contact_id: &str) -> Result<Vec<Participant>, StoreError> {
        self.inner.participants(contact_id).await
    }

    async fn idempotent(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.idempotent(key).await
    }

    async fn locate(&self, contact_id: &str, at: Locate) -> Result<Option<u64>, StoreError> {
        self.inner.locate(contact_id, at).await
    }

    async fn items(&self, query: ItemQuery) -> Result<Vec<StoredItem>, StoreError> {
        self.inner.items(query).await
    }

    async fn receipts(&self, contact_id: &str, message_ids: &[String]) -> Result<Vec<Receipt>, StoreError> {
        self.inner.receipts(contact_id, message_ids).await
    }

    async fn due_timers(&self, now: Millis, limit: usize) -> Result<Vec<Timer>, StoreError> {
        self.inner.due_timers(now, limit).await
    }

    async fn claim_timers(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<Timer>, StoreError> {
        self.inner.claim_timers(now, limit, lease_until).await
    }

    async fn claim_outbox(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.claim_outbox(now, limit, lease_until).await
    }

    async fn next_timer(&self) -> Result<Option<Millis>, StoreError> {
        self.inner.next_timer().await
    }

    async fn record(&self, kind: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.record(kind, key).await
    }

    async fn records(
        &self,
        kind: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.records(kind, prefix, limit).await
    }

    async fn outbox_due(&self, now: Millis, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.inner.outbox_due(now, limit).await
    }

    async fn active_contacts(&self) -> Result<u64, StoreError> {
        self.inner.active_contacts().await
    }

    async fn health(&self) -> Result<(), StoreError> {
        self.inner.health().await
    }
}
