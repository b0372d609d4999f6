//! The test harness: a confab server process, SDK clients pointed at it, websocket clients.

#![allow(dead_code)]

use aws_sdk_connect as connect;
use aws_sdk_connectparticipant as participant;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const INSTANCE: &str = "11111111-2222-3333-4444-555555555555";
pub const FLOW: &str = "flow-1";

static NEXT_DIR: AtomicU64 = AtomicU64::new(0);

/// A running `confab serve`; killed (and its data folder removed) on drop.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    keep_dir: bool,
    /// The cluster this node belongs to (cluster mode).
    pub cluster: Option<String>,
}

impl Server {
    pub fn start() -> Server {
        Server::start_with(&[])
    }

    /// Starts with extra `confab serve` flags.
    pub fn start_with(extra: &[&str]) -> Server {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("confab-it-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Server::start_in(dir, extra)
    }

    /// Starts on a given data folder (for restarts).
    pub fn start_in(data_dir: PathBuf, extra: &[&str]) -> Server {
        Server::start_at(data_dir, "127.0.0.1:0", extra)
    }

    /// Starts on a given data folder and address (to come back where clients expect it).
    pub fn start_at(data_dir: PathBuf, listen: &str, extra: &[&str]) -> Server {
        let cluster = crate::cluster_env::name_for(&data_dir);
        Server::spawn(data_dir, listen, extra, cluster.as_deref(), "http://")
    }

    /// One node of a cluster named `cluster`: nodes of one name share the store, the bus,
    /// the blobs and the token key. (Embedded when the cluster services are missing.)
    pub fn start_node(cluster: &str, node: usize, extra: &[&str]) -> Server {
        let dir = std::env::temp_dir().join(format!("confab-it-{}-{cluster}-node{node}", std::process::id()));
        Server::start_node_in(cluster, dir, "127.0.0.1:0", extra)
    }

    pub fn start_node_in(cluster: &str, data_dir: PathBuf, listen: &str, extra: &[&str]) -> Server {
        let name = crate::cluster_env::active().then(|| cluster.to_owned());
        Server::spawn(data_dir, listen, extra, name.as_deref(), "http://")
    }

    /// Spawns `confab serve` and waits for its listening line (which starts with `scheme`).
    fn spawn(data_dir: PathBuf, listen: &str, extra: &[&str], cluster: Option<&str>, scheme: &str) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_confab"));
        command
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(&data_dir)
            .args(extra)
            .env("CONFAB_LOG", "warn");
        if let Some(name) = cluster {
            command.envs(crate::cluster_env::settings(name));
        }
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn confab");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let url = line.trim().rsplit(' ').next().unwrap_or_default().to_owned();
        assert!(url.starts_with(&format!("{scheme}127.0.0.1:")), "unexpected first line: {line:?}");
        Server { child, url, data_dir, keep_dir: false, cluster: cluster.map(str::to_owned) }
    }

    /// Where the bytes of a blob key live on disk (the data folder, or the S3 server's root).
    pub fn blob_file(&self, key: &str) -> PathBuf {
        match &self.cluster {
            Some(name) => crate::cluster_env::blob_file(name, key),
            None => self.data_dir.join("blobs").join(key),
        }
    }

    /// Kills the process with SIGKILL, keeping the data folder.
    pub fn kill(mut self) -> PathBuf {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.keep_dir = true;
        self.data_dir.clone()
    }

    pub fn participant(&self) -> participant::Client {
        participant::Client::from_conf(self.participant_config().build())
    }

    /// A participant client that does not retry (to see throttling as it is).
    pub fn participant_no_retry(&self) -> participant::Client {
        let config =
            self.participant_config().retry_config(participant::config::retry::RetryConfig::disabled());
        participant::Client::from_conf(config.build())
    }

