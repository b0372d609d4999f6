//! Persistent chat: three chats chained, all history read from the third; the association
//! of a running chat; the rules on sources.

use crate::harness::*;
use aws_sdk_connect::error::ProvideErrorMetadata;
use aws_sdk_connect::types::{ParticipantDetails, PersistentChat, RehydrationType};
use aws_sdk_connectparticipant::types::{Item, ScanDirection, SortKey, StartPosition};

const REHYDRATED: &str = "application/vnd.amazonaws.connect.event.chat.rehydrated";

/// Starts a chat continuing `source`; returns (contact id, customer connection token).
async fn continue_chat(server: &Server, kind: RehydrationType, source: &str) -> (String, String) {
    let out = server
        .connect()
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(
            ParticipantDetails::builder().display_name("Returning").build().expect("details"),
        )
        .persistent_chat(PersistentChat::builder().rehydration_type(kind).source_contact_id(source).build())
        .send()
        .await
        .expect("StartChatContact with PersistentChat");
    assert_eq!(out.continued_from_contact_id.as_deref(), Some(source));
    let c = connect_participant(server, out.participant_token.as_deref().expect("token")).await;
    (out.contact_id.expect("id"), c.connection_token)
}

/// Every item reachable from this connection, oldest first, paging BACKWARD in pages of 4.
async fn whole_history(server: &Server, token: &str) -> Vec<Item> {
    let mut pages = Vec::new();
    let mut next = None;
    loop {
        let out = server
            .participant()
            .get_transcript()
            .connection_token(token)
            .scan_direction(ScanDirection::Backward)
            .sort_order(SortKey::Ascending)
            .start_position(StartPosition::builder().build())
            .max_results(4)
            .set_next_token(next)
            .send()
            .await
            .expect("page");
        pages.push(out.transcript().to_vec());
        next = out.next_token;
        if next.is_none() {
            break;
        }
    }
    pages.into_iter().rev().flatten().collect()
}

fn describe(item: &Item) -> String {
    let what = item.content.clone().unwrap_or_else(|| {
        item.content_type.clone().unwrap_or_default().rsplit('.').take(2).collect::<Vec<_>>().join("<")
    });
    let whose = item.contact_id.clone().map_or_else(
        || format!("past:{}", item.related_contact_id.clone().unwrap_or_default()),
        |c| format!("now:{c}"),
    );
    format!("{what}@{whose}")
}

#[tokio::test]
async fn three_chained_chats_read_all_history_from_the_third() {
    let server = Server::start();
    let first = start_chat(&server).await;
    let c1 = connect_participant(&server, &first.customer_token).await;
    send(&server, &c1.connection_token, "m1").await;
    server
        .participant()
        .disconnect_participant()
        .connection_token(&c1.connection_token)
        .send()
        .await
        .expect("leave");

    let (second, c2) = continue_chat(&server, RehydrationType::EntirePastSession, &first.contact_id).await;
    send(&server, &c2, "m2").await;
    server.connect().stop_contact().instance_id(INSTANCE).contact_id(&second).send().await.expect("stop");

    let (third, c3) = continue_chat(&server, RehydrationType::FromSegment, &second).await;
    send(&server, &c3, "m3").await;

    let history: Vec<String> = whole_history(&server, &c3).await.iter().map(describe).collect();
    let f = &first.contact_id;
    let expected = vec![
        format!("joined<participant@past:{f}"),
        format!("m1@past:{f}"),
        format!("left<participant@past:{f}"),
        format!("ended<chat@past:{f}"),
        format!("joined<participant@past:{second}"),
        format!("rehydrated<chat@past:{second}"),
        format!("m2@past:{second}"),
        format!("ended<chat@past:{second}"),
        format!("joined<participant@now:{third}"),
        format!("rehydrated<chat@now:{third}"),
        format!("m3@now:{third}"),
    ];
    assert_eq!(history, expected);

    // The chain is visible in DescribeContact, and a ContactId filter stays in one contact.
    let d = server
        .connect()
        .describe_contact()
        .instance_id(INSTANCE)
        .contact_id(&third)
        .send()
        .await
        .expect("describe");
    assert_eq!(d.contact.and_then(|c| c.related_contact_id).as_deref(), Some(second.as_str()));
    let only = server
        .participant()
        .get_transcript()
        .connection_token(&c3)
        .contact_id(&third)
        .max_results(100)
        .send()
        .await
        .expect("filtered");
    assert_eq!(only.transcript().len(), 3);
    assert!(only.next_token.is_none());
}

