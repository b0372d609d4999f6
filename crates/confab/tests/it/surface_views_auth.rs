//! Views (CreateView, CreateViewVersion, DescribeView, views from the settings, interactive
//! messages that name a view), customer authentication (AuthenticateCustomer,
//! GetAuthenticationUrl, CancelParticipantAuthentication, UpdateParticipantAuthentication,
//! their timers) and TLS (HTTPS and wss:// with a certificate made here).

use crate::harness::*;
use aws_sdk_connect::error::ProvideErrorMetadata;
use aws_sdk_connect::types::{ViewInputContent, ViewStatus};
use serde_json::{json, Value};
use std::path::PathBuf;

const OTHER_INSTANCE: &str = "99999999-2222-3333-4444-555555555555";
const INTERACTIVE: &str = "application/vnd.amazonaws.connect.message.interactive";
const AUTH: &str = "application/vnd.amazonaws.connect.event.authentication.";

/// The code of a failed SDK call (panics on success).
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(result: Result<T, E>) -> String {
    let err = result.expect_err("the call should fail");
    err.code().unwrap_or_default().to_owned()
}

/// A settings file in a fresh folder.
fn settings(toml: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("confab-it-settings-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("settings folder");
    let path = dir.join("confab.toml");
    std::fs::write(&path, toml).expect("settings file");
    path
}

fn view_settings(template: &str) -> String {
    format!(
        r#"
[[service.flow_blocks.views]]
instance_id = "{INSTANCE}"
id = "order-status"
name = "Order status"
template = '{template}'
actions = ["Close"]
"#
    )
}

async fn create_view(
    server: &Server,
    instance: &str,
    name: &str,
    status: ViewStatus,
    template: &str,
) -> String {
    let out = server
        .connect()
        .create_view()
        .instance_id(instance)
        .name(name)
        .status(status)
        .content(ViewInputContent::builder().template(template).actions("Submit").build())
        .send()
        .await
        .expect("CreateView");
    out.view.and_then(|v| v.id).expect("Id")
}

async fn describe(server: &Server, token: &str, view_token: &str) -> aws_sdk_connectparticipant::types::View {
    server
        .participant()
        .describe_view()
        .connection_token(token)
        .view_token(view_token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DescribeView {view_token}: {e:?}"))
        .view
        .expect("View")
}

#[tokio::test]
async fn views_are_created_versioned_and_described() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let template =
        r#"{"Head":{"Title":"$.Title"},"Body":[{"Type":"Text","Props":{"Value":"$.Detail.Text"}}]}"#;

    let created = server
        .connect()
        .create_view()
        .instance_id(INSTANCE)
        .name("Order form")
        .description("Asks for an order number")
        .status(ViewStatus::Published)
        .content(ViewInputContent::builder().template(template).actions("Submit").actions("Cancel").build())
        .client_token("view-token-1")
        .send()
        .await
        .expect("CreateView")
        .view
        .expect("View");
    let id = created.id.clone().expect("Id");
    let arn = created.arn.clone().expect("Arn");
    assert_eq!(arn, format!("arn:aws:connect:us-east-1:123456789012:instance/{INSTANCE}/view/{id}"));
    assert_eq!(created.status, Some(ViewStatus::Published));
    assert!(created.created_time.is_some());
    let content = created.content.clone().expect("Content");
    assert_eq!(content.template.as_deref(), Some(template));
    assert_eq!(content.actions(), ["Submit", "Cancel"]);
    let schema: Value = serde_json::from_str(content.input_schema.as_deref().unwrap_or("")).expect("schema");
    assert_eq!(schema, json!({"type": "object", "properties": {"Detail": {}, "Title": {}}}));

    // The same ClientToken answers with the same view.
    let again = server
        .connect()
        .create_view()
        .instance_id(INSTANCE)
        .name("Order form")
        .status(ViewStatus::Published)
        .content(ViewInputContent::builder().template(template).build())
        .client_token("view-token-1")
        .send()
        .await
        .expect("CreateView replay");
    assert_eq!(again.view.and_then(|v| v.id), Some(id.clone()));

    // By Id, by ARN, with $LATEST: no version number yet.
    for token in [id.clone(), arn.clone(), format!("{id}:$LATEST"), format!("{arn}:$LATEST")] {
        let view = describe(&server, &customer.connection_token, &token).await;
        assert_eq!(view.id.as_deref(), Some(id.as_str()));
        assert_eq!(view.arn.as_deref(), Some(arn.as_str()));
        assert_eq!(view.name.as_deref(), Some("Order form"));
        assert_eq!(view.version, None);
        let c = view.content.expect("Content");
        assert_eq!(c.template.as_deref(), Some(template));
        assert_eq!(c.actions(), ["Submit", "Cancel"]);
        assert!(c.input_schema.is_some());
    }

    // No version 1 before it is published.
    let err = server
        .participant()
        .describe_view()
        .connection_token(&customer.connection_token)
        .view_token(format!("{id}:1"))
        .send()
        .await
        .expect_err("no version 1 yet")
        .into_service_error();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));

    // Versions: 1, then 1 again while $LATEST is unchanged.
    for _ in 0..2 {
        let v = server
            .connect()
            .create_view_version()
            .instance_id(INSTANCE)
            .view_id(&id)
            .version_description("first")
            .send()
            .await
            .expect("CreateViewVersion")
            .view
            .expect("View");
        assert_eq!(v.version, 1);
        assert_eq!(v.version_description.as_deref(), Some("first"));
    }
    let v1 = describe(&server, &customer.connection_token, &format!("{arn}:1")).await;
    assert_eq!(v1.version, Some(1));
    assert_eq!(v1.content.and_then(|c| c.template).as_deref(), Some(template));
    let err =
        code(server.connect().create_view_version().instance_id(OTHER_INSTANCE).view_id(&id).send().await);
    assert_eq!(err, "ResourceNotFoundException");

    // Names are unique per instance; another instance may reuse one.
    let dup = code(
        server
            .connect()
            .create_view()
            .instance_id(INSTANCE)
            .name("Order form")
            .status(ViewStatus::Saved)
            .content(ViewInputContent::builder().template("{}").build())
            .send()
            .await,
    );
    assert_eq!(dup, "DuplicateResourceException");
    let elsewhere = create_view(&server, OTHER_INSTANCE, "Order form", ViewStatus::Published, "{}").await;

    // A view of another instance is not visible to this chat.
    let err = server
        .participant()
        .describe_view()
        .connection_token(&customer.connection_token)
        .view_token(&elsewhere)
        .send()
        .await
        .expect_err("another instance's view")
        .into_service_error();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}

