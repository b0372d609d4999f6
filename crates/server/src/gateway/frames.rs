//! Frames of the websocket protocol (SPEC §4, CHATJS-PROTOCOL b.2–b.3).

use confab_wire::item::Item;
use serde_json::{json, Value};

/// The stored form of an item made into the pushed form (with InitialContactId).
pub(super) fn pushed_from_stored(stored: &str, initial_contact_id: &str, contact_id: &str) -> Option<String> {
    let mut item: Item = serde_json::from_str(stored).ok()?;
    item.initial_contact_id = Some(initial_contact_id.to_owned());
    item.contact_id = Some(contact_id.to_owned());
    serde_json::to_string(&item).ok()
}

/// What a client frame asks for.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ClientFrame {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
    Heartbeat,
    Ping,
    Other,
}

/// Parses leniently: the first JSON value counts, trailing bytes are ignored (the iOS SDK
/// sends a stray `)` after its subscribe frame).
pub(super) fn parse_client(text: &str) -> ClientFrame {
    let Some(Ok(value)) = serde_json::Deserializer::from_str(text).into_iter::<Value>().next() else {
        return ClientFrame::Other;
    };
    let topics = || {
        value["content"]["topics"]
            .as_array()
            .map(|t| t.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    match value["topic"].as_str() {
        Some("aws/subscribe") => ClientFrame::Subscribe(topics()),
        Some("aws/unsubscribe") => ClientFrame::Unsubscribe(topics()),
        Some("aws/heartbeat") => ClientFrame::Heartbeat,
        Some("aws/ping") => ClientFrame::Ping,
        _ => ClientFrame::Other,
    }
}

pub(super) const HEARTBEAT: &str = r#"{"topic":"aws/heartbeat"}"#;
pub(super) const PING: &str = r#"{"topic":"aws/ping","statusCode":200,"statusContent":"OK"}"#;

/// The answer to a subscribe or unsubscribe: success when `aws/chat` is among the topics.
pub(super) fn subscription_reply(topic: &str, requested: &[String]) -> (bool, String) {
    let ok = requested.iter().any(|t| t == "aws/chat");
    let status = if ok { "success" } else { "failure" };
    let topics: Vec<&String> =
        if ok { requested.iter().filter(|t| *t == "aws/chat").collect() } else { requested.iter().collect() };
    (ok, json!({"topic": topic, "content": {"status": status, "topics": topics}}).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_parsing() {
        let ios = r#"{"topic": "aws/subscribe", "content": {"topics": ["aws/chat"]}})"#;
        assert_eq!(parse_client(ios), ClientFrame::Subscribe(vec!["aws/chat".into()]));
        assert_eq!(parse_client(r#"{"topic":"aws/ping"}"#), ClientFrame::Ping);
        assert_eq!(parse_client("not json"), ClientFrame::Other);
        assert_eq!(parse_client(""), ClientFrame::Other);
    }

    #[test]
    fn subscribe_reply_has_topics_array() {
        let (ok, reply) = subscription_reply("aws/subscribe", &["aws/chat".into()]);
        assert!(ok);
        assert_eq!(
            reply,
            r#"{"topic":"aws/subscribe","content":{"status":"success","topics":["aws/chat"]}}"#
        );
    }
}
