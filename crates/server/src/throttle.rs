//! Optional request rates per operation (token buckets), off unless configured: AWS's
//! quotas are per instance and far too low for a test suite, but a team that wants to see
//! its client back off can turn them on (`[server.rate_limits] SendMessage = { rate = 10, burst = 15 }`).

use parking_lot::Mutex;
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Instant;

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests per second, sustained.
    pub rate: f64,
    /// Requests allowed at once.
    pub burst: f64,
}

struct Bucket {
    limit: RateLimit,
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
pub struct Throttle {
    buckets: HashMap<String, Mutex<Bucket>>,
}

impl Throttle {
    pub fn new(limits: &HashMap<String, RateLimit>) -> Throttle {
        let now = Instant::now();
        let buckets = limits
            .iter()
            .map(|(op, limit)| {
                (op.clone(), Mutex::new(Bucket { limit: *limit, tokens: limit.burst, at: now }))
            })
            .collect();
        Throttle { buckets }
    }

    /// Takes one request's token; false when the operation is over its rate.
    pub fn admit(&self, operation: &str) -> bool {
        let Some(bucket) = self.buckets.get(operation) else {
            return true;
        };
        let mut b = bucket.lock();
        let now = Instant::now();
        let refill = now.duration_since(b.at).as_secs_f64() * b.limit.rate;
        b.tokens = (b.tokens + refill).min(b.limit.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse_then_refill() {
        let limits = HashMap::from([("SendMessage".to_owned(), RateLimit { rate: 1000.0, burst: 2.0 })]);
        let t = Throttle::new(&limits);
        assert!(t.admit("SendMessage") && t.admit("SendMessage"));
        assert!(!t.admit("SendMessage"));
        assert!(t.admit("GetTranscript"), "unlimited");
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(t.admit("SendMessage"));
    }
}
