//! Every error class the two APIs answer with, as the SDKs parse it.

use crate::harness::*;
use aws_sdk_connectparticipant::error::ProvideErrorMetadata;
use aws_sdk_connectparticipant::operation::send_message::SendMessageError;
use aws_sdk_connectparticipant::types::{ConnectionType, ScanDirection};

#[tokio::test]
async fn participant_api_errors() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let p = server.participant();

    // 400 ValidationException, as a typed error with its message.
    let err = p
        .send_message()
        .connection_token(&customer.connection_token)
        .content_type("text/plain")
        .content("x".repeat(16_385))
        .send()
        .await
        .expect_err("too long");
    match err.into_service_error() {
        SendMessageError::ValidationException(e) => assert!(e.message().contains("16384"), "{e}"),
        other => panic!("expected ValidationException, got {other:?}"),
    }
    // 16,384 characters but more bytes: refused on the byte count.
    let err = p
        .send_message()
        .connection_token(&customer.connection_token)
        .content_type("text/plain")
        .content("é".repeat(9_000))
        .send()
        .await
        .expect_err("too many bytes");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    let err = p
        .send_message()
        .connection_token(&customer.connection_token)
        .content_type("text/markdown")
        .content("*x*")
        .send()
        .await
        .expect_err("not enabled");
    assert!(err.into_service_error().message().unwrap_or_default().contains("text/markdown"));
    let err = p
        .get_transcript()
        .connection_token(&customer.connection_token)
        .scan_direction(ScanDirection::from("SIDEWAYS"))
        .send()
        .await
        .expect_err("enum");
    let e = err.into_service_error();
    assert_eq!(e.code(), Some("ValidationException"));
    assert!(e.message().unwrap_or_default().contains("scanDirection"), "{e:?}");
    let err = p
        .get_transcript()
        .connection_token(&customer.connection_token)
        .max_results(101)
        .send()
        .await
        .expect_err("range");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    let err = p
        .create_participant_connection()
        .participant_token(&chat.customer_token)
        .r#type(ConnectionType::WebrtcConnection)
        .send()
        .await
        .expect_err("webrtc");
    let e = err.into_service_error();
    assert_eq!(e.code(), Some("ValidationException"));
    assert!(e.message().unwrap_or_default().contains("media"), "{e:?}");
    let err = p
        .send_event()
        .connection_token(&customer.connection_token)
        .content_type("application/vnd.amazonaws.connect.event.bogus")
        .send()
        .await
        .expect_err("event type");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    let err = p
        .send_event()
        .connection_token(&customer.connection_token)
        .content_type(READ)
        .content("not json")
        .send()
        .await
        .expect_err("receipt body");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    let err = p
        .send_event()
        .connection_token(&customer.connection_token)
        .content_type(READ)
        .content(r#"{"messageId":"nope"}"#)
        .send()
        .await
        .expect_err("unknown message");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));

    // 403 AccessDeniedException "Access denied" for bad, wrong-kind and forged tokens.
    for token in ["bogus", chat.customer_token.as_str(), &format!("{}x", customer.connection_token)] {
        let err = p
            .send_message()
            .connection_token(token)
            .content_type("text/plain")
            .content("hi")
            .send()
            .await
            .expect_err("denied");
        match err.into_service_error() {
            SendMessageError::AccessDeniedException(e) => assert_eq!(e.message(), "Access denied"),
            other => panic!("expected AccessDeniedException, got {other:?}"),
        }
    }
    let err = p
        .create_participant_connection()
        .participant_token(&customer.connection_token)
        .send()
        .await
        .expect_err("connection token is the wrong kind");
    assert_eq!(err.into_service_error().code(), Some("AccessDeniedException"));

    // 409 ConflictException: receipts with more than two active participants.
    let (_, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "A").await;
    let agent = connect_participant(&server, &agent_token).await;
    let id = send(&server, &agent.connection_token, "hello").await;
    add_participant(&server, &chat.contact_id, "SUPERVISOR", "S").await;
    let err = p
        .send_event()
        .connection_token(&customer.connection_token)
        .content_type(READ)
        .content(format!(r#"{{"messageId":"{id}"}}"#))
        .send()
        .await
        .expect_err("conflict");
    assert_eq!(err.into_service_error().code(), Some("ConflictException"));

    // After leaving: 403 for everything, a repeated disconnect included.
    p.disconnect_participant().connection_token(&agent.connection_token).send().await.expect("leave");
    let err =
        p.disconnect_participant().connection_token(&agent.connection_token).send().await.expect_err("left");
    assert_eq!(err.into_service_error().code(), Some("AccessDeniedException"));
}

#[tokio::test]
async fn control_plane_errors() {
    use aws_sdk_connect::types::{ParticipantDetails, PersistentChat, RehydrationType};
    let server = Server::start();
    let c = server.connect();
    let details = || ParticipantDetails::builder().display_name("C").build().expect("details");

    let err = c
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(details())
        .chat_duration_in_minutes(59)
        .send()
        .await
        .expect_err("duration");
    assert_eq!(err.into_service_error().code(), Some("InvalidParameterException"));
    let err = c
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(details())
        .supported_messaging_content_types("text/markdown")
        .send()
        .await
        .expect_err("text/plain required");
    assert_eq!(err.into_service_error().code(), Some("InvalidRequestException"));
    let err = c
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(details())
        .persistent_chat(
            PersistentChat::builder()
                .rehydration_type(RehydrationType::EntirePastSession)
                .source_contact_id("x")
                .build(),
        )
        .send()
        .await
        .expect_err("unknown source");
    let e = err.into_service_error();
    assert_eq!(e.code(), Some("ResourceNotFoundException"));
    assert!(e.message().unwrap_or_default().contains("SourceContactId"));

    let err = c
        .describe_contact()
        .instance_id(INSTANCE)
        .contact_id("no-such-contact")
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(err.into_service_error().code(), Some("ResourceNotFoundException"));
    let err = c
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id("no-such-contact")
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(410));
    assert_eq!(err.into_service_error().code(), Some("ContactNotFoundException"));

    let chat = start_chat(&server).await;
    let err = c
        .describe_contact()
        .instance_id("another-instance")
        .contact_id(&chat.contact_id)
        .send()
        .await
        .expect_err("other instance");
    assert_eq!(err.into_service_error().code(), Some("ResourceNotFoundException"));
    for _ in 0..5 {
        add_participant(&server, &chat.contact_id, "CUSTOM_BOT", "Bot").await;
    }
    let add = |role: &str| {
        c.create_participant().instance_id(INSTANCE).contact_id(&chat.contact_id).participant_details(
            aws_sdk_connect::types::ParticipantDetailsToAdd::builder()
                .participant_role(aws_sdk_connect::types::ParticipantRole::from(role))
                .display_name("x")
                .build(),
        )
    };
    let err = add("CUSTOM_BOT").send().await.expect_err("seventh participant");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(402));
    assert_eq!(err.into_service_error().code(), Some("ServiceQuotaExceededException"));
    let err = add("CUSTOMER").send().await.expect_err("customer role");
    assert_eq!(err.into_service_error().code(), Some("InvalidRequestException"));

    let other = start_chat(&server).await;
    c.stop_contact().instance_id(INSTANCE).contact_id(&other.contact_id).send().await.expect("stop");
    let err = c
        .create_participant()
        .instance_id(INSTANCE)
        .contact_id(&other.contact_id)
        .participant_details(
            aws_sdk_connect::types::ParticipantDetailsToAdd::builder()
                .participant_role(aws_sdk_connect::types::ParticipantRole::Agent)
                .display_name("x")
                .build(),
        )
        .send()
        .await
        .expect_err("ended");
    assert_eq!(err.into_service_error().code(), Some("ConflictException"));
}

