//! The baseline: the least a server built from confab's crates (axum, tokio, serde_json)
//! must do to answer the same calls: an HTTP POST whose message is made into an item and
//! broadcast to the websockets of its chat, with no persistence, no validation and no
//! authentication (a token is just `contact/participant`). Every report states confab's
//! figures as ratios of this server's, measured in the same run on the same host.

use axum::body::Bytes;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::serve::ListenerExt;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Frames queued per socket, as confab's default `socket_queue`.
const QUEUE: usize = 1024;
/// Bytes of each socket's read buffer.
const READ_BUFFER: usize = 4096;
/// Items in the canned GetTranscript page.
const PAGE: usize = 100;

/// The queues of a chat's subscribed sockets, by socket id.
type Sockets = Vec<(u64, mpsc::Sender<Utf8Bytes>)>;

#[derive(Default)]
struct Rooms {
    rooms: Mutex<HashMap<String, Sockets>>,
    next: AtomicU64,
    page: Vec<Value>,
}

type Shared = Arc<Rooms>;

/// Serves until killed, or for `lifetime` at most (an orphan ends by itself).
pub fn main(listen: &str, lifetime: Duration) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        tokio::select! {
            served = serve(listen) => served,
            () = tokio::time::sleep(lifetime) => Ok(()),
        }
    })
}

async fn serve(listen: &str) -> anyhow::Result<()> {
    let page = (0..PAGE)
        .map(|i| item("baseline-contact", "baseline-participant", &format!("message {i}")))
        .collect();
    let shared: Shared = Arc::new(Rooms { page, ..Rooms::default() });
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/contact/chat", put(start_chat))
        .route("/contact/create-participant", post(create_participant))
        .route("/participant/connection", post(connection))
        .route("/participant/message", post(message))
        .route("/participant/transcript", post(transcript))
        .route("/ws", get(websocket))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("baseline listening on http://{}", listener.local_addr()?);
    // Nagle off, as a latency-minded server has it.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router).await?;
    Ok(())
}

fn json_response(v: &Value) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The item a message becomes, in the pushed form confab uses.
fn item(contact_id: &str, participant_id: &str, content: &str) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    json!({
        "AbsoluteTime": confab_wire::time::iso_millis(i64::try_from(now).unwrap_or(0)),
        "Content": content,
        "ContentType": "text/plain",
        "Id": uuid::Uuid::now_v7().to_string(),
        "Type": "MESSAGE",
        "ParticipantId": participant_id,
        "DisplayName": "Customer",
        "ParticipantRole": "CUSTOMER",
        "InitialContactId": contact_id,
        "ContactId": contact_id,
    })
}

async fn start_chat() -> Response {
    let (contact, participant) = (new_id(), new_id());
    json_response(&json!({
        "ContactId": contact, "ParticipantId": participant,
        "ParticipantToken": format!("{contact}/{participant}"),
    }))
}

async fn create_participant(body: Bytes) -> Response {
    let input: Value = serde_json::from_slice(&body).unwrap_or_default();
    let contact = input["ContactId"].as_str().unwrap_or_default();
    let participant = new_id();
    json_response(&json!({
        "ParticipantId": participant,
        "ParticipantCredentials": {"ParticipantToken": format!("{contact}/{participant}")},
    }))
}

fn bearer(headers: &HeaderMap) -> Option<(String, String)> {
    let token = headers.get("x-amz-bearer")?.to_str().ok()?;
    let (contact, participant) = token.split_once('/')?;
    Some((contact.to_owned(), participant.to_owned()))
}

async fn connection(headers: HeaderMap) -> Response {
    let Some((contact, participant)) = bearer(&headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    let token = format!("{contact}/{participant}");
    json_response(&json!({
        "Websocket": {"Url": format!("ws://{host}/ws?AuthToken={token}")},
        "ConnectionCredentials": {"ConnectionToken": token},
    }))
}

async fn message(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((contact, participant)) = bearer(&headers) else {
        return StatusCode::FORBIDDEN.into_response();
    };
    let Ok(input) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let item = item(&contact, &participant, input["Content"].as_str().unwrap_or_default());
    let frame = json!({"topic": "aws/chat", "contentType": "application/json", "content": item.to_string()});
    let frame = Utf8Bytes::from(frame.to_string());
    if let Some(sockets) = shared.rooms.lock().get_mut(&contact) {
        // A full queue drops the socket, as confab closes it.
        sockets.retain(|(_, tx)| tx.try_send(frame.clone()).is_ok());
    }
    json_response(&json!({"Id": item["Id"], "AbsoluteTime": item["AbsoluteTime"]}))
}

async fn transcript(State(shared): State<Shared>) -> Response {
    json_response(&json!({"InitialContactId": "baseline-contact", "Transcript": shared.page}))
}

async fn websocket(
    State(shared): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(contact) = query.get("AuthToken").and_then(|t| t.split_once('/')).map(|(c, _)| c.to_owned())
    else {
        return StatusCode::FORBIDDEN.into_response();
    };
    // Client frames are small (subscribe, ping, heartbeat): tungstenite zero-fills the whole
    // read buffer on every read, so its 128 KiB default costs that much memory per socket and
    // a 128 KiB memset per wake-up.
    upgrade.read_buffer_size(READ_BUFFER).on_upgrade(move |socket| hold(shared, contact, socket))
}

async fn hold(shared: Shared, contact: String, mut socket: WebSocket) {
    let id = shared.next.fetch_add(1, Ordering::Relaxed);
    let (tx, mut rx) = mpsc::channel(QUEUE);
    let mut registered = Some(tx);
    loop {
        tokio::select! {
            frame = rx.recv() => match frame {
                Some(frame) => if socket.send(Message::Text(frame)).await.is_err() { break },
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let Some(reply) = reply(text.as_str()) else { continue };
                    if reply.contains("aws/subscribe") {
                        if let Some(tx) = registered.take() {
                            shared.rooms.lock().entry(contact.clone()).or_default().push((id, tx));
                        }
                    }
                    if socket.send(Message::Text(Utf8Bytes::from(reply))).await.is_err() { break }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            }
        }
    }
    let mut rooms = shared.rooms.lock();
    if let Some(sockets) = rooms.get_mut(&contact) {
        sockets.retain(|(i, _)| *i != id);
        if sockets.is_empty() {
            rooms.remove(&contact);
        }
    }
}

/// The answer to a client frame, as confab answers it.
fn reply(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    match v["topic"].as_str()? {
        "aws/subscribe" => Some(
            r#"{"topic":"aws/subscribe","content":{"status":"success","topics":["aws/chat"]}}"#.to_owned(),
        ),
        "aws/heartbeat" => Some(r#"{"topic":"aws/heartbeat"}"#.to_owned()),
        "aws/ping" => Some(r#"{"topic":"aws/ping","statusCode":200,"statusContent":"OK"}"#.to_owned()),
        _ => None,
    }
}
