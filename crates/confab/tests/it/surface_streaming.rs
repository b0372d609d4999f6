//! Message streaming, chat timers, DisconnectOnCustomerExit, SendChatIntegrationEvent and
//! TransferContact, through the AWS SDKs. Streaming sinks are a small HTTP server in the test
//! (on 127.0.0.1) that records the SNS notifications it receives.

use crate::harness::*;
use aws_sdk_connect as connect;
use aws_sdk_connectparticipant::types::ConnectionType;
use connect::error::ProvideErrorMetadata;
use connect::types::{
    ChatEvent, ChatEventType, ChatParticipantRoleConfig, ChatStreamingConfiguration,
    DisconnectOnCustomerExitParticipantType, NewSessionDetails, ParticipantDetails, ParticipantTimerAction,
    ParticipantTimerConfiguration, ParticipantTimerType, ParticipantTimerValue,
    TimerEligibleParticipantRoles, UpdateParticipantRoleConfigChannelInfo,
};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:chat-stream";
const IDLE: &str = "application/vnd.amazonaws.connect.event.participant.idle";
const RETURNED: &str = "application/vnd.amazonaws.connect.event.participant.returned";
const AUTODISCONNECTION: &str = "application/vnd.amazonaws.connect.event.participant.autodisconnection";

// ---------------------------------------------------------------------------------------
// A streaming sink: an HTTP/1.1 server that records every POST, or answers 500 when told.

/// One notification as received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HashMap<String, String>,
    body: Value,
}