#[tokio::test]
async fn view_errors() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;

    // A SAVED view has $SAVED but no $LATEST, and cannot be versioned.
    let saved = create_view(&server, INSTANCE, "Draft", ViewStatus::Saved, r#"{"Body":[]}"#).await;
    let view = describe(&server, &customer.connection_token, &format!("{saved}:$SAVED")).await;
    assert_eq!(view.content.and_then(|c| c.template).as_deref(), Some(r#"{"Body":[]}"#));
    let err = server
        .participant()
        .describe_view()
        .connection_token(&customer.connection_token)
        .view_token(&saved)
        .send()
        .await
        .expect_err("no $LATEST");
    assert_eq!(err.into_service_error().code(), Some("ResourceNotFoundException"));
    let err = code(server.connect().create_view_version().instance_id(INSTANCE).view_id(&saved).send().await);
    assert_eq!(err, "InvalidRequestException");

    // Unknown views: 404 with ResourceId and ResourceType, on the wire and in the SDK.
    let err = server
        .participant()
        .describe_view()
        .connection_token(&customer.connection_token)
        .view_token("no/such view")
        .send()
        .await
        .expect_err("unknown view")
        .into_service_error();
    let aws_sdk_connectparticipant::operation::describe_view::DescribeViewError::ResourceNotFoundException(
        nf,
    ) = err
    else {
        panic!("expected ResourceNotFoundException, got {err:?}");
    };
    assert_eq!(nf.resource_id(), Some("no/such view"));
    assert_eq!(nf.resource_type().map(|t| t.as_str()), Some("CONTACT_FLOW"));
    let bearer = [("x-amz-bearer", customer.connection_token.as_str())];
    let (status, headers, body) = server.raw("GET", "/participant/views/missing%3A7", &bearer, "").await;
    assert_eq!(status, 404);
    assert_eq!(headers["x-amzn-ErrorType"], "ResourceNotFoundException");
    assert_eq!((&body["ResourceId"], &body["ResourceType"]), (&json!("missing:7"), &json!("CONTACT_FLOW")));

    // A bad token is 403 before anything else.
    let err = server.participant().describe_view().connection_token("forged").view_token(&saved).send().await;
    assert_eq!(code(err), "AccessDeniedException");

    // The template must be JSON; the model's constraints hold (Name pattern, Status enum).
    let bad = server
        .connect()
        .create_view()
        .instance_id(INSTANCE)
        .name("Broken")
        .status(ViewStatus::Published)
        .content(ViewInputContent::builder().template("{not json").build())
        .send()
        .await;
    assert_eq!(code(bad), "InvalidParameterException");
    let bad = server
        .connect()
        .create_view()
        .instance_id(INSTANCE)
        .name(" leading space")
        .status(ViewStatus::Published)
        .content(ViewInputContent::builder().template("{}").build())
        .send()
        .await;
    assert_eq!(code(bad), "InvalidParameterException");
    let body = r#"{"Name":"X","Status":"LIVE","Content":{"Template":"{}"}}"#;
    let (status, _, answer) = server.raw("PUT", &format!("/views/{INSTANCE}"), &[], body).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["Message"].as_str().unwrap_or("").contains("status"), "{answer}");
}

#[tokio::test]
async fn views_from_the_settings_keep_their_versions_across_restarts() {
    let first = r#"{"Head":{"Title":"$.OrderId"}}"#;
    let server = Server::start_with(&["--config", settings(&view_settings(first)).to_str().unwrap_or("")]);
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let view = describe(&server, &customer.connection_token, "order-status").await;
    assert_eq!(view.name.as_deref(), Some("Order status"));
    let content = view.content.expect("Content");
    assert_eq!(content.template.as_deref(), Some(first));
    assert_eq!(content.actions(), ["Close"]);
    assert!(content.input_schema.as_deref().unwrap_or("").contains("OrderId"));
    let v1 = describe(&server, &customer.connection_token, "order-status:1").await;
    assert_eq!(v1.version, Some(1));

    // Restarted with a new template: $LATEST follows it as version 2; version 1 stays.
    let dir = server.kill();
    let second = r#"{"Head":{"Title":"$.Order"}}"#;
    let server =
        Server::start_in(dir, &["--config", settings(&view_settings(second)).to_str().unwrap_or("")]);
    let token =
        connect_participant(&server, &start_chat(&server).await.customer_token).await.connection_token;
    let latest = describe(&server, &token, "order-status").await;
    assert_eq!(latest.content.and_then(|c| c.template).as_deref(), Some(second));
    let v1 = describe(&server, &token, "order-status:1").await;
    assert_eq!(v1.content.and_then(|c| c.template).as_deref(), Some(first));
    let v2 = describe(&server, &token, "order-status:2").await;
    assert_eq!(v2.content.and_then(|c| c.template).as_deref(), Some(second));
    // Unchanged at the next restart: no version 3.
    let dir = server.kill();
    let server =
        Server::start_in(dir, &["--config", settings(&view_settings(second)).to_str().unwrap_or("")]);
    let token =
        connect_participant(&server, &start_chat(&server).await.customer_token).await.connection_token;
    let err = server
        .participant()
        .describe_view()
        .connection_token(&token)
        .view_token("order-status:3")
        .send()
        .await;
    assert_eq!(code(err), "ResourceNotFoundException");
}

#[tokio::test]
async fn a_bad_view_in_the_settings_stops_the_start() {
    let path = settings(&view_settings("{not json"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(path.with_file_name("data"))
        .arg("--config")
        .arg(&path)
        .output()
        .expect("run confab");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("order-status") && stderr.contains("JSON"), "{stderr}");
}

#[tokio::test]
async fn an_interactive_message_naming_a_view_travels_unchanged() {
    let server = Server::start();
    let view_id = create_view(&server, INSTANCE, "Picker", ViewStatus::Published, r#"{"Body":[]}"#).await;
    let started = server
        .connect()
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .supported_messaging_content_types("text/plain")
        .supported_messaging_content_types(INTERACTIVE)
        .participant_details(
            aws_sdk_connect::types::ParticipantDetails::builder()
                .display_name("Customer")
                .build()
                .expect("details"),
        )
        .send()
        .await
        .expect("StartChatContact");
    let contact_id = started.contact_id.expect("ContactId");
    let customer = connect_participant(&server, &started.participant_token.expect("token")).await;
    let mut socket = Socket::open(&customer.ws_url).await;
    let (_, bot_token) = add_participant(&server, &contact_id, "CUSTOM_BOT", "Bot").await;
    let bot = connect_participant(&server, &bot_token).await;

    // Odd spacing, key order and escapes: the bytes must survive as they are.
    let content = format!(
        "{{ \"templateType\":\"ViewResource\",  \"version\":\"1.0\",\"data\":{{\"content\":{{\"viewId\":\"{view_id}\",\"viewToken\":\"{view_id}:$LATEST\",\"input\":{{\"Title\":\"Caf\\u00e9 \\\"x\\\"\"}}}}}}}}"
    );
    server
        .participant()
        .send_message()
        .connection_token(&bot.connection_token)
        .content_type(INTERACTIVE)
        .content(&content)
        .send()
        .await
        .expect("SendMessage interactive");
    let item = socket.until("MESSAGE").await;
    assert_eq!(item["ContentType"], INTERACTIVE);
    assert_eq!(item["Content"].as_str(), Some(content.as_str()));
    assert_eq!(item["ParticipantRole"], "CUSTOM_BOT");
    let transcript = server
        .participant()
        .get_transcript()
        .connection_token(&customer.connection_token)
        .send()
        .await
        .expect("GetTranscript");
    let kept = transcript.transcript().iter().find(|i| i.content_type() == Some(INTERACTIVE)).expect("kept");
    assert_eq!(kept.content(), Some(content.as_str()));

    // The customer's client then loads the view named in the message.
    let parsed: Value = serde_json::from_str(&content).expect("content is JSON");
    let view_token = parsed["data"]["content"]["viewToken"].as_str().expect("viewToken");
    let view = describe(&server, &customer.connection_token, view_token).await;
    assert_eq!(view.id.as_deref(), Some(view_id.as_str()));
}

// --- customer authentication ---

const REDIRECT: &str = "https://shop.example/signed-in";

fn auth_settings() -> String {
    r#"
[service.flow_blocks.authentication]
authorization_endpoint = "https://idp.example/oauth2/authorize"
client_id = "confab-widget"
scopes = ["openid", "email"]
redirect_uris = ["https://shop.example/signed-in"]
"#
    .to_owned()
}

fn auth_server() -> Server {
    Server::start_with(&["--test-clock", "--config", settings(&auth_settings()).to_str().unwrap_or("")])
}

/// Plays the Authenticate Customer block; returns the session id.
async fn authenticate_customer(server: &Server, contact_id: &str) -> String {
    let body = json!({"InstanceId": INSTANCE, "ContactId": contact_id}).to_string();
    let (status, _, answer) = server.raw("POST", "/contact/authenticate-customer", &[], &body).await;
    assert_eq!(status, 200, "{answer}");
    answer["SessionId"].as_str().expect("SessionId").to_owned()
}

async fn auth_url(server: &Server, token: &str, session: &str) -> Result<String, String> {
    let r = server
        .participant()
        .get_authentication_url()
        .connection_token(token)
        .session_id(session)
        .redirect_uri(REDIRECT)
        .send()
        .await;
    match r {
        Ok(out) => Ok(out.authentication_url.expect("AuthenticationUrl")),
        Err(e) => Err(aws_sdk_connectparticipant::error::ProvideErrorMetadata::code(&e)
            .unwrap_or_default()
            .to_owned()),
    }
}

async fn cancel(server: &Server, token: &str, session: &str) -> Result<(), String> {
    let r = server
        .participant()
        .cancel_participant_authentication()
        .connection_token(token)
        .session_id(session)
        .send()
        .await;
    r.map(|_| ()).map_err(|e| {
        aws_sdk_connectparticipant::error::ProvideErrorMetadata::code(&e).unwrap_or_default().to_owned()
    })
}

async fn report(server: &Server, state: &str, code: Option<&str>, error: Option<&str>) -> Result<(), String> {
    let r = server
        .connect()
        .update_participant_authentication()
        .instance_id(INSTANCE)
        .state(state)
        .set_code(code.map(str::to_owned))
        .set_error(error.map(str::to_owned))
        .send()
        .await;
    r.map(|_| ()).map_err(|e| e.code().unwrap_or_default().to_owned())
}

fn session_of(item: &Value) -> String {
    let content: Value =
        serde_json::from_str(item["Content"].as_str().expect("Content")).expect("JSON Content");
    content["SessionId"].as_str().expect("SessionId").to_owned()
}

#[tokio::test]
async fn customer_authentication_from_initiated_to_succeeded() {
    let server = auth_server();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut socket = Socket::open(&customer.ws_url).await;
    let (_, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "Agent").await;
    let agent = connect_participant(&server, &agent_token).await;

    let session = authenticate_customer(&server, &chat.contact_id).await;
    assert_eq!(session.len(), 36);
    let initiated = socket.until(&format!("{AUTH}initiated")).await;
    assert_eq!(initiated["Type"], "EVENT");
    assert_eq!(session_of(&initiated), session);

    let url = auth_url(&server, &customer.connection_token, &session).await.expect("GetAuthenticationUrl");
    let (base, query) = url.split_once('?').expect("a query");
    assert_eq!(base, "https://idp.example/oauth2/authorize");
    let params: Vec<(String, String)> =
        reqwest::Url::parse(&url).expect("URL").query_pairs().into_owned().collect();
    let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(param("response_type"), Some("code"));
    assert_eq!(param("client_id"), Some("confab-widget"));
    assert_eq!(param("redirect_uri"), Some(REDIRECT));
    assert_eq!(param("state"), Some(session.as_str()));
    assert_eq!(param("scope"), Some("openid email"));
    assert!(!query.contains(' '));
    // Asked again within the minute: the same URL.
    assert_eq!(auth_url(&server, &customer.connection_token, &session).await.as_deref(), Ok(url.as_str()));

    // Only the customer's own session, only a configured redirect URI.
    assert_eq!(auth_url(&server, &agent.connection_token, &session).await, Err("ValidationException".into()));
    let unknown = "00000000-0000-0000-0000-000000000000";
    assert_eq!(
        auth_url(&server, &customer.connection_token, unknown).await,
        Err("ValidationException".into())
    );
    let elsewhere = server
        .participant()
        .get_authentication_url()
        .connection_token(&customer.connection_token)
        .session_id(&session)
        .redirect_uri("https://evil.example/")
        .send()
        .await;
    assert_eq!(
        aws_sdk_connectparticipant::error::ProvideErrorMetadata::code(&elsewhere.expect_err("redirect")),
        Some("ValidationException")
    );
    // SessionId must be 36 characters (the model).
    assert_eq!(
        auth_url(&server, &customer.connection_token, "short").await,
        Err("ValidationException".into())
    );
    assert_eq!(auth_url(&server, "forged", &session).await, Err("AccessDeniedException".into()));

    // The redirect page reports the code: succeeded, once.
    assert_eq!(report(&server, &session, None, None).await, Err("InvalidRequestException".into()));
    assert_eq!(report(&server, unknown, Some("c0de"), None).await, Err("InvalidParameterException".into()));
    report(&server, &session, Some("c0de"), None).await.expect("UpdateParticipantAuthentication");
    let succeeded = socket.until(&format!("{AUTH}succeeded")).await;
    assert_eq!(session_of(&succeeded), session);
    assert_eq!(report(&server, &session, Some("c0de"), None).await, Err("ConflictException".into()));
    assert_eq!(
        cancel(&server, &customer.connection_token, &session).await,
        Err("ValidationException".into())
    );
    assert_eq!(
        auth_url(&server, &customer.connection_token, &session).await,
        Err("ValidationException".into())
    );

    // A second session that the provider fails.
    let failing = authenticate_customer(&server, &chat.contact_id).await;
    assert_ne!(failing, session);
    report(&server, &failing, None, Some("access_denied")).await.expect("report an error");
    assert_eq!(session_of(&socket.until(&format!("{AUTH}failed")).await), failing);

    // The events stay in the transcript (UNCERTAIN choice).
    let transcript = server
        .participant()
        .get_transcript()
        .connection_token(&customer.connection_token)
        .max_results(100)
        .send()
        .await
        .expect("GetTranscript");
    let kinds: Vec<&str> = transcript
        .transcript()
        .iter()
        .filter_map(|i| i.content_type())
        .filter(|t| t.starts_with(AUTH))
        .collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
}

#[tokio::test]
async fn the_url_window_and_the_sign_in_timeout() {
    let server = auth_server();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut socket = Socket::open(&customer.ws_url).await;

    // No URL asked for within the minute: 400 afterwards, and authentication.expired.
    let late = authenticate_customer(&server, &chat.contact_id).await;
    socket.until(&format!("{AUTH}initiated")).await;
    server.advance(61.0).await;
    assert_eq!(auth_url(&server, &customer.connection_token, &late).await, Err("ValidationException".into()));
    assert_eq!(session_of(&socket.until(&format!("{AUTH}expired")).await), late);

    // URL asked for in time, but the provider never reports: authentication.timeout.
    let slow = authenticate_customer(&server, &chat.contact_id).await;
    server.advance(59.0).await;
    auth_url(&server, &customer.connection_token, &slow).await.expect("in time");
    server.advance(10.0).await;
    assert_eq!(auth_url(&server, &customer.connection_token, &slow).await, Err("ValidationException".into()));
    server.advance(240.0).await;
    let timeout = socket.until(&format!("{AUTH}timeout")).await;
    assert_eq!(session_of(&timeout), slow);
    assert_eq!(report(&server, &slow, Some("late"), None).await, Err("ConflictException".into()));
    // Nothing fired for the expired session a second time.
    let transcript = server
        .participant()
        .get_transcript()
        .connection_token(&customer.connection_token)
        .max_results(100)
        .send()
        .await
        .expect("GetTranscript");
    let expired = transcript
        .transcript()
        .iter()
        .filter(|i| i.content_type() == Some(&format!("{AUTH}expired")))
        .count();
    assert_eq!(expired, 1);
}

#[tokio::test]
async fn cancelling_authentication() {
    let server = auth_server();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut socket = Socket::open(&customer.ws_url).await;
    let session = authenticate_customer(&server, &chat.contact_id).await;
    auth_url(&server, &customer.connection_token, &session).await.expect("url");

    cancel(&server, &customer.connection_token, &session).await.expect("CancelParticipantAuthentication");
    let cancelled = socket.until(&format!("{AUTH}cancelled")).await;
    assert_eq!(session_of(&cancelled), session);
    // Again: fine, and no second event (the next item is the message sent below).
    cancel(&server, &customer.connection_token, &session).await.expect("cancel again");
    send(&server, &customer.connection_token, "after").await;
    assert_eq!(socket.next_item().await.expect("an item")["Type"], "MESSAGE");

    assert_eq!(
        auth_url(&server, &customer.connection_token, &session).await,
        Err("ValidationException".into())
    );
    assert_eq!(report(&server, &session, Some("c"), None).await, Err("ConflictException".into()));
    let unknown = "00000000-0000-0000-0000-000000000000";
    assert_eq!(cancel(&server, &customer.connection_token, unknown).await, Err("ValidationException".into()));
    assert_eq!(cancel(&server, "forged", &session).await, Err("AccessDeniedException".into()));

    // AuthenticateCustomer's own errors: bad input, unknown contact, ended chat.
    let (status, headers, _) =
        server.raw("POST", "/contact/authenticate-customer", &[], r#"{"ContactId":"x"}"#).await;
    assert_eq!((status, headers["x-amzn-ErrorType"].to_str().ok()), (400, Some("InvalidParameterException")));
    let body = json!({"InstanceId": INSTANCE, "ContactId": "no-such-contact"}).to_string();
    let (status, _, _) = server.raw("POST", "/contact/authenticate-customer", &[], &body).await;
    assert_eq!(status, 404);
    server
        .connect()
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id(&chat.contact_id)
        .send()
        .await
        .expect("stop");
    let body = json!({"InstanceId": INSTANCE, "ContactId": chat.contact_id}).to_string();
    let (status, headers, _) = server.raw("POST", "/contact/authenticate-customer", &[], &body).await;
    assert_eq!((status, headers["x-amzn-ErrorType"].to_str().ok()), (400, Some("InvalidRequestException")));
}

#[tokio::test]
async fn authentication_without_a_provider_is_refused_clearly() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let session = "0f5e6e1c-1d3a-4b9d-8c7e-123456789abc";
    let err = server
        .participant()
        .get_authentication_url()
        .connection_token(&customer.connection_token)
        .session_id(session)
        .redirect_uri(REDIRECT)
        .send()
        .await
        .expect_err("not configured");
    let meta = aws_sdk_connectparticipant::error::ProvideErrorMetadata::meta(&err);
    assert_eq!(meta.code(), Some("ValidationException"));
    assert!(meta.message().unwrap_or("").contains("not configured"), "{meta:?}");
    assert_eq!(cancel(&server, &customer.connection_token, session).await, Err("ValidationException".into()));
    assert_eq!(report(&server, session, Some("c"), None).await, Err("InvalidRequestException".into()));
    let body = json!({"InstanceId": INSTANCE, "ContactId": chat.contact_id}).to_string();
    let (status, headers, answer) = server.raw("POST", "/contact/authenticate-customer", &[], &body).await;
    assert_eq!(status, 400);
    assert_eq!(headers["x-amzn-ErrorType"], "InvalidRequestException");
    assert!(answer["Message"].as_str().unwrap_or("").contains("flow_blocks.authentication"), "{answer}");
}

// --- TLS ---

struct Pki {
    ca_pem: String,
    cert: PathBuf,
    key: PathBuf,
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
fn self_signed() -> Pki {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("certificate");
    let dir = settings("").with_file_name("tls");
    std::fs::create_dir_all(&dir).expect("tls folder");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).expect("cert.pem");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("key.pem");
    Pki { ca_pem: certified.cert.pem(), cert, key }
}

/// A wss:// client trusting only `ca_pem`; returns the websocket after the subscribe answer.
async fn open_wss(
    url: &str,
    ca_pem: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_rustls::rustls::{
        self, pki_types::pem::PemObject, pki_types::CertificateDer, pki_types::ServerName,
    };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("CA")).expect("root");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let parsed = reqwest::Url::parse(url).expect("websocket URL");
    assert_eq!(parsed.scheme(), "wss");
    let host = parsed.host_str().expect("host").to_owned();
    let tcp =
        tokio::net::TcpStream::connect((host.as_str(), parsed.port().unwrap_or(443))).await.expect("tcp");
    let name = ServerName::try_from(host).expect("server name");
    let tls =
        tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp).await.expect("TLS");
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls).await.expect("wss upgrade");
    let subscribe = r#"{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}"#;
    ws.send(tokio_tungstenite::tungstenite::Message::text(subscribe)).await.expect("subscribe");
    let reply = tokio::time::timeout(WAIT, ws.next()).await.expect("in time").expect("a frame").expect("ok");
    assert!(reply.to_text().unwrap_or("").contains("success"), "{reply:?}");
    ws
}

