//! The Store port: durable state. Every mutation is one [`Batch`], applied atomically; the
//! answer comes only once the batch is durable.

use crate::records::{
    Contact, NewItem, NewOutbox, OutboxEntry, Participant, Receipt, RecordWrite, StoredItem, Timer,
};
use crate::Millis;
use async_trait::async_trait;

/// A condition checked inside the transaction that applies a batch. If one fails, nothing
/// of the batch is applied and [`StoreError::CheckFailed`] names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The batch's contact exists and has not ended.
    ContactActive,
    /// The participant exists in the batch's contact and has not left.
    ParticipantActive(String),
    /// The contact has fewer than this many participants (counting those who left).
    ParticipantsFewerThan(usize),
    /// The record `(kind, key)` holds exactly this value (None: it does not exist). A
    /// compare-and-set for state kept in records (attachments, views, sessions).
    RecordIs { kind: String, key: String, value: Option<String> },
}

/// Everything one operation changes, applied all or nothing.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub contact_id: String,
    pub checks: Vec<Check>,
    /// When set and the key was already recorded, nothing is applied and the recorded
    /// response is returned instead.
    pub idempotency: Option<(String, String)>,
    /// Insert or replace.
    pub contact: Option<Contact>,
    /// Insert or replace.
    pub participants: Vec<Participant>,
    /// Appended in order, each with the next sequence number of the contact.
    pub items: Vec<NewItem>,
    /// Merged into existing receipts (first timestamp of each kind wins).
    pub receipts: Vec<Receipt>,
    pub set_timers: Vec<Timer>,
    pub cancel_timers: Vec<String>,
    /// Small records by (kind, key): set or delete.
    pub records: Vec<RecordWrite>,
    /// Deliveries to queue (streaming), in order per stream.
    pub outbox: Vec<NewOutbox>,
    /// Deliveries done (removed).
    pub outbox_done: Vec<i64>,
    /// Deliveries to try again later: (id, not before).
    pub outbox_retry: Vec<(i64, Millis)>,
}

impl Batch {
    pub fn new(contact_id: impl Into<String>) -> Batch {
        Batch { contact_id: contact_id.into(), ..Batch::default() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    /// Applied; the sequence numbers given to `items`, in order.
    Applied { seqs: Vec<u64> },
    /// The idempotency key was known: this is the response recorded with it.
    Replayed { response: String },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("check failed: {0:?}")]
    CheckFailed(Check),
    #[error("store backend: {0}")]
    Backend(String),
}

/// A commit applied and visible to readers, whose durability may still be on its way (see
/// [`Store::commit_staged`]).
#[derive(Debug)]
pub struct Staged {
    pub committed: Committed,
    pub durable: Durable,
}

/// Resolves once a staged commit is durable.
#[derive(Debug)]
pub struct Durable(Option<tokio::sync::oneshot::Receiver<Result<(), StoreError>>>);

impl Durable {
    /// Already durable.
    pub fn now() -> Durable {
        Durable(None)
    }

    /// Durable when `rx` says so.
    pub fn later(rx: tokio::sync::oneshot::Receiver<Result<(), StoreError>>) -> Durable {
        Durable(Some(rx))
    }

    pub async fn wait(self) -> Result<(), StoreError> {
        match self.0 {
            None => Ok(()),
            Some(rx) => rx.await.unwrap_or_else(|_| {
                Err(StoreError::Backend("the store stopped before the commit was durable".into()))
            }),
        }
    }
}

/// Where a transcript read starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Locate {
    ItemId(String),
    /// The first item at or after this instant.
    AtOrAfter(Millis),
    /// The last item at or before this instant.
    AtOrBefore(Millis),
    /// The newest item.
    Last,
}

/// A page of a contact's transcript: items with `seq >= from` ascending, or `seq <= from`
/// descending, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemQuery {
    pub contact_id: String,
    pub from: u64,
    pub ascending: bool,
    pub limit: usize,
}

