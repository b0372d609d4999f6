//! What the sockets and senders of a run count: send→deliver latency (HDR histogram),
//! deliveries, heartbeat and ping answers, and errors by kind.

use hdrhistogram::Histogram;
use parking_lot::Mutex;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Marks a bench message's content: `bench~<nanoseconds since the run's epoch>~`. Only
/// letters, digits and `~`, so it reads the same inside the double-encoded frame.
const MARK: &str = "bench~";

/// A latency histogram in microseconds, 1 µs to 1 min at 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!("valid bounds"))
}

/// p50…max in milliseconds.
pub fn summary(h: &Histogram<u64>) -> Value {
    let ms = |us: u64| crate::procfs::round(us as f64 / 1000.0, 3);
    json!({
        "count": h.len(),
        "p50_ms": ms(h.value_at_quantile(0.5)),
        "p90_ms": ms(h.value_at_quantile(0.9)),
        "p99_ms": ms(h.value_at_quantile(0.99)),
        "p99_9_ms": ms(h.value_at_quantile(0.999)),
        "max_ms": ms(h.max()),
        "mean_ms": crate::procfs::round(h.mean() / 1000.0, 3),
    })
}

#[derive(Default)]
pub struct Errors(Mutex<BTreeMap<String, u64>>);

impl Errors {
    pub fn add(&self, kind: impl Into<String>) {
        *self.0.lock().entry(kind.into()).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.0.lock().values().sum()
    }

    pub fn json(&self) -> Value {
        Value::Object(self.0.lock().iter().map(|(k, v)| (k.clone(), json!(v))).collect::<Map<_, _>>())
    }
}

pub struct Tally {
    epoch: Instant,
    /// Sends made within [from, to) (ns since epoch) are recorded in `latency`.
    window_from: AtomicU64,
    window_to: AtomicU64,
    /// Send → frame on the other participant's socket.
    pub latency: Mutex<Histogram<u64>>,
    /// SendMessage call → its answer.
    pub ack: Mutex<Histogram<u64>>,
    /// Bench message frames, on any socket / on the other participant's socket.
    pub delivered: AtomicU64,
    pub delivered_other: AtomicU64,
    pub heartbeats: AtomicU64,
    pub pings_ok: AtomicU64,
    pub sent_ok: AtomicU64,
    pub errors: Errors,
}

impl Default for Tally {
    fn default() -> Self {
        Tally {
            epoch: Instant::now(),
            window_from: AtomicU64::new(u64::MAX),
            window_to: AtomicU64::new(u64::MAX),
            latency: Mutex::new(histogram()),
            ack: Mutex::new(histogram()),
            delivered: AtomicU64::new(0),
            delivered_other: AtomicU64::new(0),
            heartbeats: AtomicU64::new(0),
            pings_ok: AtomicU64::new(0),
            sent_ok: AtomicU64::new(0),
            errors: Errors::default(),
        }
    }
}

impl Tally {
    pub fn now_ns(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    pub fn ns_of(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Record sends made from now on, until `stop_recording`.
    pub fn start_recording(&self) {
        self.window_from.store(self.now_ns(), Ordering::SeqCst);
    }

    pub fn stop_recording(&self) {
        self.window_to.store(self.now_ns(), Ordering::SeqCst);
    }

    fn in_window(&self, sent_ns: u64) -> bool {
        sent_ns >= self.window_from.load(Ordering::Relaxed)
            && sent_ns < self.window_to.load(Ordering::Relaxed)
    }

    /// The content of a bench message sent at `sent_ns`.
    pub fn content(sent_ns: u64) -> String {
        format!("{MARK}{sent_ns}~ the quick brown fox jumps over the lazy dog")
    }

    /// A SendMessage answered after `took`.
    pub fn acked(&self, sent_ns: u64, took: Duration) {
        self.sent_ok.fetch_add(1, Ordering::Relaxed);
        if self.in_window(sent_ns) {
            let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
            self.ack.lock().saturating_record(us);
        }
    }

    /// A text frame arrived on a socket; `other` when the socket is not the sender's.
    pub fn frame(&self, text: &str, other: bool) {
        if let Some(sent_ns) = marked(text) {
            self.delivered.fetch_add(1, Ordering::Relaxed);
            if other {
                self.delivered_other.fetch_add(1, Ordering::Relaxed);
                if self.in_window(sent_ns) {
                    let us = self.now_ns().saturating_sub(sent_ns) / 1000;
                    self.latency.lock().saturating_record(us.max(1));
                }
            }
        } else if text.contains("\"aws/heartbeat\"") {
            self.heartbeats.fetch_add(1, Ordering::Relaxed);
        } else if text.contains("\"aws/ping\"") {
            if text.contains("\"statusCode\":200") {
                self.pings_ok.fetch_add(1, Ordering::Relaxed);
            } else {
                self.errors.add("ping_not_200");
            }
        }
    }

    pub fn count(&self, c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }
}

/// The send time carried by a bench message frame.
fn marked(text: &str) -> Option<u64> {
    let at = text.find(MARK)? + MARK.len();
    let digits = &text[at..];
    let end = digits.find('~')?;
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_double_encoding() {
        let content = Tally::content(12345);
        let item = json!({"Content": content, "Type": "MESSAGE"}).to_string();
        let frame = json!({"topic": "aws/chat", "content": item}).to_string();
        assert_eq!(marked(&frame), Some(12345));
        assert_eq!(marked(r#"{"topic":"aws/heartbeat"}"#), None);
    }

    #[test]
    fn records_only_inside_the_window() {
        let t = Tally::default();
        t.frame(&Tally::content(5), true);
        assert_eq!(t.latency.lock().len(), 0);
        t.start_recording();
        t.frame(&Tally::content(t.now_ns()), true);
        t.frame(&Tally::content(t.now_ns()), false);
        assert_eq!(t.latency.lock().len(), 1);
        assert_eq!(t.count(&t.delivered), 3);
    }
}