#[tokio::test]
async fn configured_rate_limits_answer_throttling() {
    let dir = std::env::temp_dir().join(format!("confab-throttle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("confab.toml");
    std::fs::write(&config, "[server.rate_limits]\nSendMessage = { rate = 0.01, burst = 2 }\nStartChatContact = { rate = 0.01, burst = 1 }\n").expect("config");
    let server = Server::start_with(&["--config", config.to_str().expect("utf8")]);
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    let p = server.participant_no_retry();
    for _ in 0..2 {
        p.send_message()
            .connection_token(&c.connection_token)
            .content_type("text/plain")
            .content("x")
            .send()
            .await
            .expect("within the burst");
    }
    let err = p
        .send_message()
        .connection_token(&c.connection_token)
        .content_type("text/plain")
        .content("x")
        .send()
        .await
        .expect_err("over the rate");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(429));
    assert_eq!(err.into_service_error().code(), Some("ThrottlingException"));
    let raw = server
        .raw(
            "PUT",
            "/contact/chat",
            &[],
            r#"{"InstanceId":"i","ContactFlowId":"f","ParticipantDetails":{"DisplayName":"d"}}"#,
        )
        .await;
    assert_eq!(
        (raw.0, raw.1["x-amzn-errortype"].to_str().unwrap_or_default()),
        (429, "LimitExceededException")
    );
    let _ = std::fs::remove_dir_all(dir);
}
