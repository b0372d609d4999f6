//! Prometheus text for `/metrics`: requests by operation and status with latency
//! histograms, plus gauges the caller supplies (active contacts, open websockets, items).

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), Histogram>>,
}

impl Metrics {
    pub fn observe(&self, operation: &'static str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut requests = self.requests.lock();
        let h = requests.entry((operation, status)).or_default();
        h.count += 1;
        h.sum += secs;
        if let Some(i) = BUCKETS.iter().position(|b| secs <= *b) {
            h.counts[i] += 1;
        }
    }

    /// Renders everything; `gauges` are (name, help, value).
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let requests = self.requests.lock().clone();
        let _ = writeln!(out, "# HELP confab_requests_total Requests by operation and HTTP status.");
        let _ = writeln!(out, "# TYPE confab_requests_total counter");
        for ((op, status), h) in &requests {
            let _ =
                writeln!(out, "confab_requests_total{{operation=\"{op}\",status=\"{status}\"}} {}", h.count);
        }
        let _ = writeln!(
            out,
            "# HELP confab_request_duration_seconds Request latency by operation and HTTP status."
        );
        let _ = writeln!(out, "# TYPE confab_request_duration_seconds histogram");
        for ((op, status), h) in &requests {
            let mut cumulative = 0;
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                cumulative += n;
                let _ = writeln!(out, "confab_request_duration_seconds_bucket{{operation=\"{op}\",status=\"{status}\",le=\"{bound}\"}} {cumulative}");
            }
            let _ = writeln!(out, "confab_request_duration_seconds_bucket{{operation=\"{op}\",status=\"{status}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(
                out,
                "confab_request_duration_seconds_sum{{operation=\"{op}\",status=\"{status}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "confab_request_duration_seconds_count{{operation=\"{op}\",status=\"{status}\"}} {}",
                h.count
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_buckets() {
        let m = Metrics::default();
        m.observe("SendMessage", 200, Duration::from_micros(700));
        m.observe("SendMessage", 200, Duration::from_millis(3));
        let text = m.render(&[("confab_open_websockets", "Open websockets.", 2.0)]);
        assert!(text.contains("confab_requests_total{operation=\"SendMessage\",status=\"200\"} 2"));
        assert!(text.contains("le=\"0.001\"} 1"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("confab_open_websockets 2"));
    }
}
