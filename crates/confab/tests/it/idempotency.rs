//! ClientToken idempotency: a replay answers as the first call did and changes nothing.

use crate::harness::*;

#[tokio::test]
async fn send_message_replay_returns_the_same_item_once() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let p = server.participant();
    let send = |token: &str| {
        p.send_message()
            .connection_token(&customer.connection_token)
            .content_type("text/plain")
            .content("once")
            .client_token(token)
            .send()
    };
    let first = send("token-1").await.expect("first");
    let again = send("token-1").await.expect("replay");
    assert_eq!(first.id, again.id);
    assert_eq!(first.absolute_time, again.absolute_time);
    let other = send("token-2").await.expect("new token");
    assert_ne!(first.id, other.id);
    let t = newest_items(&server, &customer.connection_token).await;
    let messages = t.iter().filter(|i| i.content.as_deref() == Some("once")).count();
    assert_eq!(messages, 2, "one per distinct ClientToken");
}

#[tokio::test]
async fn receipts_with_one_client_token_are_all_kept() {
    // chatjs ≥ 3.1.1 sends every read receipt with ClientToken "INCOMING_READ_RECEIPT".
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let (_, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "A").await;
    let agent = connect_participant(&server, &agent_token).await;
    let mut agent_ws = Socket::open(&agent.ws_url).await;
    let first = send(&server, &agent.connection_token, "one").await;
    let second = send(&server, &agent.connection_token, "two").await;
    for id in [&first, &second] {
        server
            .participant()
            .send_event()
            .connection_token(&customer.connection_token)
            .content_type(READ)
            .content(format!(r#"{{"messageId":"{id}"}}"#))
            .client_token("INCOMING_READ_RECEIPT")
            .send()
            .await
            .expect("receipt");
        let meta = agent_ws.until("MESSAGEMETADATA").await;
        assert_eq!(meta["MessageMetadata"]["MessageId"], id.as_str());
    }
    let t = newest_items(&server, &agent.connection_token).await;
    let read: Vec<_> =
        t.iter().filter(|i| i.message_metadata.is_some()).filter_map(|i| i.id.clone()).collect();
    assert_eq!(read.len(), 2, "both messages carry the read receipt");
}

#[tokio::test]
async fn start_chat_and_create_participant_replays() {
    use aws_sdk_connect::types::{ParticipantDetails, ParticipantDetailsToAdd, ParticipantRole};
    let server = Server::start();
    let c = server.connect();
    let start = || {
        c.start_chat_contact()
            .instance_id(INSTANCE)
            .contact_flow_id(FLOW)
            .participant_details(ParticipantDetails::builder().display_name("C").build().expect("details"))
            .client_token("start-1")
    };
    let a = start().send().await.expect("first");
    let b = start().send().await.expect("replay");
    assert_eq!(a.contact_id, b.contact_id);
    assert_eq!(a.participant_id, b.participant_id);
    assert_eq!(a.participant_token, b.participant_token);
    let contact_id = a.contact_id.expect("id");
    let add = || {
        c.create_participant()
            .instance_id(INSTANCE)
            .contact_id(&contact_id)
            .client_token("add-1")
            .participant_details(
                ParticipantDetailsToAdd::builder()
                    .participant_role(ParticipantRole::Agent)
                    .display_name("A")
                    .build(),
            )
    };
    let x = add().send().await.expect("first");
    let y = add().send().await.expect("replay");
    assert_eq!(x.participant_id, y.participant_id);
    let token = a.participant_token.expect("token");
    let customer = connect_participant(&server, &token).await;
    let t = newest_items(&server, &customer.connection_token).await;
    let joined = t.iter().filter(|i| i.content_type.as_deref() == Some(JOINED)).count();
    assert_eq!(joined, 2, "one customer and one agent joined, not more");
}

#[tokio::test]
async fn disconnect_replay_answers_like_the_first_call() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let p = server.participant();
    p.disconnect_participant()
        .connection_token(&customer.connection_token)
        .client_token("bye-1")
        .send()
        .await
        .expect("first");
    p.disconnect_participant()
        .connection_token(&customer.connection_token)
        .client_token("bye-1")
        .send()
        .await
        .expect("replay");
    let err = p
        .disconnect_participant()
        .connection_token(&customer.connection_token)
        .client_token("bye-2")
        .send()
        .await
        .expect_err("new call");
    assert_eq!(
        aws_sdk_connectparticipant::error::ProvideErrorMetadata::code(&err.into_service_error()),
        Some("AccessDeniedException")
    );
}

/// Idempotency records outlive the process: a replay sent to a restarted server (the key
/// index is rebuilt from the database at start) answers with the first call's item.
#[tokio::test]
async fn send_message_replay_after_a_restart_returns_the_same_item() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let send = |server: &Server, token: &str| {
        server
            .participant()
            .send_message()
            .connection_token(&customer.connection_token)
            .content_type("text/plain")
            .content("kept")
            .client_token(token)
            .send()
    };
    let mut firsts = Vec::new();
    for i in 0..50 {
        firsts.push(send(&server, &format!("restart-{i}")).await.expect("first"));
    }
    let dir = server.kill();
    let server = Server::start_in(dir, &[]);
    for (i, first) in firsts.iter().enumerate() {
        let again = send(&server, &format!("restart-{i}")).await.expect("replay");
        assert_eq!((&first.id, &first.absolute_time), (&again.id, &again.absolute_time), "token {i}");
    }
    let new = send(&server, "restart-new").await.expect("new token");
    assert!(firsts.iter().all(|f| f.id != new.id));
    let t = newest_items(&server, &customer.connection_token).await;
    let kept = t.iter().filter(|i| i.content.as_deref() == Some("kept")).count();
    assert_eq!(kept, 51, "one item per distinct ClientToken");
}