impl Received {
    /// The item inside the SNS notification.
    fn item(&self) -> Value {
        serde_json::from_str(self.body["Message"].as_str().unwrap_or_default()).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct SinkState {
    got: Mutex<Vec<Received>>,
    failing: AtomicBool,
    refused: AtomicU64,
}

struct Sink {
    base: String,
    state: Arc<SinkState>,
}

impl Sink {
    async fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(SinkState::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_connection(stream, shared.clone()));
            }
        });
        Sink { base, state }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn fail(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    fn received(&self, path: &str) -> Vec<Received> {
        self.state.got.lock().expect("sink").iter().filter(|r| r.path == path).cloned().collect()
    }

    /// Waits until a notification at `path` carries an item with this ContentType.
    async fn wait_for(&self, path: &str, content_type: &str) -> Vec<Received> {
        for _ in 0..300 {
            let got = self.received(path);
            if got.iter().any(|r| r.item()["ContentType"] == content_type) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{path} never received {content_type}; got {:?}", self.received(path));
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<SinkState>) {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).await.unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let status = if state.failing.load(Ordering::SeqCst) {
            state.refused.fetch_add(1, Ordering::SeqCst);
            "500 Internal Server Error"
        } else {
            let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
            state.got.lock().expect("sink").push(Received { path, headers, body });
            "200 OK"
        };
        let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        if reader.get_mut().write_all(answer.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A settings file mapping TOPIC to the sink, with quick retries.
fn settings(sink: &Sink) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "confab-it-streaming-{}-{}.toml",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let text = format!(
        "[service.streaming]\nretry_first_ms = 50\nretry_max_ms = 400\n\n[service.streaming.sinks]\n\"{TOPIC}\" = \"{}\"\n",
        sink.url("/topic")
    );
    std::fs::write(&path, text).expect("write settings");
    path.to_string_lossy().into_owned()
}

// ---------------------------------------------------------------------------------------
// Helpers

fn streaming(endpoint: &str) -> ChatStreamingConfiguration {
    ChatStreamingConfiguration::builder().streaming_endpoint_arn(endpoint).build().expect("config")
}

fn customer_details() -> ParticipantDetails {
    ParticipantDetails::builder().display_name("Customer").build().expect("details")
}

async fn start_streaming(server: &Server, contact_id: &str, endpoint: &str) -> Result<String, String> {
    server
        .connect()
        .start_contact_streaming()
        .instance_id(INSTANCE)
        .contact_id(contact_id)
        .chat_streaming_configuration(streaming(endpoint))
        .send()
        .await
        .map(|o| o.streaming_id().to_owned())
        .map_err(|e| e.into_service_error().code().unwrap_or_default().to_owned())
}

/// A connection token for a participant with no websocket (`ConnectParticipant: true`).
async fn connect_without_socket(server: &Server, participant_token: &str) -> String {
    server
        .participant()
        .create_participant_connection()
        .participant_token(participant_token)
        .r#type(ConnectionType::ConnectionCredentials)
        .connect_participant(true)
        .send()
        .await
        .expect("CreateParticipantConnection")
        .connection_credentials
        .and_then(|c| c.connection_token)
        .expect("ConnectionToken")
}

/// Every kept item of the chat, oldest first.
async fn transcript_ids(server: &Server, connection_token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut next = None;
    loop {
        let out = server
            .participant()
            .get_transcript()
            .connection_token(connection_token)
            .max_results(100)
            .sort_order(aws_sdk_connectparticipant::types::SortKey::Ascending)
            .set_next_token(next)
            .send()
            .await
            .expect("GetTranscript");
        let mut page: Vec<String> = out.transcript().iter().filter_map(|i| i.id.clone()).collect();
        // Pages walk backward from the newest; each page is oldest-first.
        page.extend(ids);
        ids = page;
        next = out.next_token;
        if next.is_none() {
            return ids;
        }
    }
}

/// The item ids a sink got at `path`, repeats removed. At least once means a delivery may
/// repeat, but only right after itself: in order means nothing comes back later.
fn delivered_in_order(sink: &Sink, path: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for r in sink.received(path) {
        let id = r.item()["Id"].as_str().unwrap_or_default().to_owned();
        if ids.last() == Some(&id) {
            continue;
        }
        assert!(seen.insert(id.clone()), "{path}: item {id} came again after later items");
        ids.push(id);
    }
    ids
}

type ConnectResult<T> = Result<T, String>;

async fn role_config(
    server: &Server,
    contact_id: &str,
    timers: &[(TimerEligibleParticipantRoles, ParticipantTimerType, Option<i32>)],
) -> ConnectResult<()> {
    let list = timers
        .iter()
        .map(|(role, kind, minutes)| {
            let value = match minutes {
                Some(m) => ParticipantTimerValue::ParticipantTimerDurationInMinutes(*m),
                None => ParticipantTimerValue::ParticipantTimerAction(ParticipantTimerAction::Unset),
            };
            ParticipantTimerConfiguration::builder()
                .participant_role(role.clone())
                .timer_type(kind.clone())
                .timer_value(value)
                .build()
                .expect("timer")
        })
        .collect();
    let chat = ChatParticipantRoleConfig::builder().set_participant_timer_config_list(Some(list)).build();
    server
        .connect()
        .update_participant_role_config()
        .instance_id(INSTANCE)
        .contact_id(contact_id)
        .channel_configuration(UpdateParticipantRoleConfigChannelInfo::Chat(chat.expect("chat config")))
        .send()
        .await
        .map(|_| ())
        .map_err(|e| e.into_service_error().code().unwrap_or_default().to_owned())
}

/// Items on a socket up to and including the message with this Id.
async fn items_until(ws: &mut Socket, id: &str) -> Vec<Value> {
    let mut items = Vec::new();
    loop {
        let item = ws.next_item().await.unwrap_or_else(|| panic!("socket ended before {id}"));
        let done = item["Id"] == id;
        items.push(item);
        if done {
            return items;
        }
    }
}

fn has(items: &[Value], content_type: &str) -> bool {
    items.iter().any(|i| i["ContentType"] == content_type)
}

// ---------------------------------------------------------------------------------------
// Streaming

#[tokio::test]
async fn streaming_operations_and_their_errors() {
    let sink = Sink::start().await;
    let server = Server::start_with(&["--config", &settings(&sink)]);
    let chat = start_chat(&server).await;

    let first = start_streaming(&server, &chat.contact_id, &sink.url("/one")).await.expect("first");
    let again = start_streaming(&server, &chat.contact_id, &sink.url("/one")).await.expect("same endpoint");
    assert_eq!(first, again, "the same endpoint keeps its stream");
    let second = start_streaming(&server, &chat.contact_id, TOPIC).await.expect("mapped SNS topic");
    assert_ne!(first, second);
    let third = start_streaming(&server, &chat.contact_id, &sink.url("/three")).await;
    assert_eq!(third, Err("LimitExceededException".to_owned()), "at most two endpoints");

    // Endpoints confab cannot publish to.
    for bad in
        ["arn:aws:sns:us-east-1:123456789012:unmapped", "arn:aws:sns:us-east-1:123456789012:t.fifo", "queue"]
    {
        let err = server
            .connect()
            .start_contact_streaming()
            .instance_id(INSTANCE)
            .contact_id(&chat.contact_id)
            .chat_streaming_configuration(streaming(bad))
            .send()
            .await
            .expect_err(bad)
            .into_service_error();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{bad}");
        if bad.ends_with("unmapped") {
            assert!(err.message().unwrap_or_default().contains("[service.streaming] sinks"), "{err:?}");
        }
    }
    assert_eq!(
        start_streaming(&server, "no-such-contact", &sink.url("/x")).await,
        Err("ResourceNotFoundException".to_owned())
    );

    // Stop: unknown ids are not found; a stopped endpoint frees its place and gets nothing new.
    let stop = |id: &str| {
        server
            .connect()
            .stop_contact_streaming()
            .instance_id(INSTANCE)
            .contact_id(&chat.contact_id)
            .streaming_id(id)
            .send()
    };
    let err = stop("no-such-stream").await.expect_err("unknown").into_service_error();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    let customer = connect_without_socket(&server, &chat.customer_token).await;
    let before = send(&server, &customer, "before the stop").await;
    stop(&first).await.expect("stop");
    let after = send(&server, &customer, "after the stop").await;
    start_streaming(&server, &chat.contact_id, &sink.url("/three")).await.expect("a place is free again");
    let last = send(&server, &customer, "to the new stream").await;
    sink.wait_for("/three", "text/plain").await;
    sink.wait_for("/one", "text/plain").await;
    let one: Vec<Value> = sink.received("/one").iter().map(Received::item).collect();
    assert!(one.iter().any(|i| i["Id"] == before.as_str()), "queued before the stop: delivered");
    assert!(
        !one.iter().any(|i| i["Id"] == after.as_str() || i["Id"] == last.as_str()),
        "nothing after the stop"
    );
    let three: Vec<String> = delivered_in_order(&sink, "/three");
    assert_eq!(three, vec![last.clone()], "a new stream starts with the next item");

    // StartChatContact with ChatStreamingConfiguration answers a StreamingId; bad endpoints
    // are refused there too.
    let out = server
        .connect()
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(customer_details())
        .chat_streaming_configuration(streaming(&sink.url("/new")))
        .send()
        .await
        .expect("StartChatContact with streaming");
    assert!(out.streaming_id().is_some_and(|id| !id.is_empty()));
    let joined = sink.wait_for("/new", JOINED).await;
    assert_eq!(joined[0].item()["ParticipantRole"], "CUSTOMER", "the customer's joined event streams first");
    let err = server
        .connect()
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(customer_details())
        .chat_streaming_configuration(streaming("arn:aws:sns:us-east-1:123456789012:unmapped"))
        .send()
        .await
        .expect_err("unmapped topic")
        .into_service_error();
    assert_eq!(err.code(), Some("InvalidParameterException"));

    // Ended chats: no new streams; stopping one is fine.
    server
        .connect()
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id(&chat.contact_id)
        .send()
        .await
        .expect("stop");
    sink.wait_for("/three", ENDED).await;
    assert_eq!(
        start_streaming(&server, &chat.contact_id, &sink.url("/late")).await,
        Err("InvalidRequestException".to_owned())
    );
    stop(&second).await.expect("stopping on an ended chat");
}

#[tokio::test]
async fn streamed_items_arrive_in_order_through_a_sigkill() {
    let sink = Sink::start().await;
    let config = settings(&sink);
    let server = Server::start_with(&["--config", &config]);
    let address = server.url.trim_start_matches("http://").to_owned();
    let out = server
        .connect()
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(customer_details())
        .chat_streaming_configuration(streaming(TOPIC))
        .send()
        .await
        .expect("StartChatContact");
    let contact_id = out.contact_id().expect("ContactId").to_owned();
    assert!(out.streaming_id().is_some());
    // The streaming customer has no websocket.
    let customer = connect_without_socket(&server, out.participant_token().expect("token")).await;
    let (_, agent_token) = add_participant(&server, &contact_id, "AGENT", "Agent").await;
    let agent = connect_participant(&server, &agent_token).await.connection_token;
    send(&server, &customer, "hello").await;
    send(&server, &agent, "hi, how can I help?").await;
    let direct = start_streaming(&server, &contact_id, &sink.url("/direct")).await.expect("direct URL");
    assert!(!direct.is_empty());

    // The sinks fail; the chat goes on at full speed while deliveries pile up.
    sink.fail(true);
    for i in 0..12 {
        let (who, token) = if i % 2 == 0 { ("customer", &customer) } else { ("agent", &agent) };
        let started = std::time::Instant::now();
        send(&server, token, &format!("{who} {i}")).await;
        assert!(started.elapsed() < Duration::from_secs(2), "a dead sink does not slow SendMessage");
    }
    server
        .participant()
        .send_event()
        .connection_token(&customer)
        .content_type(TYPING)
        .send()
        .await
        .expect("typing");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(sink.state.refused.load(Ordering::SeqCst) > 0, "deliveries were tried and refused");

    let dir = server.kill();
    let server = Server::start_at(dir, &address, &["--config", &config]);
    sink.fail(false);
    for i in 12..16 {
        send(&server, if i % 2 == 0 { &customer } else { &agent }, &format!("after restart {i}")).await;
    }
    server.participant().disconnect_participant().connection_token(&customer).send().await.expect("leave");
    sink.wait_for("/topic", ENDED).await;
    sink.wait_for("/direct", ENDED).await;

    let transcript = transcript_ids(&server, &agent).await;
    let kept: HashSet<&String> = transcript.iter().collect();
    let topic: Vec<String> =
        delivered_in_order(&sink, "/topic").into_iter().filter(|id| kept.contains(id)).collect();
    assert_eq!(topic, transcript, "every item, in transcript order, from the chat's start");
    let direct_ids: Vec<String> =
        delivered_in_order(&sink, "/direct").into_iter().filter(|id| kept.contains(id)).collect();
    let from = transcript.len() - direct_ids.len();
    assert_eq!(direct_ids, transcript[from..].to_vec(), "every item since the stream started, in order");
    assert_eq!(from, 4, "the direct stream starts after both joined events, hello and the agent's answer");
    assert!(
        sink.received("/topic").iter().any(|r| r.item()["ContentType"] == TYPING),
        "typing is streamed too"
    );

    // The envelope is an SNS HTTP notification.
    let first = &sink.received("/topic")[0];
    assert_eq!(first.headers.get("x-amz-sns-message-type").map(String::as_str), Some("Notification"));
    assert_eq!(first.headers.get("x-amz-sns-topic-arn").map(String::as_str), Some(TOPIC));
    assert_eq!(first.body["Type"], "Notification");
    assert_eq!(first.body["TopicArn"], TOPIC);
    assert!(first.body["MessageId"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(first.body["Timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
    let item = first.item();
    assert_eq!(item["InitialContactId"], contact_id.as_str());
    assert_eq!(item["ContactId"], contact_id.as_str());
    let attributes = &first.body["MessageAttributes"];
    for (name, value) in [
        ("InitialContactId", contact_id.as_str()),
        ("ContactId", contact_id.as_str()),
        ("ParticipantRole", "CUSTOMER"),
        ("InstanceId", INSTANCE),
        ("AccountId", "123456789012"),
        ("Type", "EVENT"),
        ("ContentType", JOINED),
        ("MessageVisibility", "ALL"),
    ] {
        assert_eq!(attributes[name]["Type"], "String", "{name}");
        assert_eq!(attributes[name]["Value"], value, "{name}");
    }
    let direct_first = &sink.received("/direct")[0];
    assert_eq!(direct_first.body["TopicArn"], sink.url("/direct").as_str());
}

// ---------------------------------------------------------------------------------------
// Chat timers

#[tokio::test]
async fn idle_returned_and_auto_disconnect_survive_a_restart() {
    use ParticipantTimerType::{DisconnectNoncustomer, Idle};
    use TimerEligibleParticipantRoles::{Agent, Customer};
    let server = Server::start_with(&["--test-clock"]);
    let address = server.url.trim_start_matches("http://").to_owned();
    let chat = start_chat(&server).await;
    role_config(
        &server,
        &chat.contact_id,
        &[(Customer, Idle, Some(2)), (Customer, DisconnectNoncustomer, Some(5)), (Agent, Idle, Some(4))],
    )
    .await
    .expect("UpdateParticipantRoleConfig");
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut ws_customer = Socket::open(&customer.ws_url).await;
    let (agent_id, agent_token) = add_participant(&server, &chat.contact_id, "AGENT", "Agent").await;
    let agent = connect_participant(&server, &agent_token).await;
    let mut ws_agent = Socket::open(&agent.ws_url).await;
    // The timers run from here: customer idle at 2 min, agent idle at 4 min.

    server.advance(100.0).await;
    send(&server, &customer.connection_token, "still here").await; // customer idle now at 220 s
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.advance(100.0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe = send(&server, &agent.connection_token, "probe").await; // agent idle now at 440 s
    let seen = items_until(&mut ws_customer, &probe).await;
    assert!(!has(&seen, IDLE), "a message resets the sender's idle timer: {seen:?}");

    server.advance(25.0).await;
    let idle = ws_customer.until(IDLE).await;
    assert_eq!(idle["ParticipantId"], chat.customer_id.as_str());
    assert_eq!(idle["ParticipantRole"], "CUSTOMER");
    assert_eq!(idle["Type"], "EVENT");
    assert_eq!(ws_agent.until(IDLE).await["ParticipantId"], chat.customer_id.as_str(), "shown to everyone");

    // SIGKILL and restart: the idle state and the timers are in the store.
    let dir = server.kill();
    let server = Server::start_at(dir, &address, &["--test-clock"]);
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut ws_customer = Socket::open(&customer.ws_url).await;
    let agent = connect_participant(&server, &agent_token).await;
    let mut ws_agent = Socket::open(&agent.ws_url).await;
    let back = send(&server, &customer.connection_token, "back").await;
    let seen = items_until(&mut ws_customer, &back).await;
    let returned = seen.iter().position(|i| i["ContentType"] == RETURNED).expect("participant.returned");
    assert_eq!(seen[returned]["ParticipantId"], chat.customer_id.as_str());
    assert_eq!(returned + 1, seen.len() - 1, "returned comes right before the message");

    server.advance(130.0).await;
    assert_eq!(
        ws_customer.until(IDLE).await["ParticipantId"],
        chat.customer_id.as_str(),
        "idle again after 2 min"
    );
    server.advance(300.0).await;
    let auto = ws_agent.until(AUTODISCONNECTION).await;
    assert_eq!(
        auto["ParticipantId"],
        chat.customer_id.as_str(),
        "the customer's idleness disconnects the agent"
    );
    let left = ws_agent.until(LEFT).await;
    assert_eq!(left["ParticipantId"], agent_id.as_str());
    ws_agent.until(ENDED).await;
    assert_eq!(ws_agent.closed().await, Some(1000));
    ws_customer.until(AUTODISCONNECTION).await;
    ws_customer.until(ENDED).await;

    let contact = server
        .connect()
        .describe_contact()
        .instance_id(INSTANCE)
        .contact_id(&chat.contact_id)
        .send()
        .await
        .expect("DescribeContact")
        .contact
        .expect("contact");
    assert_eq!(contact.disconnect_reason(), Some("IDLE_DISCONNECT"));
    let transcript = server
        .participant()
        .get_transcript()
        .connection_token(&customer.connection_token)
        .max_results(100)
        .send()
        .await
        .expect("transcript");
    let kinds: Vec<&str> = transcript.transcript().iter().filter_map(|i| i.content_type.as_deref()).collect();
    assert!(kinds.contains(&LEFT) && kinds.contains(&ENDED), "{kinds:?}");
    assert!(
        !kinds.iter().any(|k| [IDLE, RETURNED, AUTODISCONNECTION].contains(k)),
        "timer events are not kept: {kinds:?}"
    );
}

#[tokio::test]
async fn timer_changes_apply_when_a_new_agent_connects() {
    use ParticipantTimerType::{DisconnectNoncustomer, Idle};
    use TimerEligibleParticipantRoles::{Agent, Customer};
    let server = Server::start_with(&["--test-clock"]);
    let chat = start_chat(&server).await;
    let customer = connect_participant(&server, &chat.customer_token).await;
    let mut ws = Socket::open(&customer.ws_url).await;
    let (_, first_token) = add_participant(&server, &chat.contact_id, "AGENT", "First").await;
    let first = connect_participant(&server, &first_token).await;

    // Set while the customer and an agent are connected: stored, not applied.
    role_config(
        &server,
        &chat.contact_id,
        &[(Agent, DisconnectNoncustomer, Some(2)), (Customer, Idle, None)],
    )
    .await
    .expect("update");
    server.advance(200.0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe = send(&server, &customer.connection_token, "probe").await;
    let seen = items_until(&mut ws, &probe).await;
    assert!(!has(&seen, AUTODISCONNECTION), "not applied while the same agent is connected");

    // A new agent connects: the configuration applies, the auto-disconnect timer (the only
    // one of the role) starts at once.
    let (_, second_token) = add_participant(&server, &chat.contact_id, "AGENT", "Second").await;
    connect_participant(&server, &second_token).await;
    server.advance(60.0).await;
    send(&server, &first.connection_token, "the first agent is active").await;
    server.advance(65.0).await;
    let auto = ws.until(AUTODISCONNECTION).await;
    assert_eq!(auto["ParticipantRole"], "AGENT");
    assert_eq!(auto["DisplayName"], "Second", "the agent who stayed idle");
    let left: Vec<Value> = vec![ws.until(LEFT).await, ws.until(LEFT).await];
    let names: HashSet<&str> = left.iter().filter_map(|l| l["DisplayName"].as_str()).collect();
    assert_eq!(names, HashSet::from(["First", "Second"]), "every non-customer participant is disconnected");
    ws.until(ENDED).await;
}

#[tokio::test]
async fn update_participant_role_config_errors() {
    use ParticipantTimerType::Idle;
    use TimerEligibleParticipantRoles::Customer;
    let server = Server::start();
    let chat = start_chat(&server).await;
    let duplicate =
        role_config(&server, &chat.contact_id, &[(Customer, Idle, Some(3)), (Customer, Idle, None)]).await;
    assert_eq!(duplicate, Err("InvalidParameterException".to_owned()), "a (role, timer) pair twice");
    let short = role_config(&server, &chat.contact_id, &[(Customer, Idle, Some(1))]).await;
    assert_eq!(short, Err("InvalidParameterException".to_owned()), "below 2 minutes");
    let long = role_config(&server, &chat.contact_id, &[(Customer, Idle, Some(481))]).await;
    assert_eq!(long, Err("InvalidParameterException".to_owned()), "above 480 minutes");
    let unknown = role_config(&server, "no-such-contact", &[(Customer, Idle, Some(3))]).await;
    assert_eq!(unknown, Err("ResourceNotFoundException".to_owned()));
    // Both members of the TimerValue union: refused by the model's union rule.
    let body = r#"{"ChannelConfiguration":{"Chat":{"ParticipantTimerConfigList":[{"ParticipantRole":"CUSTOMER","TimerType":"IDLE","TimerValue":{"ParticipantTimerAction":"Unset","ParticipantTimerDurationInMinutes":5}}]}}}"#;
    let path = format!("/contact/participant-role-config/{INSTANCE}/{}", chat.contact_id);
    let (status, headers, _) = server.raw("PUT", &path, &[("content-type", "application/json")], body).await;
    assert_eq!(status, 400);
    assert_eq!(
        headers.get("x-amzn-ErrorType").and_then(|v| v.to_str().ok()),
        Some("InvalidParameterException")
    );
    role_config(&server, &chat.contact_id, &[(Customer, Idle, Some(3))]).await.expect("valid");
    server
        .connect()
        .stop_contact()
        .instance_id(INSTANCE)
        .contact_id(&chat.contact_id)
        .send()
        .await
        .expect("stop");
    let ended = role_config(&server, &chat.contact_id, &[(Customer, Idle, Some(3))]).await;
    assert_eq!(ended, Err("InvalidRequestException".to_owned()));
}

// ---------------------------------------------------------------------------------------
// DisconnectOnCustomerExit

#[tokio::test]
async fn disconnect_on_customer_exit_disconnects_the_agents_first() {
    let server = Server::start();
    for disconnect_agents in [true, false] {
        let mut start = server
            .connect()
            .start_chat_contact()
            .instance_id(INSTANCE)
            .contact_flow_id(FLOW)
            .participant_details(customer_details());
        if disconnect_agents {
            start = start.disconnect_on_customer_exit(DisconnectOnCustomerExitParticipantType::Agent);
        }
        let out = start.send().await.expect("StartChatContact");
        let contact_id = out.contact_id().expect("id").to_owned();
        let customer = connect_participant(&server, out.participant_token().expect("token")).await;
        let (agent_id, agent_token) = add_participant(&server, &contact_id, "AGENT", "Agent").await;
        let agent = connect_participant(&server, &agent_token).await;
        let mut ws = Socket::open(&agent.ws_url).await;
        server
            .participant()
            .disconnect_participant()
            .connection_token(&customer.connection_token)
            .send()
            .await
            .expect("leave");
        let mut events = Vec::new();
        loop {
            let item = ws.next_item().await.expect("items until chat.ended");
            let ended = item["ContentType"] == ENDED;
            events.push((
                item["ContentType"].as_str().unwrap_or_default().to_owned(),
                item["ParticipantId"].clone(),
            ));
            if ended {
                break;
            }
        }
        let mut expected = vec![(LEFT.to_owned(), Value::from(out.participant_id().expect("customer")))];
        if disconnect_agents {
            expected.push((LEFT.to_owned(), Value::from(agent_id.as_str())));
        }
        expected.push((ENDED.to_owned(), Value::Null));
        assert_eq!(events, expected, "DisconnectOnCustomerExit={disconnect_agents}");
        assert_eq!(ws.closed().await, Some(1000));
        let transcript = transcript_ids(&server, &agent.connection_token).await;
        assert_eq!(transcript.len(), 2 + expected.len(), "two joined events, then these");
    }
}

// ---------------------------------------------------------------------------------------
// SendChatIntegrationEvent and TransferContact

#[tokio::test]
async fn chat_integration_events_find_or_start_the_chat() {
    let sink = Sink::start().await;
    let server = Server::start();
    let source = "+15550100";
    let destination = "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-1";
    let event = |kind: ChatEventType, content_type: Option<&str>, content: Option<&str>| {
        ChatEvent::builder()
            .r#type(kind)
            .set_content_type(content_type.map(str::to_owned))
            .set_content(content.map(str::to_owned))
            .build()
            .expect("event")
    };
    let details = NewSessionDetails::builder()
        .participant_details(
            ParticipantDetails::builder().display_name("SMS customer").build().expect("details"),
        )
        .streaming_configuration(streaming(&sink.url("/sms")))
        .build();
    let send_event = |e: ChatEvent, subtype: &str| {
        server
            .connect()
            .send_chat_integration_event()
            .source_id(source)
            .destination_id(destination)
            .subtype(subtype)
            .event(e)
            .new_session_details(details.clone())
            .send()
    };

    let first =
        send_event(event(ChatEventType::Message, Some("text/plain"), Some("hello by SMS")), "connect:SMS")
            .await
            .expect("first message");
    assert_eq!(first.new_chat_created(), Some(true));
    let contact_id = first.initial_contact_id().expect("InitialContactId").to_owned();
    // Same source, destination and subtype (in any case): the same chat.
    let second =
        send_event(event(ChatEventType::Message, Some("text/plain"), Some("are you there?")), "CONNECT:sms")
            .await
            .expect("second message");
    assert_eq!(
        (second.initial_contact_id(), second.new_chat_created()),
        (Some(contact_id.as_str()), Some(false))
    );
    send_event(event(ChatEventType::Event, Some(TYPING), None), "connect:SMS").await.expect("typing");

    // The chat is a normal chat of the integration instance: an agent joins and answers, and
    // the answer reaches the integration through streaming.
    let contact = server
        .connect()
        .describe_contact()
        .instance_id("chat-integration")
        .contact_id(&contact_id)
        .send()
        .await
        .expect("DescribeContact")
        .contact
        .expect("contact");
    let subtype =
        contact.segment_attributes().and_then(|s| s.get("connect:Subtype")).and_then(|v| v.value_string());
    assert_eq!(subtype, Some("connect:SMS"));
    let out = server
        .connect()
        .create_participant()
        .instance_id("chat-integration")
        .contact_id(&contact_id)
        .participant_details(
            connect::types::ParticipantDetailsToAdd::builder()
                .participant_role(connect::types::ParticipantRole::Agent)
                .display_name("Agent")
                .build(),
        )
        .send()
        .await
        .expect("agent");
    let agent = connect_participant(
        &server,
        out.participant_credentials.and_then(|c| c.participant_token).as_deref().expect("token"),
    )
    .await;
    let reply = send(&server, &agent.connection_token, "hello from the agent").await;
    let got = sink.wait_for("/sms", "text/plain").await;
    let texts: Vec<Value> = got.iter().map(Received::item).filter(|i| i["Type"] == "MESSAGE").collect();
    assert_eq!(texts[0]["Content"], "hello by SMS");
    assert_eq!(texts[0]["DisplayName"], "SMS customer");
    assert_eq!(texts[0]["ParticipantRole"], "CUSTOMER");
    for _ in 0..100 {
        if sink.received("/sms").iter().any(|r| r.item()["Id"] == reply.as_str()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(sink.received("/sms").iter().any(|r| r.item()["Id"] == reply.as_str()), "the reply is streamed");

    // DISCONNECT ends it; another DISCONNECT finds no chat; a new message starts a new one.
    let done =
        send_event(event(ChatEventType::Disconnect, None, None), "connect:SMS").await.expect("disconnect");
    assert_eq!(done.initial_contact_id(), Some(contact_id.as_str()));
    sink.wait_for("/sms", ENDED).await;
    let err =
        send_event(event(ChatEventType::Disconnect, None, None), "connect:SMS").await.expect_err("no chat");
    assert_eq!(err.into_service_error().code(), Some("ResourceNotFoundException"));
    let again =
        send_event(event(ChatEventType::Message, Some("text/plain"), Some("me again")), "connect:SMS")
            .await
            .expect("new chat");
    assert_eq!(again.new_chat_created(), Some(true));
    assert_ne!(again.initial_contact_id(), Some(contact_id.as_str()));

    // Errors.
    let bad =
        send_event(event(ChatEventType::Message, Some("text/plain"), Some("x")), "connect:Pigeon").await;
    assert_eq!(bad.expect_err("subtype").into_service_error().code(), Some("InvalidRequestException"));
    let bad = send_event(event(ChatEventType::Message, Some("text/plain"), None), "connect:WhatsApp").await;
    assert_eq!(bad.expect_err("no content").into_service_error().code(), Some("InvalidRequestException"));
    let bad =
        send_event(event(ChatEventType::Event, Some("application/x-unknown"), None), "connect:SMS").await;
    assert_eq!(bad.expect_err("unknown event").into_service_error().code(), Some("InvalidRequestException"));
}

#[tokio::test]
async fn transfer_contact_refuses_chats() {
    let server = Server::start();
    let chat = start_chat(&server).await;
    let transfer = |contact_id: &str| {
        server
            .connect()
            .transfer_contact()
            .instance_id(INSTANCE)
            .contact_id(contact_id)
            .contact_flow_id(FLOW)
            .queue_id("queue-1")
            .send()
    };
    let err = transfer(&chat.contact_id).await.expect_err("a chat").into_service_error();
    assert_eq!(err.code(), Some("InvalidRequestException"));
    assert!(err.message().unwrap_or_default().contains("TASK and EMAIL"), "{err:?}");
    let err = transfer("no-such-contact").await.expect_err("unknown").into_service_error();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
}
