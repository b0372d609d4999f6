//! Wire details the SDKs never exercise: raw JSON errors, routes, CORS, request ids.

use crate::harness::*;

#[tokio::test]
async fn errors_are_json_with_both_message_keys() {
    let server = Server::start();
    let bearer = [("x-amz-bearer", "whatever"), ("content-type", "application/json")];
    let (status, headers, body) = server.raw("POST", "/participant/message", &bearer, "{not json").await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "ValidationException");
    assert!(body["message"].is_string() && body["message"] == body["Message"], "{body}");
    assert!(headers.contains_key("x-amzn-requestid"));

    let (status, headers, body) = server.raw("POST", "/participant/nowhere", &bearer, "{}").await;
    assert_eq!(status, 404);
    assert!(headers.contains_key("x-amzn-errortype"));
    assert!(body.is_object());
    let (status, _, body) = server.raw("DELETE", "/participant/message", &bearer, "").await;
    assert_eq!(status, 405);
    assert!(body.is_object());
    let (status, _, body) = server.raw("POST", "/participant/message", &bearer, &"x".repeat(400_000)).await;
    assert_eq!(status, 413);
    assert_eq!(body["__type"], "ValidationException");
    let (status, _, body) = server.raw("POST", "/participant/message", &bearer, "[1,2]").await;
    assert_eq!(status, 400);
    assert!(body["Message"].as_str().unwrap_or_default().contains("object"));

    // No bearer at all: 403 before anything else; any Authorization header is ignored.
    let auth = [("authorization", "AWS4-HMAC-SHA256 Credential=/20261122/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00")];
    let (status, headers, body) = server.raw("POST", "/participant/message", &auth, "{}").await;
    assert_eq!(status, 403);
    assert_eq!(headers["x-amzn-errortype"], "AccessDeniedException");
    assert_eq!(body["message"], "Access denied");

    // Control plane: modeled code for bad JSON.
    let (status, headers, _) =
        server.raw("PUT", "/contact/chat", &[("content-type", "application/json")], "{").await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-errortype"], "InvalidParameterException");
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let server = Server::start();
    let asked = "authorization,content-type,x-amz-bearer,x-amz-content-sha256,x-amz-date,x-amz-user-agent";
    let (status, headers, _) = server
        .raw(
            "OPTIONS",
            "/participant/connection",
            &[
                ("origin", "https://widget.example"),
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", asked),
            ],
            "",
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], "*");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap_or_default().to_ascii_lowercase();
    for h in asked.split(',') {
        assert!(allowed.contains(h), "{h} allowed");
    }
    assert!(headers["access-control-allow-methods"].to_str().unwrap_or_default().contains("POST"));
    let (_, headers, _) =
        server.raw("POST", "/participant/message", &[("origin", "https://widget.example")], "{}").await;
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(headers["access-control-expose-headers"]
        .to_str()
        .unwrap_or_default()
        .contains("x-amzn-ErrorType"));
}

#[tokio::test]
async fn health_metrics_and_base_path() {
    let server = Server::start_with(&["--base-path", "/prefix/v1"]);
    let (status, _, body) = server.raw("GET", "/healthz", &[], "").await;
    assert_eq!((status, body["status"].as_str()), (404, None), "everything lives under the base path");
    let (status, _, body) = server.raw("GET", "/prefix/v1/healthz", &[], "").await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let expected =
        if crate::cluster_env::active() { ["postgres", "nats", "s3"] } else { ["sqlite", "memory", "file"] };
    for (part, name) in ["store", "bus", "blobs"].iter().zip(expected) {
        assert_eq!(body[part]["backend"], name, "{body}");
        assert_eq!(body[part]["status"], "ok", "{body}");
    }
    let (status, _, _) = server
        .raw(
            "PUT",
            "/prefix/v1/contact/chat",
            &[],
            r#"{"InstanceId":"i","ContactFlowId":"f","ParticipantDetails":{"DisplayName":"d"}}"#,
        )
        .await;
    assert_eq!(status, 200);
    let text = http()
        .get(format!("{}/prefix/v1/metrics", server.url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(text.contains(r#"confab_requests_total{operation="StartChatContact",status="200"} 1"#), "{text}");
    assert!(text.contains("confab_request_duration_seconds_bucket"));
    assert!(text.contains("confab_active_contacts 1"));
    assert!(text.contains("confab_open_websockets 0"));
    assert!(text.contains("confab_items_appended_total 1"));
    assert!(
        text.contains(&format!(
            "confab_backend_call_duration_seconds_count{{backend=\"{}\",call=\"commit\"}}",
            expected[0]
        )),
        "{text}"
    );
    assert!(text.contains("confab_backend_errors_total{backend="));
}

#[tokio::test]
async fn websocket_url_uses_127_0_0_1_for_localhost() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let port = server.url.rsplit(':').next().unwrap_or_default().to_owned();
    let (status, _, body) = server
        .raw(
            "POST",
            "/participant/connection",
            &[("x-amz-bearer", &chat.customer_token), ("host", &format!("localhost:{port}"))],
            r#"{"Type":["WEBSOCKET"]}"#,
        )
        .await;
    assert_eq!(status, 200);
    let url = body["Websocket"]["Url"].as_str().unwrap_or_default();
    assert!(url.starts_with(&format!("ws://127.0.0.1:{port}/")), "{url}");
    assert!(body["Websocket"]["ConnectionExpiry"]
        .as_str()
        .is_some_and(|e| e.ends_with('Z') && e.len() == 24));
    assert!(body.get("ConnectionCredentials").is_none(), "only what was asked for");
    // Type omitted with ConnectParticipant: an empty answer.
    let (status, _, body) = server
        .raw(
            "POST",
            "/participant/connection",
            &[("x-amz-bearer", &chat.customer_token)],
            r#"{"ConnectParticipant":true}"#,
        )
        .await;
    assert_eq!((status, body), (200, serde_json::json!({})));
}
