//! Attachments end to end: StartAttachmentUpload → PUT the bytes with HeadersToInclude →
//! CompleteAttachmentUpload → ATTACHMENT items → GetAttachment → the same bytes back.

use crate::harness::*;
use aws_sdk_connectparticipant::error::ProvideErrorMetadata;
use aws_sdk_connectparticipant::Client;
use std::path::Path;

/// Starts an upload and PUTs the bytes as a browser would; returns the attachment id.
async fn upload(p: &Client, token: &str, name: &str, content_type: &str, bytes: &[u8]) -> String {
    let started = p
        .start_attachment_upload()
        .connection_token(token)
        .attachment_name(name)
        .content_type(content_type)
        .attachment_size_in_bytes(bytes.len() as i64)
        .send()
        .await
        .expect("StartAttachmentUpload");
    let meta = started.upload_metadata.expect("UploadMetadata");
    let mut put = http().put(meta.url.expect("Url")).body(bytes.to_vec());
    for (k, v) in meta.headers_to_include.expect("HeadersToInclude") {
        put = put.header(k, v);
    }
    let status = put.send().await.expect("PUT").status();
    assert_eq!(status, 200, "the upload PUT");
    started.attachment_id.expect("AttachmentId")
}

async fn complete(p: &Client, token: &str, id: &str) {
    p.complete_attachment_upload()
        .connection_token(token)
        .attachment_ids(id)
        .send()
        .await
        .expect("CompleteAttachmentUpload");
}

