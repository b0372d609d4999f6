//! A whole chat through the SDKs and websockets: start, agent joins, messages both ways,
//! typing, receipts, transcript, disconnect, chat.ended.

use crate::harness::*;
use aws_sdk_connectparticipant::types::{ScanDirection, SortKey, StartPosition};

#[tokio::test]
async fn a_whole_chat() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut customer_ws = Socket::open(&customer.ws_url).await;
    assert!(customer.ws_url.starts_with("ws://127.0.0.1:"), "chatjs accepts only ws://127.0.0.1: or wss://");

    let (agent_id, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "Agent Smith").await;
    let agent = connect_participant(&server, &agent_token).await;
    let mut agent_ws = Socket::open(&agent.ws_url).await;

    let joined = customer_ws.until(JOINED).await;
    assert_eq!(joined["ParticipantId"], agent_id.as_str());
    assert_eq!(joined["ParticipantRole"], "AGENT");
    assert_eq!(joined["DisplayName"], "Agent Smith");
    assert_eq!(joined["Type"], "EVENT");
    assert_eq!(joined["ContactId"], chat.contact_id.as_str());
    assert_eq!(joined["InitialContactId"], chat.contact_id.as_str());

    // Customer → agent, echoed to the sender too.
    let sent = server
        .participant()
        .send_message()
        .connection_token(&customer.connection_token)
        .content_type("text/plain")
        .content("Hello ünïcode \"q\"")
        .send()
        .await
        .expect("send");
    let id = sent.id.clone().expect("Id");
    let time = sent.absolute_time.clone().expect("AbsoluteTime");
    assert_eq!(time.len(), 24, "yyyy-MM-ddTHH:mm:ss.SSSZ: {time}");
    for socket in [&mut agent_ws, &mut customer_ws] {
        let item = socket.until("MESSAGE").await;
        assert_eq!(item["Id"], id.as_str());
        assert_eq!(item["AbsoluteTime"], time.as_str());
        assert_eq!(item["Content"], "Hello ünïcode \"q\"");
        assert_eq!(item["ParticipantRole"], "CUSTOMER");
        assert_eq!(item["DisplayName"], "Customer");
        assert_eq!(item["ParticipantId"], chat.customer_id.as_str());
    }

    // Agent → customer.
    let reply_id = send(&server, &agent.connection_token, "How can I help?").await;
    assert_eq!(customer_ws.until("MESSAGE").await["Id"], reply_id.as_str());
    assert_eq!(agent_ws.until("MESSAGE").await["Id"], reply_id.as_str());

    // Typing reaches the other side, not the transcript.
    server
        .participant()
        .send_event()
        .connection_token(&customer.connection_token)
        .content_type(TYPING)
        .send()
        .await
        .expect("typing");
    let typing = agent_ws.until(TYPING).await;
    assert_eq!(typing["ParticipantId"], chat.customer_id.as_str());

    // Receipts: delivered then read, pushed as MESSAGEMETADATA, kept on the message.
    for kind in [DELIVERED, READ] {
        let content = format!(r#"{{"messageId":"{reply_id}"}}"#);
        server
            .participant()
            .send_event()
            .connection_token(&customer.connection_token)
            .content_type(kind)
            .content(content)
            .send()
            .await
            .expect("receipt");
        let meta = agent_ws.until("MESSAGEMETADATA").await;
        assert_eq!(meta["MessageMetadata"]["MessageId"], reply_id.as_str());
        let receipt = &meta["MessageMetadata"]["Receipts"][0];
        assert_eq!(receipt["RecipientParticipantId"], chat.customer_id.as_str());
        let stamp = if kind == READ { "ReadTimestamp" } else { "DeliveredTimestamp" };
        assert!(receipt[stamp].is_string(), "{meta}");
    }

    let transcript = server
        .participant()
        .get_transcript()
        .connection_token(&agent.connection_token)
        .scan_direction(ScanDirection::Backward)
        .sort_order(SortKey::Ascending)
        .max_results(100)
        .start_position(StartPosition::builder().build())
        .send()
        .await
        .expect("GetTranscript");
    assert_eq!(transcript.initial_contact_id.as_deref(), Some(chat.contact_id.as_str()));
    assert!(transcript.next_token.is_none());
    let items = transcript.transcript();
    let kinds: Vec<String> = items.iter().map(|i| i.content_type.clone().unwrap_or_default()).collect();
    assert_eq!(kinds, vec![JOINED, JOINED, "text/plain", "text/plain"], "typing and receipts are not items");
    let reply = &items[3];
    assert_eq!(reply.id.as_deref(), Some(reply_id.as_str()));
    let receipts = reply.message_metadata.as_ref().expect("receipts on the message").receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].recipient_participant_id.as_deref(), Some(chat.customer_id.as_str()));
    assert!(receipts[0].read_timestamp.is_some() && receipts[0].delivered_timestamp.is_some());

    // The customer leaves: participant.left then chat.ended to everyone (the leaver too),
    // then every socket closes with 1000.
    server
        .participant()
        .disconnect_participant()
        .connection_token(&customer.connection_token)
        .send()
        .await
        .expect("disconnect");
    for socket in [&mut customer_ws, &mut agent_ws] {
        let left = socket.until(LEFT).await;
        assert_eq!(left["ParticipantId"], chat.customer_id.as_str());
        let ended = socket.until(ENDED).await;
        assert_eq!(ended["Type"], "EVENT");
        assert!(ended.get("ParticipantId").is_none());
        assert_eq!(socket.closed().await, Some(1000));
    }

    // Tokens are revoked with the chat.
    let err = server
        .participant()
        .send_message()
        .connection_token(&agent.connection_token)
        .content_type("text/plain")
        .content("late")
        .send()
        .await
        .expect_err("chat ended");
    assert_eq!(err.into_service_error().meta().code(), Some("AccessDeniedException"));

    // Reading the transcript still works after the end (the socket is gone by then).
    let after = server
        .participant()
        .get_transcript()
        .connection_token(&agent.connection_token)
        .send()
        .await
        .expect("read");
    assert_eq!(after.transcript()[0].content_type.as_deref(), Some(ENDED), "newest first: chat.ended");
    assert_eq!(after.transcript()[1].content_type.as_deref(), Some(LEFT));

    let contact = server
        .connect()
        .describe_contact()
        .instance_id(INSTANCE)
        .contact_id(&chat.contact_id)
        .send()
        .await
        .expect("DescribeContact");
    let contact = contact.contact.expect("Contact");
    assert_eq!(contact.channel.as_ref().map(|c| c.as_str()), Some("CHAT"));
    assert_eq!(contact.disconnect_reason.as_deref(), Some("CUSTOMER_DISCONNECT"));
    assert!(contact.disconnect_timestamp.is_some() && contact.initiation_timestamp.is_some());
    let metrics = contact.chat_metrics.and_then(|m| m.chat_contact_metrics).expect("ChatContactMetrics");
    assert_eq!(metrics.total_messages, Some(2));
    assert_eq!(metrics.conversation_turn_count, Some(1));
}

