//! Building transcript items and turning committed items into websocket pushes.

use crate::Service;
use confab_ports::{Contact, Millis, NewItem, Participant};
use confab_wire::item::{Item, TYPE_EVENT, TYPE_MESSAGE};
use confab_wire::time::iso_millis;

/// A new item id: time-ordered UUIDs, like recent AWS transcripts.
pub(crate) fn item_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// An item sent by a participant (message or event).
pub(crate) fn from_participant(
    p: &Participant,
    kind: &str,
    content_type: &str,
    content: Option<String>,
    at: Millis,
) -> Item {
    Item {
        absolute_time: Some(iso_millis(at)),
        content,
        content_type: Some(content_type.to_owned()),
        id: Some(item_id()),
        kind: Some(kind.to_owned()),
        participant_id: Some(p.id.clone()),
        display_name: Some(p.display_name.clone()),
        participant_role: Some(p.role.as_str().to_owned()),
        contact_id: Some(p.contact_id.clone()),
        ..Item::default()
    }
}

pub(crate) fn message(p: &Participant, content_type: &str, content: String, at: Millis) -> Item {
    from_participant(p, TYPE_MESSAGE, content_type, Some(content), at)
}

pub(crate) fn event(p: &Participant, content_type: &str, at: Millis) -> Item {
    from_participant(p, TYPE_EVENT, content_type, None, at)
}

/// An event of the chat itself (chat.ended): no participant members.
pub(crate) fn system_event(contact_id: &str, content_type: &str, at: Millis) -> Item {
    Item {
        absolute_time: Some(iso_millis(at)),
        content_type: Some(content_type.to_owned()),
        id: Some(item_id()),
        kind: Some(TYPE_EVENT.to_owned()),
        contact_id: Some(contact_id.to_owned()),
        ..Item::default()
    }
}

/// The stored form of an item (as GetTranscript returns it).
pub(crate) fn to_new(item: &Item, at: Millis) -> NewItem {
    NewItem {
        id: item.id.clone().unwrap_or_default(),
        at,
        json: serde_json::to_string(item).unwrap_or_default(),
    }
}

/// The pushed form of an item: the stored form plus InitialContactId.
pub(crate) fn pushed_json(item: &Item, contact: &Contact) -> String {
    into_pushed_json(item.clone(), contact)
}

/// [`pushed_json`] of an item that is not needed afterwards (no copy of it is made).
fn into_pushed_json(mut item: Item, contact: &Contact) -> String {
    item.initial_contact_id = Some(contact.initial_contact_id.clone());
    item.contact_id = Some(contact.id.clone());
    serde_json::to_string(&item).unwrap_or_default()
}

impl Service {
    /// Pushes committed items (in commit order) to every socket of the contact.
    pub(crate) async fn push_committed(&self, contact: &Contact, items: Vec<Item>, seqs: &[u64]) {
        self.count_items(items.len());
        for (item, seq) in items.into_iter().zip(seqs) {
            self.publish_item(&contact.id, *seq, into_pushed_json(item, contact)).await;
        }
    }

    /// Pushes an item that is not kept in the transcript (typing, receipts).
    pub(crate) async fn push_ephemeral(&self, contact: &Contact, item: &Item) {
        self.stream_ephemeral(contact, item).await;
        self.publish_item(&contact.id, 0, pushed_json(item, contact)).await;
    }
}
