//! Mapping between records and rows, as the SQLite store does it: enums as their text names,
//! `details` as JSON text (kept verbatim, member order included), instants and sequence
//! numbers as bigint.

use confab_ports::{
    Contact, OutboxEntry, Participant, Receipt, Role, SessionRead, StoreError, StoredItem, Timer,
};
use tokio_postgres::Row;

pub(crate) const CONTACT_COLUMNS: &str =
    "id, instance_id, initial_contact_id, created_at, expires_at, ended_at, disconnect_reason, details";
pub(crate) const PARTICIPANT_COLUMNS: &str =
    "id, contact_id, role, display_name, created_at, connected_at, left_at";
/// How many columns [`CONTACT_COLUMNS`] names.
pub(crate) const CONTACT_COUNT: usize = 8;
/// How many columns [`PARTICIPANT_COLUMNS`] names.
pub(crate) const PARTICIPANT_COUNT: usize = 7;
pub(crate) const ITEM_COLUMNS: &str = "contact_id, seq, id, at, json";
pub(crate) const RECEIPT_COLUMNS: &str = "contact_id, message_id, recipient_id, delivered_at, read_at";
pub(crate) const TIMER_COLUMNS: &str = "key, contact_id, due, kind";
pub(crate) const OUTBOX_COLUMNS: &str = "id, stream, payload, attempts";

fn bad(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("reading {what}: {e}"))
}

pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(crate) fn seq_from_sql(seq: i64) -> Result<u64, StoreError> {
    u64::try_from(seq).map_err(|e| bad("a sequence number", e))
}

pub(crate) fn count_to_sql(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn contact(r: &Row) -> Result<Contact, StoreError> {
    contact_at(r, 0)
}

/// A contact from [`CONTACT_COLUMNS`] starting at column `at` of the row.
pub(crate) fn contact_at(r: &Row, at: usize) -> Result<Contact, StoreError> {
    let get = |e| bad("a contact", e);
    let details: String = r.try_get(at + 7).map_err(get)?;
    Ok(Contact {
        id: r.try_get(at).map_err(get)?,
        instance_id: r.try_get(at + 1).map_err(get)?,
        initial_contact_id: r.try_get(at + 2).map_err(get)?,
        created_at: r.try_get(at + 3).map_err(get)?,
        expires_at: r.try_get(at + 4).map_err(get)?,
        ended_at: r.try_get(at + 5).map_err(get)?,
        disconnect_reason: r.try_get(at + 6).map_err(get)?,
        details: serde_json::from_str(&details).map_err(|e| bad("contact details", e))?,
    })
}

pub(crate) fn participant(r: &Row) -> Result<Participant, StoreError> {
    let get = |e| bad("a participant", e);
    let role: String = r.try_get(2).map_err(get)?;
    Ok(Participant {
        id: r.try_get(0).map_err(get)?,
        contact_id: r.try_get(1).map_err(get)?,
        role: Role::parse(&role).ok_or_else(|| bad("a participant", format!("unknown role {role:?}")))?,
        display_name: r.try_get(3).map_err(get)?,
        created_at: r.try_get(4).map_err(get)?,
        connected_at: r.try_get(5).map_err(get)?,
        left_at: r.try_get(6).map_err(get)?,
    })
}

pub(crate) fn item(r: &Row) -> Result<StoredItem, StoreError> {
    let get = |e| bad("an item", e);
    Ok(StoredItem {
        contact_id: r.try_get(0).map_err(get)?,
        seq: seq_from_sql(r.try_get(1).map_err(get)?)?,
        id: r.try_get(2).map_err(get)?,
        at: r.try_get(3).map_err(get)?,
        json: r.try_get(4).map_err(get)?,
    })
}

pub(crate) fn receipt(r: &Row) -> Result<Receipt, StoreError> {
    let get = |e| bad("a receipt", e);
    Ok(Receipt {
        contact_id: r.try_get(0).map_err(get)?,
        message_id: r.try_get(1).map_err(get)?,
        recipient_id: r.try_get(2).map_err(get)?,
        delivered_at: r.try_get(3).map_err(get)?,
        read_at: r.try_get(4).map_err(get)?,
    })
}

pub(crate) fn timer(r: &Row) -> Result<Timer, StoreError> {
    let get = |e| bad("a timer", e);
    Ok(Timer {
        key: r.try_get(0).map_err(get)?,
        contact_id: r.try_get(1).map_err(get)?,
        due: r.try_get(2).map_err(get)?,
        kind: r.try_get(3).map_err(get)?,
    })
}

pub(crate) fn outbox(r: &Row) -> Result<OutboxEntry, StoreError> {
    let get = |e| bad("an outbox entry", e);
    let attempts: i32 = r.try_get(3).map_err(get)?;
    Ok(OutboxEntry {
        id: r.try_get(0).map_err(get)?,
        stream: r.try_get(1).map_err(get)?,
        payload: r.try_get(2).map_err(get)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
    })
}

/// Maps every row, stopping at the first that does not fit.
pub(crate) fn all<T>(rows: &[Row], f: fn(&Row) -> Result<T, StoreError>) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

/// A participant's columns, then its contact's, then the records' keys and values as two
/// arrays (NULL for none).
pub(crate) fn session_read(r: &Row) -> Result<SessionRead, StoreError> {
    let at = PARTICIPANT_COUNT + CONTACT_COUNT;
    let get = |e| bad("records", e);
    let keys: Option<Vec<String>> = r.try_get(at).map_err(get)?;
    let values: Option<Vec<String>> = r.try_get(at + 1).map_err(get)?;
    Ok(SessionRead {
        participant: participant(r)?,
        contact: contact_at(r, PARTICIPANT_COUNT)?,
        records: keys.unwrap_or_default().into_iter().zip(values.unwrap_or_default()).collect(),
    })
}
