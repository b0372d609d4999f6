//! How a transcript item (from the socket or GetTranscript) shows on the screen.

use serde_json::Value;

pub const TYPING: &str = "application/vnd.amazonaws.connect.event.typing";
pub const READ: &str = "application/vnd.amazonaws.connect.event.message.read";
const JOINED: &str = "application/vnd.amazonaws.connect.event.participant.joined";
const LEFT: &str = "application/vnd.amazonaws.connect.event.participant.left";
const ENDED: &str = "application/vnd.amazonaws.connect.event.chat.ended";

/// Who is looking: to tell "you" from the others.
pub struct Viewer<'a> {
    pub participant_id: Option<&'a str>,
    pub sent: &'a std::collections::HashSet<String>,
    /// Participant id to display name, and message id to text, from the items seen so far.
    pub names: &'a std::collections::HashMap<String, String>,
    pub texts: &'a std::collections::HashMap<String, String>,
}

impl Viewer<'_> {
    pub fn is_own(&self, item: &Value) -> bool {
        let pid = item["ParticipantId"].as_str();
        (pid.is_some() && pid == self.participant_id)
            || item["Id"].as_str().is_some_and(|id| self.sent.contains(id))
    }
}

fn time_of(item: &Value) -> String {
    // "2026-11-22T10:50:21.304Z" → "10:50:21"
    item["AbsoluteTime"].as_str().and_then(|t| t.get(11..19)).unwrap_or("--:--:--").to_owned()
}

pub fn name_of(item: &Value) -> String {
    let name = item["DisplayName"].as_str().unwrap_or_default();
    let role = item["ParticipantRole"].as_str().unwrap_or_default().to_lowercase();
    match (name.is_empty(), role.is_empty()) {
        (true, true) => "someone".into(),
        (true, false) => role,
        (false, true) => name.into(),
        (false, false) => format!("{name} ({role})"),
    }
}

/// The line for an item, or None for items that show nothing (own typing, unknown events).
pub fn render(item: &Value, viewer: &Viewer<'_>) -> Option<String> {
    let own = viewer.is_own(item);
    let who = if own { "you".to_owned() } else { name_of(item) };
    let at = time_of(item);
    match item["Type"].as_str().unwrap_or_default() {
        "MESSAGE" => Some(format!("[{at}] {who}: {}", item["Content"].as_str().unwrap_or_default())),
        "ATTACHMENT" => {
            let names: Vec<String> = item["Attachments"]
                .as_array()
                .map(|a| {
                    a.iter().map(|x| x["AttachmentName"].as_str().unwrap_or("file").to_owned()).collect()
                })
                .unwrap_or_default();
            Some(format!("[{at}] {who} sent an attachment: {}", names.join(", ")))
        }
        "MESSAGEMETADATA" => receipt(item, viewer),
        "EVENT" => event(item, own, &who, &at),
        _ => None,
    }
}

fn event(item: &Value, own: bool, who: &str, at: &str) -> Option<String> {
    match item["ContentType"].as_str().unwrap_or_default() {
        TYPING if !own => Some(format!("{who} is typing…")),
        JOINED => Some(format!("[{at}] * {who} joined")),
        LEFT => Some(format!("[{at}] * {who} left")),
        ENDED => Some(format!("[{at}] * the chat has ended")),
        _ => None,
    }
}

/// A receipt for one of our messages, from someone else.
fn receipt(item: &Value, viewer: &Viewer<'_>) -> Option<String> {
    let meta = &item["MessageMetadata"];
    let message = meta["MessageId"].as_str()?;
    let r = meta["Receipts"].as_array()?.first()?;
    let reader = r["RecipientParticipantId"].as_str();
    if reader.is_some() && reader == viewer.participant_id {
        return None;
    }
    let who = reader.and_then(|r| viewer.names.get(r)).cloned().unwrap_or_else(|| "they".into());
    let text = viewer.texts.get(message).map(|t| quote(t)).unwrap_or_else(|| "your message".into());
    if r["ReadTimestamp"].is_string() {
        Some(format!("  ✓✓ {who} read {text}"))
    } else if r["DeliveredTimestamp"].is_string() {
        Some(format!("  ✓ delivered to {who}: {text}"))
    } else {
        None
    }
}

/// A message quoted in a receipt line, cut to 30 characters.
fn quote(text: &str) -> String {
    let short: String = text.chars().take(30).collect();
    if short.len() < text.len() {
        format!("“{short}…”")
    } else {
        format!("“{short}”")
    }
}

pub fn is_chat_ended(item: &Value) -> bool {
    item["ContentType"].as_str() == Some(ENDED)
}

/// A message from someone else, to acknowledge with receipts.
pub fn needs_receipt(item: &Value, viewer: &Viewer<'_>) -> bool {
    item["Type"].as_str() == Some("MESSAGE") && !viewer.is_own(item)
}
