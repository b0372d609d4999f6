//! Chats as a client makes them: StartChatContact for the customer, CreateParticipant for an
//! agent, CreateParticipantConnection for each. The baseline server answers the same calls.

use crate::http::Conn;
use anyhow::{anyhow, Context};
use serde_json::{json, Value};

/// A chat with its two participants, not yet connected.
#[derive(Debug, Clone)]
pub struct Created {
    pub contact_id: String,
    pub customer_id: String,
    pub customer_token: String,
    pub agent_token: String,
}

/// A participant's connection: the token for REST calls and the websocket URL.
#[derive(Debug, Clone)]
pub struct Seat {
    pub connection_token: String,
    pub ws_url: String,
}

fn text(v: &Value, path: &[&str]) -> anyhow::Result<String> {
    let mut at = v;
    for key in path {
        at = &at[*key];
    }
    at.as_str().map(str::to_owned).ok_or_else(|| anyhow!("no {} in {v}", path.join(".")))
}

pub async fn create(conn: &mut Conn, n: usize) -> anyhow::Result<Created> {
    let started = conn
        .json(
            "PUT",
            "/contact/chat",
            None,
            &json!({"InstanceId": "bench", "ContactFlowId": "bench",
                    "ParticipantDetails": {"DisplayName": format!("Customer {n}")}}),
        )
        .await?;
    let contact_id = text(&started, &["ContactId"])?;
    let agent = conn
        .json(
            "POST",
            "/contact/create-participant",
            None,
            &json!({"InstanceId": "bench", "ContactId": contact_id,
                    "ParticipantDetails": {"ParticipantRole": "AGENT", "DisplayName": format!("Agent {n}")}}),
        )
        .await?;
    Ok(Created {
        customer_id: text(&started, &["ParticipantId"])?,
        customer_token: text(&started, &["ParticipantToken"])?,
        agent_token: text(&agent, &["ParticipantCredentials", "ParticipantToken"])?,
        contact_id,
    })
}

pub async fn connect(conn: &mut Conn, participant_token: &str) -> anyhow::Result<Seat> {
    let answer = conn
        .json(
            "POST",
            "/participant/connection",
            Some(participant_token),
            &json!({"Type": ["WEBSOCKET", "CONNECTION_CREDENTIALS"]}),
        )
        .await
        .context("CreateParticipantConnection")?;
    Ok(Seat {
        connection_token: text(&answer, &["ConnectionCredentials", "ConnectionToken"])?,
        ws_url: text(&answer, &["Websocket", "Url"])?,
    })
}

/// SendMessage with a fresh ClientToken (as the SDKs send one on every call).
pub async fn send(conn: &mut Conn, connection_token: &str, content: &str) -> anyhow::Result<u16> {
    let body = format!(
        r#"{{"ContentType":"text/plain","Content":"{content}","ClientToken":"{}"}}"#,
        uuid::Uuid::new_v4()
    );
    let answer = conn
        .call("POST", "/participant/message", &[("X-Amz-Bearer", connection_token)], body.as_bytes())
        .await?;
    Ok(answer.status)
}
