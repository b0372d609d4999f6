//! Mapping between records and rows. Enums are stored as their text names, `details` as
//! JSON text, sequence numbers as INTEGER (always < 2^63).

use confab_ports::{Contact, Participant, Receipt, Role, StoredItem, Timer};
use rusqlite::types::Type;
use rusqlite::Row;

pub(crate) const CONTACT_COLUMNS: &str =
    "id, instance_id, initial_contact_id, created_at, expires_at, ended_at, disconnect_reason, details";
pub(crate) const PARTICIPANT_COLUMNS: &str =
    "id, contact_id, role, display_name, created_at, connected_at, left_at";
pub(crate) const ITEM_COLUMNS: &str = "contact_id, seq, id, at, json";
pub(crate) const RECEIPT_COLUMNS: &str = "contact_id, message_id, recipient_id, delivered_at, read_at";
pub(crate) const TIMER_COLUMNS: &str = "key, contact_id, due, kind";

fn conversion(idx: usize, ty: Type, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, Box::new(e))
}

#[derive(Debug)]
struct BadValue(String);

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadValue {}

pub(crate) fn seq_to_sql(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

pub(crate) fn seq_from_sql(idx: usize, v: i64) -> rusqlite::Result<u64> {
    u64::try_from(v).map_err(|e| conversion(idx, Type::Integer, e))
}

pub(crate) fn contact(r: &Row<'_>) -> rusqlite::Result<Contact> {
    let details: String = r.get(7)?;
    Ok(Contact {
        id: r.get(0)?,
        instance_id: r.get(1)?,
        initial_contact_id: r.get(2)?,
        created_at: r.get(3)?,
        expires_at: r.get(4)?,
        ended_at: r.get(5)?,
        disconnect_reason: r.get(6)?,
        details: serde_json::from_str(&details).map_err(|e| conversion(7, Type::Text, e))?,
    })
}

pub(crate) fn participant(r: &Row<'_>) -> rusqlite::Result<Participant> {
    let role: String = r.get(2)?;
    Ok(Participant {
        id: r.get(0)?,
        contact_id: r.get(1)?,
        role: Role::parse(&role)
            .ok_or_else(|| conversion(2, Type::Text, BadValue(format!("unknown role {role:?}"))))?,
        display_name: r.get(3)?,
        created_at: r.get(4)?,
        connected_at: r.get(5)?,
        left_at: r.get(6)?,
    })
}

pub(crate) fn item(r: &Row<'_>) -> rusqlite::Result<StoredItem> {
    Ok(StoredItem {
        contact_id: r.get(0)?,
        seq: seq_from_sql(1, r.get(1)?)?,
        id: r.get(2)?,
        at: r.get(3)?,
        json: r.get(4)?,
    })
}

pub(crate) fn receipt(r: &Row<'_>) -> rusqlite::Result<Receipt> {
    Ok(Receipt {
        contact_id: r.get(0)?,
        message_id: r.get(1)?,
        recipient_id: r.get(2)?,
        delivered_at: r.get(3)?,
        read_at: r.get(4)?,
    })
}

pub(crate) fn timer(r: &Row<'_>) -> rusqlite::Result<Timer> {
    Ok(Timer { key: r.get(0)?, contact_id: r.get(1)?, due: r.get(2)?, kind: r.get(3)? })
}
