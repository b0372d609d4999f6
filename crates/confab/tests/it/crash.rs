//! Durability: SIGKILL while clients send as fast as they can, restart on the same data
//! folder and address; every answered SendMessage is in the transcript exactly once, and
//! the clients carry on.

use crate::harness::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn answered_messages_survive_sigkill_exactly_once() {
    let server = Server::start();
    let address = server.url.trim_start_matches("http://").to_owned();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let (_, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "A").await;
    let agent = connect_participant(&server, &agent_token).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for (who, token) in
        [customer.connection_token.clone(), agent.connection_token.clone()].into_iter().enumerate()
    {
        for lane in 0..4 {
            let client = server.participant();
            let (token, stop) = (token.clone(), stop.clone());
            senders.push(tokio::spawn(async move {
                let (mut answered, mut failed, mut i, mut slowest) = (Vec::new(), 0, 0, Duration::ZERO);
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let started = std::time::Instant::now();
                    let sent = client
                        .send_message()
                        .connection_token(&token)
                        .content_type("text/plain")
                        .content(format!("{who}.{lane}.{i}"))
                        .send()
                        .await;
                    slowest = slowest.max(started.elapsed());
                    match sent {
                        Ok(out) => answered.push(out.id.expect("id")),
                        Err(_) => {
                            failed += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                (answered, failed, slowest)
            }));
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dir = server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = Server::start_at(dir, &address, &[]);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut answered, mut failed, mut slowest) = (Vec::new(), 0, Duration::ZERO);
    for s in senders {
        let (a, f, slow) = s.await.expect("sender");
        answered.extend(a);
        failed += f;
        slowest = slowest.max(slow);
    }
    // The SDK retries a call cut by the kill (same ClientToken) until the server is back.
    assert!(
        failed > 0 || slowest > Duration::from_millis(300),
        "the kill happened while messages were in flight"
    );
    assert!(answered.len() > 100, "clients carried on: {} answered", answered.len());

    // The clients reconnect (new websocket URL and token) and the chat goes on.
    let again = connect_participant(&server, &chat.customer_token).await;
    let mut ws = Socket::open(&again.ws_url).await;
    let last = send(&server, &again.connection_token, "after the crash").await;
    assert_eq!(ws.until("MESSAGE").await["Id"], last.as_str());

    let mut count: HashMap<String, usize> = HashMap::new();
    let mut next = None;
    loop {
        let out = server
            .participant()
            .get_transcript()
            .connection_token(&again.connection_token)
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .expect("page");
        for item in out.transcript() {
            *count.entry(item.id.clone().expect("id")).or_default() += 1;
        }
        next = out.next_token;
        if next.is_none() {
            break;
        }
    }
    for id in &answered {
        assert_eq!(count.get(id), Some(&1), "answered message {id} is in the transcript exactly once");
    }
    assert!(count.values().all(|n| *n == 1), "no item twice");
}