/// Changes the last character of a presigned URL's signature.
fn tamper_signature(url: &str) -> String {
    let mut chars: Vec<char> = url.chars().collect();
    let at = url.find("X-Amz-Signature=").map(|i| i + "X-Amz-Signature=".len()).unwrap_or(chars.len() - 1);
    chars[at] = if chars[at] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

fn write_config(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("confab-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("confab.toml");
    std::fs::write(&path, text).expect("config");
    path
}

#[tokio::test]
async fn upload_complete_push_and_download_the_same_bytes() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let (_, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "A").await;
    let agent = connect_participant(&server, &agent_token).await;
    let mut agent_ws = Socket::open(&agent.ws_url).await;
    let p = server.participant();
    let bytes = b"\x89PNG\r\n\x1a\n not really a png".to_vec();
    let id = upload(&p, &customer.connection_token, "Screenshot 1.png", "image/png", &bytes).await;
    complete(&p, &customer.connection_token, &id).await;

    let item = agent_ws.until("ATTACHMENT").await;
    let a = &item["Attachments"][0];
    assert_eq!((a["AttachmentId"].as_str(), a["Status"].as_str()), (Some(id.as_str()), Some("APPROVED")));
    assert_eq!(
        (a["AttachmentName"].as_str(), a["ContentType"].as_str()),
        (Some("Screenshot 1.png"), Some("image/png"))
    );
    assert_eq!(item["ParticipantRole"], "CUSTOMER");
    assert_eq!(item["InitialContactId"], chat.contact_id.as_str());

    let t = p.get_transcript().connection_token(&agent.connection_token).send().await.expect("transcript");
    assert_eq!(t.transcript()[0].r#type.as_ref().map(|t| t.as_str()), Some("ATTACHMENT"));

    for (disposition, expected) in [(None, "attachment"), (Some("INLINE"), "inline")] {
        let got = p
            .get_attachment()
            .connection_token(&agent.connection_token)
            .attachment_id(&id)
            .set_url_content_disposition(
                disposition.map(aws_sdk_connectparticipant::types::ContentDisposition::from),
            )
            .url_expiry_in_seconds(60)
            .send()
            .await
            .expect("GetAttachment");
        assert_eq!(got.attachment_size_in_bytes, bytes.len() as i64);
        let r = http()
            .get(got.url.expect("Url"))
            .header("origin", "https://widget.example")
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 200);
        let cd = r.headers()["content-disposition"].to_str().unwrap_or_default().to_owned();
        assert!(cd.starts_with(expected) && cd.contains("Screenshot 1.png"), "{cd}");
        if !crate::cluster_env::active() {
            // confab's own download URL answers browsers; with S3 that is the bucket's CORS.
            assert_eq!(r.headers()["access-control-allow-origin"], "*");
        }
        assert_eq!(r.bytes().await.expect("body").to_vec(), bytes);
    }
}

#[tokio::test]
async fn upload_urls_are_checked() {
    let server = Server::start_with(&["--test-clock"]);
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    let p = server.participant();
    let start = |name: &str, size: i64| {
        p.start_attachment_upload()
            .connection_token(&c.connection_token)
            .attachment_name(name)
            .content_type("text/plain")
            .attachment_size_in_bytes(size)
    };
    let err = start("virus.exe", 10).send().await.expect_err("extension");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    let err = start("huge.txt", 20 * 1024 * 1024 + 1).send().await.expect_err("size");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));

    let started = start("notes.txt", 5).send().await.expect("start");
    let id = started.attachment_id.clone().expect("id");
    let url = started.upload_metadata.and_then(|m| m.url).expect("url");
    let put = |url: String, ct: &'static str, body: &'static str| async move {
        http().put(url).header("content-type", ct).body(body).send().await.expect("PUT").status().as_u16()
    };
    // Embedded: confab checks the PUT itself. Cluster: a real presigned S3 URL, checked by
    // the S3 server (signature, signed Content-Type, expiry) and by completion (size).
    let s3 = crate::cluster_env::active();
    let tampered = if s3 { tamper_signature(&url) } else { url.replace("token=U", "token=Ux") };
    let wrong_type = put(url.clone(), "image/png", "hello").await;
    assert_eq!(wrong_type, if s3 { 403 } else { 400 }, "type differs from the signed one");
    if !s3 {
        assert_eq!(put(url.clone(), "text/plain", "hello world").await, 400, "size differs");
    }
    assert_eq!(put(tampered, "text/plain", "hello").await, 403, "tampered");
    let err = p
        .complete_attachment_upload()
        .connection_token(&c.connection_token)
        .attachment_ids(&id)
        .send()
        .await
        .expect_err("not uploaded");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    assert_eq!(put(url.clone(), "text/plain", "hello").await, 200);
    if !s3 {
        assert_eq!(put(url.clone(), "text/plain", "hello").await, 403, "a URL uploads once");
    }
    complete(&p, &c.connection_token, &id).await;
    let err = p
        .complete_attachment_upload()
        .connection_token(&c.connection_token)
        .attachment_ids(&id)
        .send()
        .await
        .expect_err("twice");
    assert_eq!(err.into_service_error().code(), Some("ConflictException"));

    if s3 {
        let other = start("other.txt", 5).send().await.expect("start");
        let other_url = other.upload_metadata.and_then(|m| m.url).expect("url");
        put(other_url, "text/plain", "not five bytes").await;
        let other_id = other.attachment_id.expect("id");
        let err = p
            .complete_attachment_upload()
            .connection_token(&c.connection_token)
            .attachment_ids(&other_id)
            .send()
            .await
            .expect_err("size");
        assert_eq!(err.into_service_error().code(), Some("ValidationException"));
    } else {
        let late = start("late.txt", 5).send().await.expect("start");
        server.advance(301.0).await;
        let status = put(late.upload_metadata.and_then(|m| m.url).expect("url"), "text/plain", "hello").await;
        assert_eq!(status, 403, "expired");
    }

    // Preflight of the upload URL (PUT is not a simple method).
    let (status, headers, _) = server
        .raw(
            "OPTIONS",
            "/attachments/upload",
            &[
                ("origin", "https://w.example"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "content-type"),
            ],
            "",
        )
        .await;
    assert_eq!(status, 200);
    assert!(headers["access-control-allow-methods"].to_str().unwrap_or_default().contains("PUT"));
}

