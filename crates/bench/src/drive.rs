//! SendMessage load: closed loop (each client sends again as soon as it is answered) for
//! throughput, open loop (calls started on a fixed schedule) for latency.

use crate::chat;
use crate::http::Conn;
use crate::tally::{histogram, Tally};
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// One SendMessage, timed and counted.
async fn send_one(conn: &mut Conn, token: &str, tally: &Tally) -> bool {
    let started = std::time::Instant::now();
    let sent_ns = tally.ns_of(started);
    match chat::send(conn, token, &Tally::content(sent_ns)).await {
        Ok(200) => {
            tally.acked(sent_ns, started.elapsed());
            true
        }
        Ok(status) => {
            tally.errors.add(format!("send_http_{status}"));
            true
        }
        Err(e) => {
            tally.errors.add(if e.to_string().starts_with("timeout") { "send_timeout" } else { "send_io" });
            false
        }
    }
}

/// `workers` clients, client w sending on chat w (mod the chats), until `end`.
pub async fn closed_loop(
    addr: SocketAddr,
    tokens: Arc<Vec<String>>,
    workers: usize,
    end: Instant,
    tally: Arc<Tally>,
) {
    let mut tasks = Vec::new();
    for w in 0..workers {
        let (tokens, tally) = (tokens.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(mut conn) = Conn::connect(addr, None).await else {
                tally.errors.add("http_connect");
                return;
            };
            let token = &tokens[w % tokens.len()];
            while Instant::now() < end {
                if !send_one(&mut conn, token, &tally).await {
                    return;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// The schedule of an open loop: call k starts at `start + k / rate`.
pub struct Schedule {
    pub start: Instant,
    pub rate: f64,
    pub total: u64,
}

/// Starts every call of `schedule` on time (as far as `workers` clients allow), call k on
/// chat k (mod the chats). Returns how late calls started (µs).
pub async fn open_loop(
    addr: SocketAddr,
    tokens: Arc<Vec<String>>,
    workers: usize,
    schedule: Schedule,
    tally: Arc<Tally>,
) -> Histogram<u64> {
    let next = Arc::new(AtomicU64::new(0));
    let lag = Arc::new(Mutex::new(histogram()));
    let schedule = Arc::new(schedule);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (tokens, tally, next, lag, schedule) =
            (tokens.clone(), tally.clone(), next.clone(), lag.clone(), schedule.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(mut conn) = Conn::connect(addr, None).await else {
                tally.errors.add("http_connect");
                return;
            };
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= schedule.total {
                    return;
                }
                let due = schedule.start + Duration::from_secs_f64(k as f64 / schedule.rate);
                tokio::time::sleep_until(due).await;
                let late = u64::try_from(Instant::now().saturating_duration_since(due).as_micros())
                    .unwrap_or(u64::MAX);
                lag.lock().saturating_record(late.max(1));
                let token = &tokens[usize::try_from(k).unwrap_or(0) % tokens.len()];
                if !send_one(&mut conn, token, &tally).await {
                    return;
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let lag = lag.lock().clone();
    lag
}

/// Waits (up to `limit`) until every acknowledged message reached both sockets of its chat.
pub async fn drained(tally: &Tally, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    loop {
        let want = 2 * tally.count(&tally.sent_ok);
        if tally.count(&tally.delivered) >= want {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
