//! The NATS bus against the real server on 127.0.0.1:4222 (each test under its own subject
//! prefix), and against a private nats-server started here to be stopped and restarted.

mod common;

use confab_cluster::NatsBus;
use confab_ports::{Bus, Envelope, EnvelopeKind};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Got = Arc<Mutex<Vec<Envelope>>>;

fn collect(bus: &NatsBus) -> Got {
    let got: Got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    bus.set_receiver(Arc::new(move |e: Envelope| sink.lock().push(e)));
    got
}

fn item(contact: &str, seq: u64) -> Envelope {
    Envelope {
        contact_id: contact.into(),
        kind: EnvelopeKind::Item { seq, json: Arc::from(format!(r#"{{"Id":"m{seq}"}}"#)) },
    }
}

fn resync() -> Envelope {
    Envelope { contact_id: String::new(), kind: EnvelopeKind::Resync }
}

/// Waits (at most `secs`) until `got` satisfies `done`.
async fn wait_until(got: &Got, secs: u64, done: impl Fn(&[Envelope]) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done(&got.lock()) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    done(&got.lock())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_see_each_others_envelopes_and_their_own_once() {
    if !common::listening("NATS", common::NATS_ADDR) {
        return;
    }
    let url = format!("nats://{}?prefix={}", common::NATS_ADDR, common::unique("t"));
    let a = NatsBus::connect(&url, "a").await.expect("connect a");
    let b = NatsBus::connect(&url, "b").await.expect("connect b");
    // Another cluster on the same server, under another prefix, hears nothing of ours.
    let other_url = format!("nats://{}?prefix={}", common::NATS_ADDR, common::unique("t"));
    let other = NatsBus::connect(&other_url, "a").await.expect("connect other");
    let (got_a, got_b, got_other) = (collect(&a), collect(&b), collect(&other));
    assert!(a.is_connected() && b.is_connected());

    let mut from_a = Vec::new();
    for seq in 1..=200 {
        let e = item(&format!("c{}", seq % 7), seq);
        a.publish(e.clone()).await;
        from_a.push(e);
    }
    // Handed to a's own receiver at once, in order.
    assert_eq!(*got_a.lock(), from_a);
    let close = Envelope {
        contact_id: "c1".into(),
        kind: EnvelopeKind::Close { participant_id: Some("p1".into()), after_seq: 200 },
    };
    b.publish(close.clone()).await;
    assert!(wait_until(&got_b, 10, |g| g.len() == 201).await, "b got {}", got_b.lock().len());
    assert!(wait_until(&got_a, 10, |g| g.len() == 201).await, "a got {}", got_a.lock().len());
    // b got a's envelopes in a's order (one publisher, one connection); its own close is among
    // them wherever it fell (a's may have arrived before b published).
    let b_saw = got_b.lock().clone();
    assert_eq!(b_saw.iter().filter(|e| **e == close).count(), 1);
    let from_others: Vec<Envelope> = b_saw.into_iter().filter(|e| *e != close).collect();
    assert_eq!(from_others, from_a);
    assert_eq!(got_a.lock()[200], close);
    // Nobody got anything twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((got_a.lock().len(), got_b.lock().len()), (201, 201));
    assert!(got_other.lock().is_empty());
    assert_eq!((a.sent(), a.dropped(), b.received()), (200, 0, 200));
}

/// A nats-server of this test's own, on a free port, that the test stops and restarts.
struct PrivateNats {
    binary: std::path::PathBuf,
    port: u16,
    child: Option<common::Child>,
}

impl PrivateNats {
    fn start() -> Option<PrivateNats> {
        let Some(binary) = common::find_binary("nats-server") else {
            common::skip("no nats-server binary to restart");
            return None;
        };
        let mut nats = PrivateNats { binary, port: common::free_port(), child: None };
        nats.up();
        Some(nats)
    }

    fn up(&mut self) {
        let child = std::process::Command::new(&self.binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(common::Child(child));
        assert!(common::wait_for_port(self.port, 10), "nats-server did not start");
    }

    fn down(&mut self) {
        self.child = None;
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_after_nats_restart_and_publish_never_blocks() {
    let Some(mut nats) = PrivateNats::start() else { return };
    let a = NatsBus::connect(&nats.url(), "a").await.expect("connect a");
    let b = NatsBus::connect(&nats.url(), "b").await.expect("connect b");
    let (got_a, got_b) = (collect(&a), collect(&b));
    a.publish(item("c", 1)).await;
    assert!(wait_until(&got_b, 10, |g| g.len() == 1).await);

    nats.down();
    // While NATS is away, publishing goes on at once: this node's receiver has everything.
    let started = Instant::now();
    for seq in 2..=20_001 {
        a.publish(item("c", seq)).await;
    }
    let took = started.elapsed();
    println!("20000 publishes with NATS down took {took:?}; dropped so far {}", a.dropped());
    assert!(took < Duration::from_secs(5), "publish blocked: {took:?}");
    assert_eq!(got_a.lock().len(), 20_001);

    nats.up();
    // Each node reconnects and resyncs its rooms. (Each also asks the others to resync,
    // for nodes that stayed connected; here the other one may not be back yet to hear it.)
    for (name, got) in [("a", &got_a), ("b", &got_b)] {
        let resyncs = |g: &[Envelope]| g.iter().filter(|e| **e == resync()).count();
        assert!(wait_until(got, 20, |g| resyncs(g) >= 1).await, "{name} got no resync");
    }
    // And the bus works again (b's subscription may come back a moment after a's
    // connection: a publishes until b hears it; late resyncs may follow).
    let mut heard = false;
    for seq in 30_000..30_040 {
        a.publish(item("c", seq)).await;
        if wait_until(&got_b, 1, |g| {
            g.iter().any(|e| matches!(&e.kind, EnvelopeKind::Item { seq: s, .. } if *s >= 30_000))
        })
        .await
        {
            heard = true;
            break;
        }
    }
    assert!(heard, "b hears a again after NATS came back");
    assert!(a.is_connected());
}

#[tokio::test]
async fn connect_refuses_bad_urls_and_absent_servers() {
    assert!(NatsBus::connect("http://127.0.0.1:4222", "a").await.is_err());
    assert!(NatsBus::connect("nats://127.0.0.1:4222?prefix=a..b", "a").await.is_err());
    let port = common::free_port();
    let err = NatsBus::connect(&format!("nats://127.0.0.1:{port}"), "a").await.expect_err("nothing there");
    assert!(err.contains("connect to NATS"), "{err}");
}