#[tokio::test]
async fn quota_and_bot_downloads() {
    let config = write_config("attach-quota", "[service.attachments]\nmax_per_chat = 2\n");
    let server = Server::start_with(&["--config", config.to_str().expect("utf8")]);
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    let p = server.participant();
    let first = upload(&p, &c.connection_token, "a.txt", "text/plain", b"a").await;
    complete(&p, &c.connection_token, &first).await;
    upload(&p, &c.connection_token, "b.txt", "text/plain", b"b").await;
    let err = p
        .start_attachment_upload()
        .connection_token(&c.connection_token)
        .attachment_name("c.txt")
        .content_type("text/plain")
        .attachment_size_in_bytes(1)
        .send()
        .await
        .expect_err("quota");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(402));
    assert_eq!(err.into_service_error().code(), Some("ServiceQuotaExceededException"));

    let (_, bot_token) = add_participant(&server, &chat.contact_id, "CUSTOM_BOT", "Bot").await;
    let bot = connect_participant(&server, &bot_token).await;
    let err = p
        .get_attachment()
        .connection_token(&bot.connection_token)
        .attachment_id(&first)
        .send()
        .await
        .expect_err("bot");
    assert_eq!(err.into_service_error().code(), Some("AccessDeniedException"));
}

#[tokio::test]
async fn scanner_verdicts_arrive_as_another_item() {
    let config = write_config(
        "attach-scan",
        "[service.attachments.scanner]\ncommand = [\"sh\", \"-c\", \"! grep -q EICAR\"]\n",
    );
    let server = Server::start_with(&["--config", config.to_str().expect("utf8")]);
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    let mut ws = Socket::open(&c.ws_url).await;
    let p = server.participant();
    for (name, body, verdict) in
        [("clean.txt", &b"hello"[..], "APPROVED"), ("bad.txt", &b"xx EICAR xx"[..], "REJECTED")]
    {
        let id = upload(&p, &c.connection_token, name, "text/plain", body).await;
        complete(&p, &c.connection_token, &id).await;
        let first = ws.until("ATTACHMENT").await;
        assert_eq!(first["Attachments"][0]["Status"], "IN_PROGRESS");
        let second = ws.until("ATTACHMENT").await;
        assert_eq!(second["Id"], first["Id"], "the same item, updated");
        assert_eq!(second["Attachments"][0]["Status"], verdict, "{name}");
        let got = p.get_attachment().connection_token(&c.connection_token).attachment_id(&id).send().await;
        assert_eq!(got.is_ok(), verdict == "APPROVED");
    }
    let t = p.get_transcript().connection_token(&c.connection_token).send().await.expect("transcript");
    let statuses: Vec<String> = t
        .transcript()
        .iter()
        .flat_map(|i| {
            i.attachments()
                .iter()
                .map(|a| a.status.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default())
        })
        .collect();
    assert_eq!(statuses, ["REJECTED", "APPROVED"], "the transcript shows the verdicts (newest first)");
}

#[tokio::test]
async fn uploads_never_completed_are_swept() {
    let server = Server::start_with(&["--test-clock"]);
    let chat = start_chat(&server).await;
    let c = connect_participant(&server, &chat.customer_token).await;
    let p = server.participant();
    let id = upload(&p, &c.connection_token, "orphan.txt", "text/plain", b"orphan").await;
    let blob = server.blob_file(&format!("attachments/{}/{id}", chat.contact_id));
    assert!(Path::new(&blob).exists(), "the bytes are in the data folder");
    server.advance(300.0 + 3600.0 + 1.0).await;
    let mut gone = false;
    // Up to 10 s: the timer loop runs behind everything else on a loaded 2-core machine.
    for _ in 0..500 {
        if !blob.exists() {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(gone, "the sweeper removed the bytes");
    let err = p
        .complete_attachment_upload()
        .connection_token(&c.connection_token)
        .attachment_ids(&id)
        .send()
        .await
        .expect_err("swept");
    assert_eq!(err.into_service_error().code(), Some("ValidationException"));
}
