//! Token lifetimes on the server's test clock: connection tokens last a day, websocket URLs
//! 100 s to connect, participant tokens as long as the participant; chats end when their
//! duration runs out, or when the customer never connects.

use crate::harness::*;
use aws_sdk_connectparticipant::error::ProvideErrorMetadata;

async fn code_of_send(server: &Server, token: &str) -> Option<String> {
    match server
        .participant()
        .send_message()
        .connection_token(token)
        .content_type("text/plain")
        .content("x")
        .send()
        .await
    {
        Ok(_) => None,
        Err(e) => e.into_service_error().code().map(str::to_owned),
    }
}

#[tokio::test]
async fn connection_token_expires_after_a_day() {
    let server = Server::start_with(&["--test-clock"]);
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    server.advance(86_399.0).await;
    assert_eq!(code_of_send(&server, &c.connection_token).await, None, "valid just before a day");
    let fresh = connect_participant(&server, &chat.customer_token).await;
    server.advance(2.0).await;
    assert_eq!(code_of_send(&server, &c.connection_token).await.as_deref(), Some("AccessDeniedException"));
    assert_eq!(code_of_send(&server, &fresh.connection_token).await, None, "a newer token is unaffected");
}

#[tokio::test]
async fn websocket_url_must_be_opened_within_100_seconds() {
    let server = Server::start_with(&["--test-clock"]);
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    server.advance(99.0).await;
    Socket::open(&c.ws_url).await;
    server.advance(2.0).await;
    let err = Socket::open_raw(&c.ws_url).await.err().expect("expired URL refused");
    assert!(err.to_string().contains("403"), "{err}");
    let tampered = c.ws_url.replace("AuthToken=W", "AuthToken=Wx");
    assert!(Socket::open_raw(&tampered).await.is_err());
}

#[tokio::test]
async fn chat_ends_when_its_duration_runs_out() {
    let server = Server::start_with(&["--test-clock"]);
    let out = server
        .connect()
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(
            aws_sdk_connect::types::ParticipantDetails::builder().display_name("C").build().expect("details"),
        )
        .chat_duration_in_minutes(60)
        .send()
        .await
        .expect("start");
    let c = connect_participant(&server, out.participant_token.as_deref().expect("token")).await;
    let mut ws = Socket::open(&c.ws_url).await;
    server.advance(59.0 * 60.0).await;
    assert_eq!(code_of_send(&server, &c.connection_token).await, None);
    ws.until("MESSAGE").await;
    server.advance(61.0).await;
    ws.until(ENDED).await;
    assert_eq!(ws.closed().await, Some(1000));
    assert_eq!(code_of_send(&server, &c.connection_token).await.as_deref(), Some("AccessDeniedException"));
    assert_eq!(disconnect_reason(&server, &out.contact_id.expect("id")).await.as_deref(), Some("EXPIRED"));
}

#[tokio::test]
async fn a_customer_who_never_connects_is_dropped_after_five_minutes() {
    let server = Server::start_with(&["--test-clock"]);
    let waits = start_chat(&server).await;
    let connects = start_chat(&server).await;
    connect_participant(&server, &connects.customer_token).await;
    server.advance(301.0).await;
    let mut ended = false;
    for _ in 0..100 {
        if disconnect_reason(&server, &waits.contact_id).await.as_deref() == Some("OTHER") {
            ended = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ended, "the unconnected chat ends with reason OTHER");
    let d = server
        .connect()
        .describe_contact()
        .instance_id(INSTANCE)
        .contact_id(&connects.contact_id)
        .send()
        .await
        .expect("describe");
    assert!(d.contact.and_then(|c| c.disconnect_timestamp).is_none(), "the connected chat goes on");
}

#[tokio::test]
async fn tokens_survive_a_restart() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    let dir = server.kill();
    let server = Server::start_in(dir, &[]);
    assert_eq!(code_of_send(&server, &c.connection_token).await, None);
    connect_participant(&server, &chat.customer_token).await;
}