#[tokio::test]
async fn https_and_wss_with_a_certificate() {
    let pki = self_signed();
    let server = Server::start_tls(&pki.cert, &pki.key, &[]);
    let connect = server.connect_trusting(&pki.ca_pem);
    let participant = server.participant_trusting(&pki.ca_pem);
    let started = connect
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(
            aws_sdk_connect::types::ParticipantDetails::builder()
                .display_name("Customer")
                .build()
                .expect("details"),
        )
        .send()
        .await
        .expect("StartChatContact over https");
    let connection = participant
        .create_participant_connection()
        .participant_token(started.participant_token.expect("token"))
        .r#type(aws_sdk_connectparticipant::types::ConnectionType::Websocket)
        .r#type(aws_sdk_connectparticipant::types::ConnectionType::ConnectionCredentials)
        .send()
        .await
        .expect("CreateParticipantConnection over https");
    let url = connection.websocket.and_then(|w| w.url).expect("Url");
    let port = server.url.rsplit(':').next().unwrap_or_default().to_owned();
    assert!(url.starts_with(&format!("wss://127.0.0.1:{port}/ws?")), "{url}");
    let token = connection.connection_credentials.and_then(|c| c.connection_token).expect("token");

    let mut ws = open_wss(&url, &pki.ca_pem).await;
    participant
        .send_message()
        .connection_token(&token)
        .content_type("text/plain")
        .content("over TLS")
        .send()
        .await
        .expect("SendMessage over https");
    use futures_util::StreamExt;
    let found = tokio::time::timeout(WAIT, async {
        while let Some(Ok(frame)) = ws.next().await {
            if frame.to_text().unwrap_or("").contains("over TLS") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "the message arrives on the wss socket");

    // Plain HTTP to the TLS port gets no answer; a client that does not trust the
    // certificate is refused by its own TLS check.
    let plain = http().get(server.url.replacen("https://", "http://", 1) + "/healthz").send().await;
    assert!(plain.is_err() || plain.is_ok_and(|r| !r.status().is_success()));
    let untrusting = server.participant();
    let err = untrusting
        .send_message()
        .connection_token(&token)
        .content_type("text/plain")
        .content("x")
        .send()
        .await;
    assert!(err.is_err());
}

#[tokio::test]
async fn tls_needs_both_files() {
    let pki = self_signed();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(pki.cert.with_file_name("data"))
        .arg("--tls-cert")
        .arg(&pki.cert)
        .output()
        .expect("run confab");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(pki.cert.with_file_name("data2"))
        .arg("--tls-cert")
        .arg(&pki.key)
        .arg("--tls-key")
        .arg(&pki.key)
        .output()
        .expect("run confab");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("certificate"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