#[tokio::test]
async fn sources_must_have_ended_and_exist() {
    let server = Server::start();
    let running = start_chat(&server).await;
    let start = |kind: RehydrationType, source: &str| {
        server
            .connect()
            .start_chat_contact()
            .instance_id(INSTANCE)
            .contact_flow_id(FLOW)
            .participant_details(ParticipantDetails::builder().display_name("C").build().expect("details"))
            .persistent_chat(
                PersistentChat::builder().rehydration_type(kind).source_contact_id(source).build(),
            )
    };
    let err = start(RehydrationType::EntirePastSession, &running.contact_id)
        .send()
        .await
        .expect_err("active source");
    let e = err.into_service_error();
    assert_eq!(e.code(), Some("InvalidRequestException"));
    assert!(e.message().unwrap_or_default().contains("ended"));
    let err = start(RehydrationType::FromSegment, "no-such-contact").send().await.expect_err("unknown");
    assert_eq!(err.into_service_error().code(), Some("ResourceNotFoundException"));
    server
        .connect()
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id(&running.contact_id)
        .send()
        .await
        .expect("stop");
    let err = start(RehydrationType::FromSegment, &running.contact_id)
        .related_contact_id(&running.contact_id)
        .send()
        .await
        .expect_err("both");
    assert_eq!(err.into_service_error().code(), Some("InvalidRequestException"));
}

#[tokio::test]
async fn a_running_chat_can_be_associated_with_a_past_one() {
    let server = Server::start();
    let past = start_chat(&server).await;
    let p = connect_participant(&server, &past.customer_token).await;
    send(&server, &p.connection_token, "before").await;
    server
        .connect()
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id(&past.contact_id)
        .send()
        .await
        .expect("stop");

    let now = start_chat(&server).await;
    let c = connect_participant(&server, &now.customer_token).await;
    let mut ws = Socket::open(&c.ws_url).await;
    let associate = |source: &str| {
        server
            .connect()
            .create_persistent_contact_association()
            .instance_id(INSTANCE)
            .initial_contact_id(&now.contact_id)
            .rehydration_type(RehydrationType::EntirePastSession)
            .source_contact_id(source)
    };
    let out = associate(&past.contact_id).send().await.expect("associate");
    assert_eq!(out.continued_from_contact_id.as_deref(), Some(past.contact_id.as_str()));
    assert_eq!(ws.until(REHYDRATED).await["ContactId"], now.contact_id.as_str());
    let history: Vec<String> =
        whole_history(&server, &c.connection_token).await.iter().filter_map(|i| i.content.clone()).collect();
    assert_eq!(history, ["before"]);
    associate(&past.contact_id).send().await.expect("the same association again is fine");

    let other = start_chat(&server).await;
    server
        .connect()
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id(&other.contact_id)
        .send()
        .await
        .expect("stop");
    let err = associate(&other.contact_id).send().await.expect_err("already associated");
    assert_eq!(err.into_service_error().code(), Some("InvalidRequestException"));
    let err = server
        .connect()
        .create_persistent_contact_association()
        .instance_id(INSTANCE)
        .initial_contact_id("no-such-contact")
        .rehydration_type(RehydrationType::EntirePastSession)
        .source_contact_id(&past.contact_id)
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(err.into_service_error().code(), Some("ResourceNotFoundException"));
}
