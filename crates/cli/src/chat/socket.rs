//! The participant websocket: subscribe to `aws/chat`, heartbeats, items out of frames.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Items that came before the subscription was confirmed, handed out first.
    early: VecDeque<Value>,
}

/// How long the server may take to confirm the subscription.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(10);

/// What a read from the socket gave.
pub enum Outcome {
    Item(Value),
    /// Closed by the server with this code (1000: chat over; others: reconnect).
    Closed(u16),
    Lost,
    Other,
}

impl Socket {
    /// Opens `url`; a `wss://` one with `tls` (the same trust as the HTTP calls).
    pub async fn open(url: &str, tls: Option<Arc<ClientConfig>>) -> Result<Socket, String> {
        let connector = tls.filter(|_| url.starts_with("wss://")).map(Connector::Rustls);
        let (mut ws, _) = tokio_tungstenite::connect_async_tls_with_config(url, None, false, connector)
            .await
            .map_err(|e| format!("websocket: {e}"))?;
        let subscribe = r#"{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}"#;
        ws.send(Message::text(subscribe)).await.map_err(|e| format!("websocket: {e}"))?;
        let early = tokio::time::timeout(SUBSCRIBE_WAIT, subscribed(&mut ws))
            .await
            .map_err(|_| "websocket: the server did not confirm the subscription".to_owned())??;
        Ok(Socket { ws, early })
    }

    pub async fn heartbeat(&mut self) -> Result<(), String> {
        self.ws.send(Message::text(r#"{"topic":"aws/heartbeat"}"#)).await.map_err(|e| e.to_string())
    }

    pub async fn next(&mut self) -> Outcome {
        if let Some(item) = self.early.pop_front() {
            return Outcome::Item(item);
        }
        match self.ws.next().await {
            Some(Ok(Message::Text(text))) => item_of(text.as_str()),
            Some(Ok(Message::Close(frame))) => {
                Outcome::Closed(frame.map(|f| u16::from(f.code)).unwrap_or(1005))
            }
            Some(Ok(_)) => Outcome::Other,
            Some(Err(_)) | None => Outcome::Lost,
        }
    }
}

/// Reads until the server confirms the subscription: only from then on are the chat's items
/// pushed to this socket, so the caller reads the transcript after this (what was said before
/// comes from there, what is said after from here). Items that come first are kept.
async fn subscribed(ws: &mut WebSocketStream<MaybeTlsStream<TcpStream>>) -> Result<VecDeque<Value>, String> {
    let mut early = VecDeque::new();
    loop {
        let text = match ws.next().await {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                return Err("websocket: closed before the subscription was confirmed".into())
            }
            Some(Ok(_)) => continue,
        };
        let frame: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
        if frame["topic"].as_str() == Some("aws/subscribe") {
            return match frame["content"]["status"].as_str() {
                Some("success") => Ok(early),
                _ => Err(format!("websocket: subscription refused: {}", frame["content"])),
            };
        }
        if let Outcome::Item(item) = item_of(text.as_str()) {
            early.push_back(item);
        }
    }
}

/// `{"topic":"aws/chat","content":"<item as JSON text>"}` to the item.
fn item_of(text: &str) -> Outcome {
    let Ok(frame) = serde_json::from_str::<Value>(text) else { return Outcome::Other };
    if frame["topic"].as_str() != Some("aws/chat") {
        return Outcome::Other;
    }
    match frame["content"].as_str().and_then(|c| serde_json::from_str(c).ok()) {
        Some(item) => Outcome::Item(item),
        None => Outcome::Other,
    }
}
