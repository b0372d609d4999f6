//! The delivery loop: sends queued streaming deliveries from the durable outbox, the head of
//! each stream at a time (so a stream's items arrive in order), many streams at once (so a
//! slow sink holds up only its own contact). A delivery leaves the outbox only once its sink
//! answered 2xx: at least once, across crashes. A failed one is retried with exponential
//! backoff measured on the Clock port.

use super::Delivery;
use crate::Service;
use confab_ports::{Batch, OutboxEntry};
use parking_lot::Mutex;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How often the loop looks for retries that came due (new deliveries wake it at once).
const POLL_MS: i64 = 1_000;
/// A delivery's lease outlasts its POST's timeout by this much.
const LEASE_MARGIN_MS: i64 = 15_000;
/// Deliveries in flight at once, across all streams.
const MAX_IN_FLIGHT: usize = 64;

type InFlight = Arc<Mutex<HashSet<String>>>;

impl Service {
    /// Runs until the process ends.
    pub async fn run_streaming(self: Arc<Service>) {
        let Some(client) = self.http_client() else {
            return;
        };
        let in_flight: InFlight = Arc::default();
        loop {
            let now = self.clock.now();
            // Leased for longer than one POST may take: in a cluster, another node sends a
            // stream's head only once this node had time to finish (or died).
            let lease_until = now
                + i64::try_from(self.config.streaming.timeout_ms).unwrap_or(i64::MAX / 2)
                + LEASE_MARGIN_MS;
            // Claim no more than can start: a claimed entry left waiting would stay leased.
            let free = MAX_IN_FLIGHT.saturating_sub(in_flight.lock().len());
            if free > 0 {
                match self.store.claim_outbox(now, free, lease_until).await {
                    Ok(due) => self.start_deliveries(&client, &in_flight, due),
                    Err(e) => tracing::warn!(error = %e, "reading the streaming outbox failed"),
                }
            }
            tokio::select! {
                () = self.clock.sleep_until(now + POLL_MS) => {}
                () = self.streaming_queued.notified() => {}
            }
        }
    }

    /// The client for sinks: http, and https trusting the system's root certificates.
    fn http_client(&self) -> Option<reqwest::Client> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(Duration::from_millis(self.config.streaming.timeout_ms))
                .user_agent("confab-streaming")
                .no_proxy()
        };
        match builder().build() {
            Ok(client) => Some(client),
            Err(e) => {
                // Unreadable system certificates must not stop plain-http streaming.
                tracing::warn!(error = %e, "system root certificates unusable: https sinks will fail");
                builder()
                    .tls_built_in_root_certs(false)
                    .build()
                    .map_err(|e| tracing::error!(error = %e, "no HTTP client: message streaming is off"))
                    .ok()
            }
        }
    }

    fn start_deliveries(&self, client: &reqwest::Client, in_flight: &InFlight, due: Vec<OutboxEntry>) {
        let Some(me) = self.me.upgrade() else {
            return;
        };
        for entry in due {
            {
                let mut busy = in_flight.lock();
                if busy.len() >= MAX_IN_FLIGHT || !busy.insert(entry.stream.clone()) {
                    continue;
                }
            }
            let (service, client, in_flight) = (me.clone(), client.clone(), in_flight.clone());
            tokio::spawn(async move {
                service.deliver(&client, &entry, &in_flight).await;
                // The stream's next delivery may be waiting.
                service.wake_streaming();
            });
        }
    }

    /// Sends one delivery and records the outcome: done, or retried later. The stream stops
    /// counting as in flight just before the outcome is written: until then its entry is
    /// leased (nobody claims it), and once written the stream's next entry may be claimed
    /// and must not be skipped as busy (it would stay leased, the stream held back for the
    /// whole lease).
    async fn deliver(&self, client: &reqwest::Client, entry: &OutboxEntry, in_flight: &InFlight) {
        let contact_id = entry.stream.split_once('/').map_or(entry.stream.as_str(), |(c, _)| c);
        let mut batch = Batch::new(contact_id.to_owned());
        match serde_json::from_str::<Delivery>(&entry.payload) {
            Ok(delivery) => self.send_and_judge(client, entry, &delivery, &mut batch).await,
            Err(_) => {
                tracing::warn!(id = entry.id, "dropping an unreadable streaming delivery");
                batch.outbox_done.push(entry.id);
            }
        }
        in_flight.lock().remove(&entry.stream);
        self.record_outcome(batch).await;
    }

    /// Posts one delivery and adds its outcome to `batch`: done, given up, or retried later.
    async fn send_and_judge(
        &self,
        client: &reqwest::Client,
        entry: &OutboxEntry,
        delivery: &Delivery,
        batch: &mut Batch,
    ) {
        match self.post(client, delivery).await {
            Ok(()) => batch.outbox_done.push(entry.id),
            Err(why) => {
                let now = self.clock.now();
                if now - delivery.queued >= self.config.streaming.give_up_secs * 1000 {
                    tracing::warn!(endpoint = %delivery.endpoint, message_id = %delivery.message_id, %why,
                        "streaming delivery still failing; giving up on it");
                    batch.outbox_done.push(entry.id);
                } else {
                    tracing::debug!(endpoint = %delivery.endpoint, attempts = entry.attempts, %why, "streaming delivery failed; will retry");
                    batch.outbox_retry.push((entry.id, now + self.backoff(entry.attempts)));
                }
            }
        }
    }

    /// A failed write leaves the delivery at the head of its stream: it is sent again.
    async fn record_outcome(&self, batch: Batch) {
        if let Err(e) = self.store.commit(batch).await {
            tracing::warn!(error = %e, "recording a streaming delivery failed; it will be sent again");
        }
    }

    /// Delay before retry number `attempts + 1`: doubling from the first delay, capped.
    fn backoff(&self, attempts: u32) -> i64 {
        let config = &self.config.streaming;
        let factor = 1_i64 << attempts.min(30);
        config.retry_first_ms.saturating_mul(factor).min(config.retry_max_ms).max(1)
    }

    /// POSTs a notification the way SNS does to an HTTP subscription.
    async fn post(&self, client: &reqwest::Client, delivery: &Delivery) -> Result<(), String> {
        let url = self.config.streaming.target(&delivery.endpoint)?;
        let mut request = client
            .post(url)
            .header("content-type", "text/plain; charset=UTF-8")
            .header("x-amz-sns-message-type", "Notification")
            .header("x-amz-sns-message-id", delivery.message_id.as_str())
            .body(delivery.body.clone());
        if let Ok(arn) = reqwest::header::HeaderValue::from_str(&delivery.endpoint) {
            request = request.header("x-amz-sns-topic-arn", arn);
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("the sink answered {}", response.status()))
        }
    }
}