/// Records of one kind whose keys start with `prefix`, at most `limit`, as
/// [`Store::records`] reads them.
#[derive(Debug, Clone, Copy)]
pub struct RecordRange<'a> {
    pub kind: &'a str,
    pub prefix: &'a str,
    pub limit: usize,
}

/// What [`Store::participant_in_with_records`] reads.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRead {
    pub participant: Participant,
    pub contact: Contact,
    /// (key, value) in key order.
    pub records: Vec<(String, String)>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies a batch atomically and durably (group-committed with concurrent batches).
    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError>;
    /// Like `commit`, but answers as soon as the batch is applied and visible to readers,
    /// with a [`Durable`] to wait on before telling anyone outside that it is done. A store
    /// whose visible writes survive the crash of its own process (written to the operating
    /// system, the sync pending) may answer early; others answer when durable, as `commit`.
    async fn commit_staged(&self, batch: Batch) -> Result<Staged, StoreError> {
        Ok(Staged { committed: self.commit(batch).await?, durable: Durable::now() })
    }
    async fn contact(&self, id: &str) -> Result<Option<Contact>, StoreError>;
    async fn participant(&self, id: &str) -> Result<Option<Participant>, StoreError>;
    /// A participant with its contact, when both exist and the participant belongs to that
    /// contact, and [`Store::records`]`(kind, prefix, limit)`: what every participant call
    /// reads first (the records: its contact's live state, for appends). A store whose reads
    /// are round trips answers it with one.
    async fn participant_in_with_records(
        &self,
        participant_id: &str,
        contact_id: &str,
        records: RecordRange<'_>,
    ) -> Result<Option<SessionRead>, StoreError> {
        let Some(participant) = self.participant(participant_id).await? else {
            return Ok(None);
        };
        let Some(contact) = self.contact(contact_id).await?.filter(|c| c.id == participant.contact_id) else {
            return Ok(None);
        };
        let records = self.records(records.kind, records.prefix, records.limit).await?;
        Ok(Some(SessionRead { participant, contact, records }))
    }
    async fn participants(&self, contact_id: &str) -> Result<Vec<Participant>, StoreError>;
    /// The response recorded with an idempotency key, if any.
    async fn idempotent(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// The sequence number a transcript read starts from, or None when there is no such item.
    async fn locate(&self, contact_id: &str, at: Locate) -> Result<Option<u64>, StoreError>;
    async fn items(&self, query: ItemQuery) -> Result<Vec<StoredItem>, StoreError>;
    /// Receipts recorded for these messages of a contact.
    async fn receipts(&self, contact_id: &str, message_ids: &[String]) -> Result<Vec<Receipt>, StoreError>;
    /// Timers due at or before `now`, earliest first (they stay until a batch cancels them).
    async fn due_timers(&self, now: Millis, limit: usize) -> Result<Vec<Timer>, StoreError>;
    /// Like `due_timers`, for one node among several: the timers returned are leased to the
    /// caller until `lease_until`, and other callers do not get them before then (row locks
    /// with SKIP LOCKED, or equal). A timer stays until a batch cancels it, so a node that
    /// dies holding a lease only delays it. One node alone may ignore leases.
    async fn claim_timers(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<Timer>, StoreError> {
        let _ = lease_until;
        self.due_timers(now, limit).await
    }
    /// Like `outbox_due`, leased as `claim_timers` is.
    async fn claim_outbox(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let _ = lease_until;
        self.outbox_due(now, limit).await
    }
    /// When the earliest timer is due.
    async fn next_timer(&self) -> Result<Option<Millis>, StoreError>;
    /// One record.
    async fn record(&self, kind: &str, key: &str) -> Result<Option<String>, StoreError>;
    /// Records of a kind whose key starts with `prefix`, by key, at most `limit`.
    async fn records(
        &self,
        kind: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// The first pending delivery of each stream, when it is due at `now`, oldest first.
    async fn outbox_due(&self, now: Millis, limit: usize) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Contacts that have not ended.
    async fn active_contacts(&self) -> Result<u64, StoreError>;
    /// Cheap liveness check for /healthz.
    async fn health(&self) -> Result<(), StoreError>;
}
