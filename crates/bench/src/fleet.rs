//! Many chats with both participants connected and subscribed, held like chatjs holds them.
//! Made in two phases so that a report can tell the memory of chats from that of sockets:
//! first the chats (REST only), then a connection and a socket for each participant.

use crate::chat::{self, Created, Seat};
use crate::http::Conn;
use crate::tally::Tally;
use crate::ws;
use parking_lot::Mutex;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Concurrent setup clients.
const SETUP_WORKERS: usize = 32;

/// Where a chat's calls go: the chat is made, and its customer connected, through `customer`;
/// its agent is connected (participant connection and socket) through `agent`. One server, or
/// two nodes of a cluster, so that every message crosses the bus.
#[derive(Debug, Clone, Copy)]
pub struct Nodes {
    pub customer: SocketAddr,
    pub agent: SocketAddr,
}

impl Nodes {
    pub fn one(addr: SocketAddr) -> Nodes {
        Nodes { customer: addr, agent: addr }
    }

    /// The distinct servers, the customer's first.
    fn addrs(&self) -> Vec<SocketAddr> {
        let mut addrs = vec![self.customer];
        if self.agent != self.customer {
            addrs.push(self.agent);
        }
        addrs
    }
}

pub struct Options {
    pub heartbeat: Duration,
    /// Source addresses 127.0.0.1 … 127.0.0.N for the sockets.
    pub sources: usize,
    /// Sockets end by themselves at this time at the latest.
    pub until: Instant,
}

pub struct Fleet {
    /// The customers' connection tokens, one per connected chat: the customer sends, the
    /// agent is the other participant.
    pub senders: Vec<String>,
    pub sockets: usize,
    holders: Vec<JoinHandle<()>>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for h in &self.holders {
            h.abort();
        }
    }
}

pub fn source(i: usize, sources: usize) -> Option<IpAddr> {
    let n = sources.max(1);
    // 127.0.0.1 … 127.0.0.n; `n` ≤ 250 keeps this on loopback.
    let last = u8::try_from(1 + i % n.min(250)).unwrap_or(1);
    (n > 1).then_some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)))
}

/// Runs `job(conns, i)` for i in 0..n on `SETUP_WORKERS` clients, each with one connection
/// to every server of `addrs` (in that order); failures are counted in `tally` by the first
/// word of their error, and their slot stays None.
async fn in_parallel<T, F, Fut>(
    addrs: Vec<SocketAddr>,
    n: usize,
    tally: &Arc<Tally>,
    job: F,
) -> Vec<Option<T>>
where
    T: Send + 'static,
    F: Fn(Vec<Conn>, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = (Vec<Conn>, anyhow::Result<T>)> + Send,
{
    let out: Arc<Mutex<Vec<Option<T>>>> = Arc::new(Mutex::new((0..n).map(|_| None).collect()));
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..SETUP_WORKERS.min(n) {
        let (out, next, tally, job, addrs) =
            (out.clone(), next.clone(), tally.clone(), job.clone(), addrs.clone());
        workers.push(tokio::spawn(async move {
            let mut conns = Vec::new();
            for addr in addrs {
                let Ok(conn) = Conn::connect(addr, None).await else {
                    tally.errors.add("http_connect");
                    return;
                };
                conns.push(conn);
            }
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let (back, result) = job(conns, i).await;
                conns = back;
                match result {
                    Ok(v) => out.lock()[i] = Some(v),
                    Err(e) => tally.errors.add(error_kind(&e)),
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let taken = std::mem::take(&mut *out.lock());
    taken
}

fn error_kind(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    text.split([':', ' ']).next().unwrap_or("error").to_owned()
}

/// Phase one: `n` chats with a customer and an agent.
pub async fn create(addr: SocketAddr, n: usize, tally: &Arc<Tally>) -> Vec<Created> {
    let made = in_parallel(vec![addr], n, tally, |mut conns, i| async move {
        let r = chat::create(&mut conns[0], i).await;
        (conns, r)
    })
    .await;
    made.into_iter().flatten().collect()
}

/// Phase two: a connection and a subscribed socket for both participants of every chat, the
/// customer's through `nodes.customer`, the agent's through `nodes.agent`.
pub async fn connect(nodes: Nodes, created: Vec<Created>, tally: &Arc<Tally>, options: &Options) -> Fleet {
    let created = Arc::new(created);
    let holders = Arc::new(Mutex::new(Vec::new()));
    let (every, sources, until) = (options.heartbeat, options.sources, options.until);
    let n = created.len();
    let job = {
        let (created, holders, tally) = (created.clone(), holders.clone(), tally.clone());
        move |mut conns: Vec<Conn>, i: usize| {
            let (created, holders, tally) = (created.clone(), holders.clone(), tally.clone());
            async move {
                let c = &created[i];
                let r = async {
                    let customer = chat::connect(&mut conns[0], &c.customer_token).await?;
                    // The last connection: the agent's node (the same server when there is one).
                    let at = conns.len() - 1;
                    let agent = chat::connect(&mut conns[at], &c.agent_token).await?;
                    let a = ws::open(&customer.ws_url, source(2 * i, sources)).await?;
                    let b = ws::open(&agent.ws_url, source(2 * i + 1, sources)).await?;
                    // Spread heartbeats over the period, as independent browsers would.
                    let phase = every.mul_f64((i % 1000) as f64 / 1000.0);
                    let mut h = holders.lock();
                    h.push(tokio::spawn(ws::hold(a, false, tally.clone(), every, phase, until)));
                    h.push(tokio::spawn(ws::hold(b, true, tally.clone(), every, phase, until)));
                    Ok(customer)
                }
                .await;
                (conns, r)
            }
        }
    };
    let seats = in_parallel(nodes.addrs(), n, tally, job).await;
    let senders: Vec<String> = seats.into_iter().flatten().map(|s: Seat| s.connection_token).collect();
    let holders: Vec<JoinHandle<()>> = std::mem::take(&mut *holders.lock());
    Fleet { sockets: holders.len(), senders, holders }
}
