//! One task per socket: answers subscribe/heartbeat/ping, writes what the room queues, and
//! closes with a code that tells the client what to do next.

use super::frames::{parse_client, subscription_reply, ClientFrame, HEARTBEAT, PING};
use super::room::{Outbound, SocketState};
use super::{Admission, Gateway};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Close codes, grouped by what the client should do next.
pub mod close_codes {
    /// Done: the chat ended or the participant left. Do not reconnect.
    pub const NORMAL: u16 = 1000;
    /// The server is shutting down: reconnect (to another node).
    pub const GOING_AWAY: u16 = 1001;
    /// The client read too slowly and its queue overflowed: reconnect at once and fill the
    /// gap with GetTranscript.
    pub const TOO_SLOW: u16 = 4100;
    /// Nothing heard from the client for too long: reconnect when needed.
    pub const IDLE: u16 = 4200;
}

/// A protocol ping goes out this often; a socket silent for `IDLE_AFTER` is closed.
const PING_EVERY: Duration = Duration::from_secs(30);
const IDLE_AFTER: Duration = Duration::from_secs(120);

impl Gateway {
    pub async fn run_socket(self: Arc<Self>, mut socket: WebSocket, admission: Admission) {
        let (id, mut rx, state) = self.register(&admission).await;
        self.open.fetch_add(1, Ordering::Relaxed);
        let code = if self.still_active(&admission).await {
            serve(&mut socket, &mut rx, &state).await
        } else {
            Some((close_codes::NORMAL, "Chat ended"))
        };
        if let Some((code, reason)) = code {
            let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
            let _ = socket.send(Message::Close(Some(frame))).await;
        }
        self.unregister(&admission.contact_id, id);
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// A chat may end between the token check and the registration: then the socket closes.
    async fn still_active(&self, admission: &Admission) -> bool {
        let participant = self.service.store().participant(&admission.participant_id).await.ok().flatten();
        let contact = self.service.store().contact(&admission.contact_id).await.ok().flatten();
        participant.is_some_and(|p| p.is_active()) && contact.is_some_and(|c| c.is_active())
    }
}

/// Runs until the socket ends; returns the close to send, if the server ends it.
async fn serve(
    socket: &mut WebSocket,
    rx: &mut tokio::sync::mpsc::Receiver<Outbound>,
    state: &SocketState,
) -> Option<(u16, &'static str)> {
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut heard = Instant::now();
    loop {
        tokio::select! {
            biased;
            () = state.kill.notified() => {
                let code = state.kill_code.load(Ordering::Relaxed);
                return Some((code, if code == close_codes::TOO_SLOW { "Too slow: reconnect and fetch the transcript" } else { "Closed" }));
            }
            out = rx.recv() => match out {
                Some(Outbound::Frame(frame)) => {
                    if socket.send(Message::Text(frame)).await.is_err() {
                        return None;
                    }
                }
                Some(Outbound::Close(code, reason)) => return Some((code, reason)),
                None => return Some((close_codes::NORMAL, "Closed")),
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    heard = Instant::now();
                    if let Some(reply) = answer(text.as_str(), state) {
                        if socket.send(Message::Text(Utf8Bytes::from(reply))).await.is_err() {
                            return None;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => heard = Instant::now(),
            },
            _ = ping.tick() => {
                if heard.elapsed() > IDLE_AFTER {
                    return Some((close_codes::IDLE, "Idle"));
                }
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return None;
                }
            }
        }
    }
}

/// The reply to a client frame, if it needs one.
fn answer(text: &str, state: &SocketState) -> Option<String> {
    match parse_client(text) {
        ClientFrame::Subscribe(topics) => {
            let (ok, reply) = subscription_reply("aws/subscribe", &topics);
            if ok {
                state.subscribed.store(true, Ordering::Relaxed);
            }
            Some(reply)
        }
        ClientFrame::Unsubscribe(topics) => {
            let (ok, reply) = subscription_reply("aws/unsubscribe", &topics);
            if ok {
                state.subscribed.store(false, Ordering::Relaxed);
            }
            Some(reply)
        }
        ClientFrame::Heartbeat => Some(HEARTBEAT.to_owned()),
        ClientFrame::Ping => Some(PING.to_owned()),
        ClientFrame::Other => None,
    }
}
