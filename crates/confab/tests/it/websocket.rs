//! The websocket gateway: protocol frames, ordering under load, limits, slow readers.

use crate::harness::*;
use serde_json::json;
use std::collections::HashMap;

#[tokio::test]
async fn protocol_frames_as_chatjs_and_ios_need_them() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    let mut ws = Socket::open_raw(&c.ws_url).await.expect("open");
    // The iOS SDK's subscribe frame carries a stray ')'.
    ws.send_text(r#"{"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})"#).await;
    assert_eq!(
        ws.next_json().await,
        Some(json!({"topic":"aws/subscribe","content":{"status":"success","topics":["aws/chat"]}}))
    );
    ws.send_text(r#"{"topic":"aws/ping"}"#).await;
    assert_eq!(ws.next_json().await, Some(json!({"topic":"aws/ping","statusCode":200,"statusContent":"OK"})));
    ws.send_text(r#"{"topic":"aws/heartbeat"}"#).await;
    assert_eq!(ws.next_json().await, Some(json!({"topic":"aws/heartbeat"})));
    ws.send_text("garbage").await;
    ws.send_text(r#"{"topic":"aws/subscribe","content":{"topics":["other"]}}"#).await;
    assert_eq!(ws.next_json().await.map(|f| f["content"]["status"].clone()), Some(json!("failure")));
    let id = send(&server, &c.connection_token, "after garbage").await;
    assert_eq!(ws.until("MESSAGE").await["Id"], id.as_str());

    // A socket that has not subscribed gets nothing.
    let c2 = connect_participant(&server, &chat.customer_token).await;
    let mut silent = Socket::open_raw(&c2.ws_url).await.expect("open");
    send(&server, &c.connection_token, "not for the silent one").await;
    silent.send_text(r#"{"topic":"aws/heartbeat"}"#).await;
    assert_eq!(
        silent.next_json().await,
        Some(json!({"topic":"aws/heartbeat"})),
        "the first frame is the heartbeat answer"
    );
}

#[tokio::test]
async fn a_thousand_rapid_messages_arrive_in_transcript_order_on_every_socket() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let (_, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "A").await;
    let agent = connect_participant(&server, &agent_token).await;
    let mut sockets = Vec::new();
    for token in [&chat.customer_token, &chat.customer_token, &agent_token, &agent_token] {
        let c = connect_participant(&server, token).await;
        sockets.push(Socket::open(&c.ws_url).await);
    }
    let senders: Vec<_> = [customer.connection_token.clone(), agent.connection_token.clone()]
        .into_iter()
        .enumerate()
        .map(|(who, token)| {
            let client = server.participant();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..500 {
                    let out = client
                        .send_message()
                        .connection_token(&token)
                        .content_type("text/plain")
                        .content(format!("{who}-{i}"))
                        .send()
                        .await
                        .expect("send");
                    ids.push(out.id.expect("id"));
                }
                ids
            })
        })
        .collect();
    let mut sent = Vec::new();
    for s in senders {
        sent.push(s.await.expect("sender"));
    }
    // The transcript order is the reference.
    let reference = message_ids(&server, &customer.connection_token).await;
    assert_eq!(reference.len(), 1000);
    let position: HashMap<&String, usize> = reference.iter().enumerate().map(|(i, id)| (id, i)).collect();
    for ids in &sent {
        let order: Vec<usize> = ids.iter().map(|id| position[id]).collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "each sender's messages keep their order");
    }
    for (n, socket) in sockets.iter_mut().enumerate() {
        let mut got = Vec::new();
        while got.len() < 1000 {
            let item = socket.until("MESSAGE").await;
            got.push(item["Id"].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(got, reference, "socket {n} saw every message once, in transcript order");
    }
}

#[tokio::test]
async fn five_sockets_per_participant() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let mut open = Vec::new();
    for _ in 0..5 {
        let c = connect_participant(&server, &chat.customer_token).await;
        open.push(Socket::open(&c.ws_url).await);
    }
    let c = connect_participant(&server, &chat.customer_token).await;
    let err = Socket::open_raw(&c.ws_url).await.err().expect("sixth refused");
    assert!(err.to_string().contains("429"), "{err}");
    drop(open.pop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    Socket::open(&c.ws_url).await;
}

#[tokio::test]
async fn a_slow_reader_is_closed_and_the_others_carry_on() {
    let dir = std::env::temp_dir().join(format!("confab-slow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("confab.toml");
    std::fs::write(&config, "[server]\nsocket_queue = 16\n").expect("config");
    let server = Server::start_with(&["--config", config.to_str().expect("utf8")]);
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    let mut slow = Socket::open(&c.ws_url).await;
    let c2 = connect_participant(&server, &chat.customer_token).await;
    let mut fast = Socket::open(&c2.ws_url).await;
    let reader = tokio::spawn(async move {
        let mut n = 0;
        while n < 600 {
            fast.until("MESSAGE").await;
            n += 1;
        }
        n
    });
    let big = "x".repeat(16_000);
    for _ in 0..600 {
        server
            .participant()
            .send_message()
            .connection_token(&c.connection_token)
            .content_type("text/plain")
            .content(&big)
            .send()
            .await
            .expect("send");
    }
    assert_eq!(reader.await.expect("fast reader"), 600, "the fast socket got everything");
    assert_eq!(slow.closed().await, Some(4100), "the slow socket was closed as too slow");
    let _ = std::fs::remove_dir_all(dir);
}