#[tokio::test]
async fn initial_message_and_connection_types_come_with_the_start() {
    use aws_sdk_connect::types::{ChatMessage, ConnectionType, ParticipantDetails};
    let server = Server::start();
    let out = server
        .connect()
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(ParticipantDetails::builder().display_name("Cust").build().expect("details"))
        .initial_message(
            ChatMessage::builder().content_type("text/plain").content("first!").build().expect("message"),
        )
        .connection_types(ConnectionType::Websocket)
        .connection_types(ConnectionType::ConnectionCredentials)
        .attributes("customerTier", "gold")
        .send()
        .await
        .expect("start");
    let token = out.connection_credentials.and_then(|c| c.connection_token).expect("ConnectionCredentials");
    let url = out.websocket.and_then(|w| w.url).expect("Websocket");
    let _socket = Socket::open(&url).await;
    let t = server.participant().get_transcript().connection_token(&token).send().await.expect("transcript");
    let items = t.transcript();
    assert_eq!(items.len(), 2);
    // Default SortOrder is DESCENDING: newest first.
    assert_eq!(items[0].content.as_deref(), Some("first!"));
    assert_eq!(items[0].participant_role.as_ref().map(|r| r.as_str()), Some("CUSTOMER"));
    assert_eq!(items[1].content_type.as_deref(), Some(JOINED));
    let contact = server
        .connect()
        .describe_contact()
        .instance_id(INSTANCE)
        .contact_id(out.contact_id.expect("id"))
        .send()
        .await
        .expect("describe");
    let attrs = contact.contact.and_then(|c| c.attributes).expect("attributes");
    assert_eq!(attrs.get("customerTier").map(String::as_str), Some("gold"));
}

#[tokio::test]
async fn stop_contact_ends_the_chat_for_everyone() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut ws = Socket::open(&customer.ws_url).await;
    server
        .connect()
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id(&chat.contact_id)
        .send()
        .await
        .expect("stop");
    ws.until(ENDED).await;
    assert_eq!(ws.closed().await, Some(1000));
    // Stopping again is a no-op success; the participant token is now refused.
    server
        .connect()
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id(&chat.contact_id)
        .send()
        .await
        .expect("stop again");
    let err = server
        .participant()
        .create_participant_connection()
        .participant_token(&chat.customer_token)
        .r#type(aws_sdk_connectparticipant::types::ConnectionType::Websocket)
        .send()
        .await
        .expect_err("ended");
    assert_eq!(err.into_service_error().meta().code(), Some("AccessDeniedException"));
    assert_eq!(disconnect_reason(&server, &chat.contact_id).await.as_deref(), Some("API"));
}

#[tokio::test]
async fn agent_leaving_ends_the_chat_but_a_bot_leaving_does_not() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut ws = Socket::open(&customer.ws_url).await;
    let (bot_id, bot_token) = add_participant(&server, &chat.contact_id, "CUSTOM_BOT", "Bot").await;
    let bot = connect_participant(&server, &bot_token).await;
    let mut bot_ws = Socket::open(&bot.ws_url).await;
    server
        .participant()
        .disconnect_participant()
        .connection_token(&bot.connection_token)
        .send()
        .await
        .expect("bot leaves");
    assert_eq!(ws.until(LEFT).await["ParticipantId"], bot_id.as_str());
    assert_eq!(bot_ws.until(LEFT).await["ParticipantId"], bot_id.as_str());
    assert_eq!(bot_ws.closed().await, Some(1000), "the leaver's socket closes");
    let id = send(&server, &customer.connection_token, "still here").await;
    assert_eq!(ws.until("MESSAGE").await["Id"], id.as_str());

    let (_, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "Agent").await;
    let agent = connect_participant(&server, &agent_token).await;
    server
        .participant()
        .disconnect_participant()
        .connection_token(&agent.connection_token)
        .send()
        .await
        .expect("agent leaves");
    ws.until(LEFT).await;
    ws.until(ENDED).await;
    assert_eq!(disconnect_reason(&server, &chat.contact_id).await.as_deref(), Some("AGENT_DISCONNECT"));
}
