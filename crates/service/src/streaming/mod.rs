//! Message streaming (SPEC §5.5, §6): every item of a contact with streaming on is published
//! as an SNS notification to each of its (at most two) endpoints.
//!
//! - An endpoint is an SNS topic ARN that the settings map to an HTTP sink
//!   (`[service.streaming] sinks`), or, as a confab extension, an `http://` or `https://` URL
//!   given directly. Either way the sink receives what an SNS HTTP subscription receives: a
//!   POST of an SNS `Notification` whose `Message` is the item as pushed on the websocket.
//! - Deliveries are queued in the durable outbox by the very batch that appends the items
//!   (`hooks.rs`), one outbox stream per (contact, streaming id); the loop in `delivery.rs`
//!   sends them in order per stream, at least once, with exponential backoff, across
//!   restarts. A slow or dead sink delays only its own stream, never the chat.
//! - Streamed besides the transcript: typing and the chat-timer events (idle, returned,
//!   auto-disconnection), which AWS lists among the streamed content types and shows to
//!   every participant. Receipts are not streamed (UNCERTAIN: the AWS payload documentation
//!   lists only `EVENT` and `MESSAGE` as Types; receipts travel as `MESSAGEMETADATA`).
//! - Streaming stops when the chat ends, after `chat.ended` has been queued.

mod delivery;

use crate::hooks::{streams_key, Live, RECORD};
use crate::{items, Service};
use confab_ports::{Batch, Check, Contact, Millis, NewOutbox};
use confab_wire::item::{Item, TYPE_MESSAGE_METADATA};
use confab_wire::streaming::ChatStreamingConfiguration;
use confab_wire::time::iso_millis;
use confab_wire::ConnectError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// At most this many endpoints per contact (SPEC §7).
pub(crate) const MAX_STREAMS: usize = 2;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamingConfig {
    /// SNS topic ARN → the `http(s)://` URL that receives its notifications. An SNS ARN
    /// without an entry here is refused (confab does not call AWS).
    pub sinks: BTreeMap<String, String>,
    /// First retry delay after a failed delivery; doubles per attempt.
    pub retry_first_ms: i64,
    /// Longest delay between retries.
    pub retry_max_ms: i64,
    /// A delivery still failing this long after it was queued is dropped (and logged), so
    /// a sink that never comes back does not hold its stream forever.
    pub give_up_secs: i64,
    /// Time allowed for one POST (SNS allows 15 s).
    pub timeout_ms: u64,
    /// Instance and flow of the chats SendChatIntegrationEvent starts (that API names
    /// neither: AWS derives them from the phone number's configuration).
    pub integration_instance_id: String,
    pub integration_flow_id: String,
}

impl Default for StreamingConfig {
    fn default() -> StreamingConfig {
        StreamingConfig {
            sinks: BTreeMap::new(),
            retry_first_ms: 1_000,
            retry_max_ms: 300_000,
            give_up_secs: 3_600,
            timeout_ms: 15_000,
            integration_instance_id: "chat-integration".into(),
            integration_flow_id: "chat-integration".into(),
        }
    }
}

impl StreamingConfig {
    /// The URL notifications for an endpoint are POSTed to, or why there is none.
    pub(crate) fn target(&self, endpoint: &str) -> Result<String, String> {
        let lower = endpoint.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(endpoint.to_owned());
        }
        if !is_sns_arn(endpoint) {
            return Err(format!(
                "StreamingEndpointArn '{endpoint}' is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>) nor, as a confab extension, an http:// or https:// URL"
            ));
        }
        if lower.ends_with(".fifo") {
            return Err(format!(
                "'{endpoint}' is a FIFO topic; message streaming supports standard SNS topics only"
            ));
        }
        self.sinks.get(endpoint).cloned().ok_or_else(|| {
            format!(
                "SNS topic '{endpoint}' has no sink: this server publishes to SNS topics through [service.streaming] sinks, which maps each topic ARN to an http(s):// URL (or give that URL as the StreamingEndpointArn)"
            )
        })
    }
}

fn is_sns_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && !parts[5].is_empty()
}

/// One streaming endpoint of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stream {
    pub id: String,
    pub endpoint: String,
}

/// What the outbox keeps for one delivery.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Delivery {
    /// The endpoint as given (resolved to a URL when sent, so a changed sink applies).
    pub endpoint: String,
    pub message_id: String,
    pub queued: Millis,
    /// The SNS notification, exactly as POSTed (a retry sends the same bytes and MessageId,
    /// so a sink can drop duplicates).
    pub body: String,
}

pub(crate) fn outbox_stream(contact_id: &str, streaming_id: &str) -> String {
    format!("{contact_id}/{streaming_id}")
}

/// Checks an endpoint given to StartContactStreaming or StartChatContact.
pub(crate) fn check_endpoint(config: &StreamingConfig, endpoint: &str) -> Result<(), ConnectError> {
    config.target(endpoint).map(|_| ()).map_err(ConnectError::InvalidParameter)
}

/// StartChatContact's ChatStreamingConfiguration, checked: the endpoint to stream to.
pub(crate) fn start_endpoint(
    config: &StreamingConfig,
    given: Option<&serde_json::Value>,
) -> Result<Option<String>, ConnectError> {
    let Some(value) = given else {
        return Ok(None);
    };
    let wanted: ChatStreamingConfiguration = serde_json::from_value(value.clone())
        .map_err(|e| ConnectError::InvalidParameter(format!("ChatStreamingConfiguration: {e}")))?;
    check_endpoint(config, &wanted.streaming_endpoint_arn)?;
    Ok(Some(wanted.streaming_endpoint_arn))
}

