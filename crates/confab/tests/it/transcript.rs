//! GetTranscript paging: directions, sort orders, start positions, NextToken.

use crate::harness::*;
use aws_sdk_connectparticipant::error::ProvideErrorMetadata;
use aws_sdk_connectparticipant::types::{ScanDirection, SortKey, StartPosition};

/// A chat with the customer's joined event and messages "m1".."m{n}".
async fn chat_with_messages(server: &Server, n: usize) -> (String, Vec<String>) {
    let chat = start_chat(server).await;
    let c = connect_participant(server, &chat.customer_token).await;
    let mut ids = Vec::new();
    for i in 1..=n {
        ids.push(send(server, &c.connection_token, &format!("m{i}")).await);
    }
    (c.connection_token, ids)
}

fn contents(out: &aws_sdk_connectparticipant::operation::get_transcript::GetTranscriptOutput) -> Vec<String> {
    out.transcript().iter().filter_map(|i| i.content.clone()).collect()
}

#[tokio::test]
async fn pages_backward_and_forward_until_no_token() {
    let server = Server::start();
    let (token, _) = chat_with_messages(&server, 25).await;
    let p = server.participant();

    // Default: newest first, 10 per page; walk back to the start.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    loop {
        let out = p
            .get_transcript()
            .connection_token(&token)
            .set_next_token(next.clone())
            .send()
            .await
            .expect("page");
        pages += 1;
        seen.extend(out.transcript().iter().map(|i| i.content.clone().unwrap_or_else(|| "joined".into())));
        match out.next_token {
            Some(t) => {
                assert!(!t.is_empty() && Some(&t) != next.as_ref(), "a new, non-empty token");
                next = Some(t);
            }
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = (1..=25).rev().map(|i| format!("m{i}")).collect();
    expected.push("joined".into());
    assert_eq!(seen, expected);

    // FORWARD from the first item, ascending, through the SDK's paginator.
    let first = p
        .get_transcript()
        .connection_token(&token)
        .sort_order(SortKey::Ascending)
        .max_results(1)
        .start_position(StartPosition::builder().most_recent(26).build())
        .send()
        .await
        .expect("oldest");
    let first_id = first.transcript()[0].id.clone().expect("id");
    let pages: Vec<_> = p
        .get_transcript()
        .connection_token(&token)
        .scan_direction(ScanDirection::Forward)
        .sort_order(SortKey::Ascending)
        .max_results(7)
        .start_position(StartPosition::builder().id(&first_id).build())
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("paginate");
    assert_eq!(pages.len(), 4);
    let all: Vec<String> = pages.iter().flat_map(contents).collect();
    assert_eq!(all, (1..=25).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert!(pages.last().and_then(|p| p.next_token.clone()).is_none());
}

#[tokio::test]
async fn start_positions() {
    let server = Server::start();
    let (token, ids) = chat_with_messages(&server, 10).await;
    let p = server.participant();
    let get = || p.get_transcript().connection_token(&token).sort_order(SortKey::Ascending);

    // chatjs: BACKWARD + ASCENDING + StartPosition {} = the newest page, oldest first.
    let out = get()
        .scan_direction(ScanDirection::Backward)
        .max_results(3)
        .start_position(StartPosition::builder().build())
        .send()
        .await
        .expect("{}");
    assert_eq!(contents(&out), ["m8", "m9", "m10"]);

    // MostRecent N: start N items back from the newest (FORWARD by default with a start).
    let out = get()
        .start_position(StartPosition::builder().most_recent(4).build())
        .send()
        .await
        .expect("most recent");
    assert_eq!(contents(&out), ["m7", "m8", "m9", "m10"]);

    // Id, inclusive, both directions.
    let out = get()
        .start_position(StartPosition::builder().id(&ids[4]).build())
        .max_results(2)
        .send()
        .await
        .expect("id forward");
    assert_eq!(contents(&out), ["m5", "m6"]);
    let out = get()
        .scan_direction(ScanDirection::Backward)
        .start_position(StartPosition::builder().id(&ids[4]).build())
        .max_results(2)
        .send()
        .await
        .expect("id backward");
    assert_eq!(contents(&out), ["m4", "m5"]);

    // AbsoluteTime: from the first item at or after it.
    let all = get().scan_direction(ScanDirection::Backward).max_results(100).send().await.expect("all");
    let t = all.transcript()[5].absolute_time.clone().expect("time");
    let out = get()
        .start_position(StartPosition::builder().absolute_time(&t).build())
        .max_results(100)
        .send()
        .await
        .expect("time");
    assert!(out.transcript().first().and_then(|i| i.absolute_time.clone()).is_some_and(|first| first >= t));

    // FORWARD with no start position: nothing newer than now.
    let out = get().scan_direction(ScanDirection::Forward).send().await.expect("forward, no start");
    assert!(out.transcript().is_empty() && out.next_token.is_none());
    let out = get().max_results(0).send().await.expect("zero");
    assert!(out.transcript().is_empty());

    let err = get()
        .start_position(StartPosition::builder().id(&ids[0]).most_recent(2).build())
        .send()
        .await
        .expect_err("two starts");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    let err = get().next_token("not-a-token").send().await.expect_err("bad token");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    let err = get().contact_id("another-contact").send().await.expect_err("foreign contact");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
}

#[tokio::test]
async fn next_token_belongs_to_its_participant() {
    let server = Server::start();
    let (token, _) = chat_with_messages(&server, 5).await;
    let (other, _) = chat_with_messages(&server, 5).await;
    let out = server
        .participant()
        .get_transcript()
        .connection_token(&token)
        .max_results(2)
        .send()
        .await
        .expect("page");
    let next = out.next_token.expect("more pages");
    let err = server
        .participant()
        .get_transcript()
        .connection_token(&other)
        .next_token(next)
        .send()
        .await
        .expect_err("foreign token");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
}
