//! Several nodes serving as one: participants spread over three nodes, attachments across
//! nodes, and a node killed mid-chat whose clients move to another and lose nothing.

use crate::cluster_env;
use crate::harness::*;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn skipped(test: &str) -> bool {
    if cluster_env::active() {
        return false;
    }
    eprintln!("SKIPPED {test}: the cluster services are not available");
    true
}

#[tokio::test]
async fn three_nodes_serve_one_chat() {
    if skipped("three_nodes_serve_one_chat") {
        return;
    }
    let nodes: Vec<Server> = (0..3).map(|i| Server::start_node("three", i, &[])).collect();
    let chat = start_chat(&nodes[0]).await;
    let customer = connect_participant(&nodes[0], &chat.customer_token).await;
    let mut customer_ws = Socket::open(&customer.ws_url).await;
    let (_, agent_token) = add_participant(&nodes[1], &chat.contact_id, "AGENT", "Agent").await;
    let agent = connect_participant(&nodes[1], &agent_token).await;
    let mut agent_ws = Socket::open(&agent.ws_url).await;
    let (_, bot_token) = add_participant(&nodes[2], &chat.contact_id, "CUSTOM_BOT", "Bot").await;
    let bot = connect_participant(&nodes[2], &bot_token).await;
    let mut bot_ws = Socket::open(&bot.ws_url).await;
    assert!(
        agent.ws_url.contains(nodes[1].url.trim_start_matches("http://")),
        "each socket is on its own node"
    );

    let from_customer = send(&nodes[0], &customer.connection_token, "hello from node 0").await;
    let from_agent = send(&nodes[1], &agent.connection_token, "hello from node 1").await;
    for socket in [&mut customer_ws, &mut agent_ws, &mut bot_ws] {
        assert_eq!(socket.until("MESSAGE").await["Id"], from_customer.as_str());
        assert_eq!(socket.until("MESSAGE").await["Id"], from_agent.as_str());
    }

    // An attachment uploaded through node 0 (a presigned S3 URL) and read through node 1.
    let p0 = nodes[0].participant();
    let started = p0
        .start_attachment_upload()
        .connection_token(&customer.connection_token)
        .attachment_name("a.txt")
        .content_type("text/plain")
        .attachment_size_in_bytes(5)
        .send()
        .await
        .expect("start upload");
    let meta = started.upload_metadata.expect("metadata");
    let mut put = http().put(meta.url.expect("url")).body("bytes");
    for (k, v) in meta.headers_to_include.expect("headers") {
        put = put.header(k, v);
    }
    assert_eq!(put.send().await.expect("PUT").status(), 200);
    let id = started.attachment_id.expect("id");
    p0.complete_attachment_upload()
        .connection_token(&customer.connection_token)
        .attachment_ids(&id)
        .send()
        .await
        .expect("complete");
    assert_eq!(agent_ws.until("ATTACHMENT").await["Attachments"][0]["AttachmentId"], id.as_str());
    let got = nodes[1]
        .participant()
        .get_attachment()
        .connection_token(&agent.connection_token)
        .attachment_id(&id)
        .send()
        .await
        .expect("get");
    let body = http().get(got.url.expect("url")).send().await.expect("GET").bytes().await.expect("body");
    assert_eq!(&body[..], b"bytes");

    let t = nodes[2]
        .participant()
        .get_transcript()
        .connection_token(&bot.connection_token)
        .max_results(100)
        .send()
        .await
        .expect("transcript");
    assert_eq!(t.transcript().iter().filter(|i| i.content.is_some()).count(), 2);
}

/// What one client saw: item ids in arrival order, without repeats.
#[derive(Default)]
struct Seen {
    ids: Vec<String>,
    set: HashSet<String>,
}

impl Seen {
    fn add(&mut self, item: &Value) {
        if item["Type"] != "MESSAGE" {
            return;
        }
        let id = item["Id"].as_str().unwrap_or_default().to_owned();
        if self.set.insert(id.clone()) {
            self.ids.push(id);
        }
    }
}

