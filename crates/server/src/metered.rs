//! Backends wrapped to measure themselves: every call's latency and failures, by backend
//! and call, for /metrics. The wrappers change nothing else.

use async_trait::async_trait;
use bytes::Bytes;
use confab_ports::{
    Batch, BlobError, Blobs, Committed, Contact, ItemQuery, Locate, Millis, OutboxEntry, Participant,
    Presign, Presigned, Receipt, RecordRange, SessionRead, Staged, Store, StoreError, StoredItem, Timer,
};
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

const BUCKETS: [f64; 10] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0];

#[derive(Default, Clone)]
struct Calls {
    counts: [u64; BUCKETS.len()],
    count: u64,
    errors: u64,
    sum: f64,
}

/// Latency and errors of backend calls, by (backend, call).
#[derive(Default)]
pub struct BackendMetrics {
    calls: Mutex<BTreeMap<(&'static str, &'static str), Calls>>,
}

impl BackendMetrics {
    async fn time<T, E>(
        &self,
        backend: &'static str,
        call: &'static str,
        f: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let started = Instant::now();
        let result = f.await;
        let secs = started.elapsed().as_secs_f64();
        let mut calls = self.calls.lock();
        let c = calls.entry((backend, call)).or_default();
        c.count += 1;
        c.sum += secs;
        c.errors += u64::from(result.is_err());
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            c.counts[i] += 1;
        }
        result
    }

    pub fn render(&self) -> String {
        let calls = self.calls.lock().clone();
        let mut out = String::new();
        let _ = writeln!(out, "# HELP confab_backend_call_duration_seconds Latency of backend calls.");
        let _ = writeln!(out, "# TYPE confab_backend_call_duration_seconds histogram");
        for ((backend, call), c) in &calls {
            let labels = format!("backend=\"{backend}\",call=\"{call}\"");
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(c.counts) {
                cumulative += n;
                let _ = writeln!(
                    out,
                    "confab_backend_call_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "confab_backend_call_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                c.count
            );
            let _ = writeln!(out, "confab_backend_call_duration_seconds_sum{{{labels}}} {}", c.sum);
            let _ = writeln!(out, "confab_backend_call_duration_seconds_count{{{labels}}} {}", c.count);
        }
        let _ = writeln!(out, "# HELP confab_backend_errors_total Failed backend calls.");
        let _ = writeln!(out, "# TYPE confab_backend_errors_total counter");
        for ((backend, call), c) in &calls {
            let _ = writeln!(
                out,
                "confab_backend_errors_total{{backend=\"{backend}\",call=\"{call}\"}} {}",
                c.errors
            );
        }
        out
    }
}

pub struct MeteredStore {
    pub inner: Arc<dyn Store>,
    pub name: &'static str,
    pub metrics: Arc<BackendMetrics>,
}

#[async_trait]
impl Store for MeteredStore {
    async fn commit(&self, batch: Batch) -> Result<Committed, StoreError> {
        self.metrics.time(self.name, "commit", self.inner.commit(batch)).await
    }
    /// Counted as `commit`: the same call to the backend, timed until the batch is committed
    /// (its sync is the store's own pipeline).
    async fn commit_staged(&self, batch: Batch) -> Result<Staged, StoreError> {
        self.metrics.time(self.name, "commit", self.inner.commit_staged(batch)).await
    }
    async fn contact(&self, id: &str) -> Result<Option<Contact>, StoreError> {
        self.metrics.time(self.name, "contact", self.inner.contact(id)).await
    }
    async fn participant(&self, id: &str) -> Result<Option<Participant>, StoreError> {
        self.metrics.time(self.name, "participant", self.inner.participant(id)).await
    }
    async fn participant_in_with_records(
        &self,
        participant_id: &str,
        contact_id: &str,
        records: RecordRange<'_>,
    ) -> Result<Option<SessionRead>, StoreError> {
        let read = self.inner.participant_in_with_records(participant_id, contact_id, records);
        self.metrics.time(self.name, "participant_in_with_records", read).await
    }
    async fn participants(&self, contact_id: &str) -> Result<Vec<Participant>, StoreError> {
        self.metrics.time(self.name, "participants", self.inner.participants(contact_id)).await
    }
    async fn idempotent(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.metrics.time(self.name, "idempotent", self.inner.idempotent(key)).await
    }
    async fn locate(&self, contact_id: &str, at: Locate) -> Result<Option<u64>, StoreError> {
        self.metrics.time(self.name, "locate", self.inner.locate(contact_id, at)).await
    }
    async fn items(&self, query: ItemQuery) -> Result<Vec<StoredItem>, StoreError> {
        self.metrics.time(self.name, "items", self.inner.items(query)).await
    }
    async fn receipts(&self, contact_id: &str, message_ids: &[String]) -> Result<Vec<Receipt>, StoreError> {
        self.metrics.time(self.name, "receipts", self.inner.receipts(contact_id, message_ids)).await
    }
    async fn due_timers(&self, now: Millis, limit: usize) -> Result<Vec<Timer>, StoreError> {
        self.metrics.time(self.name, "due_timers", self.inner.due_timers(now, limit)).await
    }
    async fn claim_timers(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<Timer>, StoreError> {
        self.metrics.time(self.name, "claim_timers", self.inner.claim_timers(now, limit, lease_until)).await
    }
    async fn claim_outbox(
        &self,
        now: Millis,
        limit: usize,
        lease_until: Millis,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        self.metrics.time(self.name, "claim_outbox", self.inner.claim_outbox(now, limit, lease_until)).await
    }
    async fn next_timer(&self) -> Result<Option<Millis>, StoreError> {
        self.metrics.time(self.name, "next_timer", self.inner.next_timer()).await
    }
    async fn record(&self, kind: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.metrics.time(self.name, "record", self.inner.record(kind, key)).await
    }
    async fn records(
        &self,
        kind: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<(String, String)>, StoreError> {
        self.metrics.time(self.name, "records", self.inner.records(kind, prefix, limit)).await
    }
    async fn outbox_due(&self, now: Millis, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        self.metrics.time(self.name, "outbox_due", self.inner.outbox_due(now, limit)).await
    }
    async fn active_contacts(&self) -> Result<u64, StoreError> {
        self.metrics.time(self.name, "active_contacts", self.inner.active_contacts()).await
    }
    async fn health(&self) -> Result<(), StoreError> {
        self.metrics.time(self.name, "health", self.inner.health()).await
    }
}

pub struct MeteredBlobs {
    pub inner: Arc<dyn Blobs>,
    pub name: &'static str,
    pub metrics: Arc<BackendMetrics>,
}

#[async_trait]
impl Blobs for MeteredBlobs {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        self.metrics.time(self.name, "put", self.inner.put(key, bytes)).await
    }
    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        self.metrics.time(self.name, "get", self.inner.get(key)).await
    }
    async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        self.metrics.time(self.name, "size", self.inner.size(key)).await
    }
    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.metrics.time(self.name, "delete", self.inner.delete(key)).await
    }
    fn presign(&self, what: &Presign) -> Option<Presigned> {
        self.inner.presign(what)
    }
    async fn health(&self) -> Result<(), BlobError> {
        self.metrics.time(self.name, "health", self.inner.health()).await
    }
}