/// The batch that adds the first stream of a new contact (StartChatContact).
pub(crate) fn first_stream(batch: &mut Batch, endpoint: &str) -> String {
    let stream = Stream { id: uuid::Uuid::new_v4().to_string(), endpoint: endpoint.to_owned() };
    let id = stream.id.clone();
    let key = streams_key(&batch.contact_id);
    batch.checks.push(Check::RecordIs { kind: RECORD.into(), key: key.clone(), value: None });
    let json = serde_json::to_string(&vec![stream]).unwrap_or_default();
    batch.records.push(confab_ports::RecordWrite::set(RECORD, key, json));
    id
}

impl Service {
    /// Queues the deliveries of one item (as pushed on the websocket) to every stream.
    pub(crate) fn queue_item(
        &self,
        batch: &mut Batch,
        contact: &Contact,
        streams: &[Stream],
        item: &Item,
        now: Millis,
    ) {
        let message = items::pushed_json(item, contact);
        for stream in streams {
            let message_id = uuid::Uuid::new_v4().to_string();
            let body = self.notification(contact, &stream.endpoint, &message_id, &message, item, now);
            let delivery = Delivery { endpoint: stream.endpoint.clone(), message_id, queued: now, body };
            batch.outbox.push(NewOutbox {
                stream: outbox_stream(&contact.id, &stream.id),
                payload: serde_json::to_string(&delivery).unwrap_or_default(),
            });
        }
    }

    /// Queues a pushed-only item (typing, timer events) into a batch; receipts are not streamed.
    pub(crate) fn queue_ephemeral(
        &self,
        batch: &mut Batch,
        contact: &Contact,
        streams: &[Stream],
        item: &Item,
    ) {
        if item.kind.as_deref() != Some(TYPE_MESSAGE_METADATA) {
            self.queue_item(batch, contact, streams, item, self.clock.now());
        }
    }

    /// Streams a pushed-only item on its own (its own small commit, only when the contact
    /// streams). Failures are logged: such items are not kept anyway.
    pub(crate) async fn stream_ephemeral(&self, contact: &Contact, item: &Item) {
        if item.kind.as_deref() == Some(TYPE_MESSAGE_METADATA) {
            return;
        }
        let live = match Live::read(self.store.as_ref(), &contact.id).await {
            Ok(live) => live,
            Err(e) => return tracing::warn!(error = %e, "reading streams failed"),
        };
        if live.streams.is_empty() {
            return;
        }
        let mut batch = Batch::new(contact.id.clone());
        batch.checks.push(Check::ContactActive);
        self.queue_ephemeral(&mut batch, contact, &live.streams, item);
        match self.store.commit(batch).await {
            Ok(_) => self.wake_streaming(),
            Err(e) => tracing::debug!(error = %e, "not streaming a pushed-only item"),
        }
    }

    /// The SNS HTTP notification (SPEC §6). Not signed: confab has no SNS signing
    /// certificate, so `Signature*`, `SigningCertURL` and `UnsubscribeURL` are absent. The
    /// TopicArn is the endpoint as given (a URL for direct endpoints; UNCERTAIN).
    fn notification(
        &self,
        contact: &Contact,
        endpoint: &str,
        message_id: &str,
        message: &str,
        item: &Item,
        now: Millis,
    ) -> String {
        let string = |v: &str| json!({"Type": "String", "Value": v});
        let mut attributes = serde_json::Map::new();
        attributes.insert("InitialContactId".into(), string(&contact.initial_contact_id));
        attributes.insert("ContactId".into(), string(&contact.id));
        // Events of the chat itself (chat.ended) have no sender: SYSTEM (UNCERTAIN).
        attributes
            .insert("ParticipantRole".into(), string(item.participant_role.as_deref().unwrap_or("SYSTEM")));
        attributes.insert("InstanceId".into(), string(&contact.instance_id));
        attributes.insert("AccountId".into(), string(&self.config.account_id));
        if let Some(kind) = &item.kind {
            attributes.insert("Type".into(), string(kind));
        }
        if let Some(content_type) = &item.content_type {
            attributes.insert("ContentType".into(), string(content_type));
        }
        // confab has no agent-only or customer-only messages: everything is for everyone.
        attributes.insert("MessageVisibility".into(), string("ALL"));
        json!({
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": endpoint,
            "Message": message,
            "Timestamp": iso_millis(now),
            "MessageAttributes": attributes,
        })
        .to_string()
    }

    /// Tells the delivery loop that deliveries were queued.
    pub(crate) fn wake_streaming(&self) {
        self.streaming_queued.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_resolve_to_urls_or_say_why_not() {
        let mut config = StreamingConfig::default();
        config.sinks.insert("arn:aws:sns:us-east-1:123456789012:chat".into(), "http://127.0.0.1:9/x".into());
        assert_eq!(config.target("http://127.0.0.1:1/in").as_deref(), Ok("http://127.0.0.1:1/in"));
        assert_eq!(
            config.target("arn:aws:sns:us-east-1:123456789012:chat").as_deref(),
            Ok("http://127.0.0.1:9/x")
        );
        let unknown = config.target("arn:aws:sns:us-east-1:123456789012:other").expect_err("unmapped");
        assert!(unknown.contains("[service.streaming] sinks"), "{unknown}");
        assert!(config
            .target("arn:aws:sns:us-east-1:123456789012:t.fifo")
            .expect_err("fifo")
            .contains("FIFO"));
        assert!(config.target("arn:aws:sqs:us-east-1:123456789012:q").is_err());
        assert!(config.target("ftp://x").is_err());
    }
}