#[tokio::test]
async fn a_dead_node_loses_nothing() {
    if skipped("a_dead_node_loses_nothing") {
        return;
    }
    let mut nodes: Vec<Option<Server>> =
        (0..3).map(|i| Some(Server::start_node("failover", i, &[]))).collect();
    let node =
        |nodes: &Vec<Option<Server>>, i: usize| nodes[i].as_ref().map(|n| n.url.clone()).expect("node");
    let first = nodes[0].as_ref().expect("node 0");
    let chat = start_chat(first).await;
    let customer = connect_participant(first, &chat.customer_token).await;
    let (_, agent_token) = add_participant(first, &chat.contact_id, "AGENT", "Agent").await;
    let agent = connect_participant(nodes[1].as_ref().expect("node 1"), &agent_token).await;
    let mut agent_ws = Socket::open(&agent.ws_url).await;
    let (url0, url1) = (node(&nodes, 0), node(&nodes, 1));
    assert!(agent.ws_url.contains(url1.trim_start_matches("http://")));

    // The customer sends through node 0 as fast as it can; the agent reads on node 1.
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (client, token, stop) = (first.participant(), customer.connection_token.clone(), stop.clone());
        tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..10_000 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let out = client
                    .send_message()
                    .connection_token(&token)
                    .content_type("text/plain")
                    .content(format!("m{i}"))
                    .send()
                    .await;
                acked.push(out.expect("node 0 stays up").id.expect("id"));
            }
            acked
        })
    };
    let mut seen = Seen::default();
    while seen.ids.len() < 50 {
        let item = agent_ws.next_item().await.expect("frames before the kill");
        seen.add(&item);
    }
    // Node 1 dies with messages in flight; the agent moves to node 2.
    let _ = nodes[1].take().map(Server::kill);
    while let Some(item) = agent_ws.next_item().await {
        seen.add(&item);
    }
    let node2 = nodes[2].as_ref().expect("node 2");
    let again = connect_participant(node2, &agent_token).await;
    let mut agent_ws = Socket::open(&again.ws_url).await;
    fill_gap(node2, &again.connection_token, &mut seen).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let acked = sender.await.expect("sender");
    // Frames after the move, then one more fill for anything sent while subscribing.
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(500), agent_ws.next_item()).await {
        seen.add(&item);
    }
    fill_gap(node2, &again.connection_token, &mut seen).await;

    let transcript = message_ids(node2, &again.connection_token).await;
    let acked_set: HashSet<&String> = acked.iter().collect();
    assert!(acked.len() > 50, "traffic went on across the kill: {} acked", acked.len());
    assert!(
        acked.iter().all(|id| transcript.contains(id)),
        "every acknowledged message is in the transcript"
    );
    assert_eq!(seen.ids, transcript, "the agent saw every message exactly once, in transcript order");
    assert!(acked_set.len() == acked.len());
    let _ = url0;
}

/// GetTranscript FORWARD from the last item seen: what a client does after a reconnect.
async fn fill_gap(server: &Server, token: &str, seen: &mut Seen) {
    use aws_sdk_connectparticipant::types::{ScanDirection, SortKey, StartPosition};
    let Some(last) = seen.ids.last().cloned() else { return };
    let mut next = None;
    loop {
        let out = server
            .participant()
            .get_transcript()
            .connection_token(token)
            .scan_direction(ScanDirection::Forward)
            .sort_order(SortKey::Ascending)
            .start_position(StartPosition::builder().id(&last).build())
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .expect("fill the gap");
        for item in out.transcript() {
            if item.r#type.as_ref().map(|t| t.as_str()) == Some("MESSAGE") {
                let id = item.id.clone().unwrap_or_default();
                if seen.set.insert(id.clone()) {
                    seen.ids.push(id);
                }
            }
        }
        next = out.next_token;
        if next.is_none() {
            return;
        }
    }
}
