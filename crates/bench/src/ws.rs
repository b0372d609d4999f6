//! Client websockets that behave like chatjs: subscribe, ping and heartbeat on open, then a
//! ping and a heartbeat every 10 s; every frame that arrives is counted in the [`Tally`].

use crate::tally::Tally;
use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

pub type Socket = WebSocketStream<TcpStream>;

const SUBSCRIBE: &str = r#"{"topic":"aws/subscribe","content":{"topics":["aws/chat"]}}"#;
const PING: &str = r#"{"topic":"aws/ping"}"#;
const HEARTBEAT: &str = r#"{"topic":"aws/heartbeat"}"#;
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(20);

/// Opens `url` from `source`, subscribes as chatjs does, and waits for the subscription.
pub async fn open(url: &str, source: Option<IpAddr>) -> anyhow::Result<Socket> {
    let hostport = url
        .strip_prefix("ws://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| anyhow!("not a ws:// URL: {url}"))?;
    let addr: SocketAddr = hostport.parse().with_context(|| format!("websocket host {hostport}"))?;
    let stream = crate::http::tcp(addr, source).await.context("ws_connect")?;
    // Small buffers: this process holds up to 18,000 sockets.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .context("ws_handshake")?;
    for frame in [SUBSCRIBE, PING, HEARTBEAT] {
        ws.send(Message::text(frame)).await.context("ws_send")?;
    }
    tokio::time::timeout(SUBSCRIBE_TIMEOUT, subscribed(&mut ws))
        .await
        .map_err(|_| anyhow!("subscribe_timeout"))??;
    Ok(ws)
}

async fn subscribed(ws: &mut Socket) -> anyhow::Result<()> {
    // Bounded: a few frames (ping, heartbeat, joined events) may come first.
    for _ in 0..64 {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.contains("\"aws/subscribe\"") => {
                if t.contains("\"success\"") {
                    return Ok(());
                }
                bail!("subscribe_failed");
            }
            Some(Ok(Message::Close(_))) | None => bail!("closed_before_subscribe"),
            Some(Err(e)) => bail!("ws_error: {e}"),
            Some(Ok(_)) => {}
        }
    }
    bail!("no_subscribe_reply")
}

/// Holds a socket until `until`: counts frames, sends a ping and a heartbeat every
/// `every` (first after `phase`, so that a fleet spreads them), records how it ended.
pub async fn hold(
    mut ws: Socket,
    other: bool,
    tally: Arc<Tally>,
    every: Duration,
    phase: Duration,
    until: Instant,
) {
    let mut tick = tokio::time::interval_at(Instant::now() + phase, every);
    let end = tokio::time::sleep_until(until);
    tokio::pin!(end);
    loop {
        tokio::select! {
            () = &mut end => return,
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => tally.frame(t.as_str(), other),
                Some(Ok(Message::Close(frame))) => {
                    let code = frame.map_or(1005, |f| u16::from(f.code));
                    tally.errors.add(format!("ws_closed_{code}"));
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) => {
                    tally.errors.add("ws_error");
                    return;
                }
                None => {
                    tally.errors.add("ws_ended");
                    return;
                }
            },
            _ = tick.tick() => {
                if ws.send(Message::text(PING)).await.is_err() || ws.send(Message::text(HEARTBEAT)).await.is_err() {
                    tally.errors.add("ws_send_failed");
                    return;
                }
            }
        }
    }
}