    fn participant_config(&self) -> participant::config::Builder {
        participant::Config::builder()
            .behavior_version(participant::config::BehaviorVersion::latest())
            .region(participant::config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(participant::config::Credentials::new(
                "AKIDTEST", "secret", None, None, "test",
            ))
            .http_client(http_client())
    }

    pub fn connect(&self) -> connect::Client {
        let config = connect::Config::builder()
            .behavior_version(connect::config::BehaviorVersion::latest())
            .region(connect::config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(connect::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .http_client(http_client())
            .build();
        connect::Client::from_conf(config)
    }

    /// Moves the server's test clock (server started with `--test-clock`).
    pub async fn advance(&self, seconds: f64) {
        let r = http()
            .post(format!("{}/_confab/clock", self.url))
            .json(&json!({"advanceSeconds": seconds}))
            .send()
            .await
            .expect("clock");
        assert!(r.status().is_success(), "advancing the clock: {}", r.status());
    }

    /// A raw HTTP request; returns status, headers and the body as JSON (Null if not JSON).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = http().request(method, format!("{}{path}", self.url)).body(body.to_owned());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.send().await.expect("send");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        (status, headers, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep_dir {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}

fn http_client() -> participant::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().expect("reqwest")
}

/// A started chat: the customer's ids and token.
pub struct Chat {
    pub contact_id: String,
    pub customer_id: String,
    pub customer_token: String,
}

pub async fn start_chat(server: &Server) -> Chat {
    let out = server
        .connect()
        .start_chat_contact()
        .instance_id(INSTANCE)
        .contact_flow_id(FLOW)
        .participant_details(
            connect::types::ParticipantDetails::builder().display_name("Customer").build().expect("details"),
        )
        .send()
        .await
        .expect("StartChatContact");
    Chat {
        contact_id: out.contact_id.expect("ContactId"),
        customer_id: out.participant_id.expect("ParticipantId"),
        customer_token: out.participant_token.expect("ParticipantToken"),
    }
}

/// Adds a participant (AGENT, SUPERVISOR or CUSTOM_BOT); returns (participant id, token).
pub async fn add_participant(server: &Server, contact_id: &str, role: &str, name: &str) -> (String, String) {
    let out = server
        .connect()
        .create_participant()
        .instance_id(INSTANCE)
        .contact_id(contact_id)
        .participant_details(
            connect::types::ParticipantDetailsToAdd::builder()
                .participant_role(connect::types::ParticipantRole::from(role))
                .display_name(name)
                .build(),
        )
        .send()
        .await
        .expect("CreateParticipant");
    let token = out.participant_credentials.and_then(|c| c.participant_token).expect("token");
    (out.participant_id.expect("ParticipantId"), token)
}

/// A participant connected with both a websocket URL and a connection token.
pub struct Connected {
    pub connection_token: String,
    pub ws_url: String,
}

/// The newest page (up to 100 items) of the participant's transcript, as chatjs asks for it.
pub async fn newest_items(server: &Server, connection_token: &str) -> Vec<participant::types::Item> {
    server
        .participant()
        .get_transcript()
        .connection_token(connection_token)
        .max_results(100)
        .send()
        .await
        .expect("transcript")
        .transcript
        .unwrap_or_default()
}

pub async fn connect_participant(server: &Server, participant_token: &str) -> Connected {
    use participant::types::ConnectionType;
    let out = server
        .participant()
        .create_participant_connection()
        .participant_token(participant_token)
        .r#type(ConnectionType::Websocket)
        .r#type(ConnectionType::ConnectionCredentials)
        .send()
        .await
        .expect("CreateParticipantConnection");
    Connected {
        connection_token: out
            .connection_credentials
            .and_then(|c| c.connection_token)
            .expect("ConnectionToken"),
        ws_url: out.websocket.and_then(|w| w.url).expect("Url"),
    }
}

pub async fn send(server: &Server, connection_token: &str, text: &str) -> String {
    server
        .participant()
        .send_message()
        .connection_token(connection_token)
        .content_type("text/plain")
        .content(text)
        .send()
        .await
        .expect("SendMessage")
        .id
        .expect("Id")
}

/// A websocket client speaking the chat protocol.
pub struct Socket {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

pub const WAIT: Duration = Duration::from_secs(10);

impl Socket {
    /// Opens and subscribes; asserts the subscribe answer.
    pub async fn open(url: &str) -> Socket {
        let mut socket = Socket::open_raw(url).await.expect("websocket upgrade");
        socket.send_text(r#"{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}"#).await;
        let reply = socket.next_json().await.expect("subscribe reply");
        assert_eq!(
            reply,
            json!({"topic":"aws/subscribe","content":{"status":"success","topics":["aws/chat"]}})
        );
        socket
    }

    pub async fn open_raw(url: &str) -> Result<Socket, tokio_tungstenite::tungstenite::Error> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        Ok(Socket { ws })
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send frame");
    }

    /// The next text frame as JSON; None when the socket closed or nothing came in time.
    pub async fn next_json(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.ok()??.ok()?;
            match msg {
                Message::Text(t) => return serde_json::from_str(t.as_str()).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next chat item (the frame's `content` decoded), skipping other topics.
    pub async fn next_item(&mut self) -> Option<Value> {
        loop {
            let frame = self.next_json().await?;
            if frame["topic"] == "aws/chat" {
                assert_eq!(frame["contentType"], "application/json");
                let content = frame["content"].as_str().expect("content is a JSON string");
                return serde_json::from_str(content).ok();
            }
        }
    }

    /// Skips items until one with this ContentType (or Type) arrives.
    pub async fn until(&mut self, content_type: &str) -> Value {
        loop {
            let item = self.next_item().await.unwrap_or_else(|| panic!("socket ended before {content_type}"));
            if item["ContentType"] == content_type || item["Type"] == content_type {
                return item;
            }
        }
    }

    /// Waits for the server to close the socket; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next()).await.ok()? {
                Some(Ok(Message::Close(frame))) => return Some(frame.map_or(1005, |f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(1006),
            }
        }
    }
}

pub const JOINED: &str = "application/vnd.amazonaws.connect.event.participant.joined";
pub const LEFT: &str = "application/vnd.amazonaws.connect.event.participant.left";
pub const ENDED: &str = "application/vnd.amazonaws.connect.event.chat.ended";
pub const TYPING: &str = "application/vnd.amazonaws.connect.event.typing";
pub const READ: &str = "application/vnd.amazonaws.connect.event.message.read";
pub const DELIVERED: &str = "application/vnd.amazonaws.connect.event.message.delivered";

// --- TLS (surface_views_auth.rs) ---

impl Server {
    /// Starts serving HTTPS with this certificate and key (PEM files); `url` is `https://…`.
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path, extra: &[&str]) -> Server {
        let n = NEXT_DIR.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("confab-it-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut args =
            vec!["--tls-cert", cert.to_str().expect("utf8"), "--tls-key", key.to_str().expect("utf8")];
        args.extend_from_slice(extra);
        let cluster = crate::cluster_env::name_for(&dir);
        Server::spawn(dir, "127.0.0.1:0", &args, cluster.as_deref(), "https://")
    }

    /// SDK clients that trust this CA (PEM) in addition to nothing else.
    pub fn participant_trusting(&self, ca_pem: &str) -> participant::Client {
        let config = self.participant_config().http_client(http_client_trusting(ca_pem));
        participant::Client::from_conf(config.build())
    }

    pub fn connect_trusting(&self, ca_pem: &str) -> connect::Client {
        let config = connect::Config::builder()
            .behavior_version(connect::config::BehaviorVersion::latest())
            .region(connect::config::Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(connect::config::Credentials::new("AKIDTEST", "secret", None, None, "test"))
            .http_client(http_client_trusting(ca_pem))
            .build();
        connect::Client::from_conf(config)
    }
}

fn http_client_trusting(ca_pem: &str) -> participant::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
    let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(ca_pem.as_bytes());
    let context = TlsContext::builder().with_trust_store(trust).build().expect("TLS context");
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https()
}

/// Every MESSAGE id of the chat, oldest first, paging FORWARD from the first item.
pub async fn message_ids(server: &Server, token: &str) -> Vec<String> {
    use aws_sdk_connectparticipant::types::{ScanDirection, SortKey};
    let p = server.participant();
    let mut ids = Vec::new();
    let mut next = None;
    loop {
        let out = p
            .get_transcript()
            .connection_token(token)
            .scan_direction(ScanDirection::Backward)
            .sort_order(SortKey::Ascending)
            .max_results(100)
            .set_next_token(next)
            .send()
            .await
            .expect("page");
        let page: Vec<String> = out
            .transcript()
            .iter()
            .filter(|i| i.r#type.as_ref().map(|t| t.as_str()) == Some("MESSAGE"))
            .filter_map(|i| i.id.clone())
            .collect();
        ids.splice(0..0, page);
        next = out.next_token;
        if next.is_none() {
            return ids;
        }
    }
}

/// DescribeContact's DisconnectReason (None while the chat goes on).
pub async fn disconnect_reason(server: &Server, contact_id: &str) -> Option<String> {
    let out = server.connect().describe_contact().instance_id(INSTANCE).contact_id(contact_id).send().await;
    out.expect("DescribeContact").contact.and_then(|c| c.disconnect_reason)
}
