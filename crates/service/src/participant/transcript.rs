//! GetTranscript (SPEC §2.4): pages of the contact's kept items, receipts folded into the
//! messages they belong to.

use crate::lifecycle::{internal_p, Session};
use crate::tokens::{Claims, TokenKind};
use crate::Service;
use confab_ports::{ItemQuery, Locate, Receipt, StoredItem};
use confab_wire::item::{Item, MessageMetadata, Receipt as WireReceipt, TYPE_ATTACHMENT, TYPE_MESSAGE};
use confab_wire::participant::{GetTranscriptInput, GetTranscriptOutput, StartPosition};
use confab_wire::time::{iso_millis, parse_iso};
use confab_wire::ParticipantError;
use std::collections::HashMap;

/// Where a page starts and how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Scan {
    from: u64,
    forward: bool,
    descending: bool,
}

/// How long a NextToken stays usable.
const PAGE_TOKEN_MS: i64 = 24 * 3600 * 1000;

impl Service {
    pub async fn get_transcript(
        &self,
        connection_token: Option<&str>,
        input: GetTranscriptInput,
    ) -> Result<GetTranscriptOutput, ParticipantError> {
        // Reading stays allowed after the participant left or the chat ended, while the
        // connection token lasts: the socket is closed by then and a widget still shows the
        // conversation (SPEC §2.4, UNCERTAIN; its suggestion taken). Writes are refused.
        let claims = connection_token
            .and_then(|t| self.tokens.verify(TokenKind::Connection, t, self.clock.now()))
            .ok_or_else(ParticipantError::access_denied)?;
        let session = self.session_of(claims).await?;
        let contact = &session.contact;
        if let Some(id) = input.contact_id.as_deref() {
            if id != contact.id && id != contact.initial_contact_id {
                return Err(ParticipantError::validation(format!(
                    "ContactId '{id}' is not part of this chat"
                )));
            }
        }
        let limit = usize::try_from(input.max_results.unwrap_or(10)).unwrap_or(0);
        let scan = match input.next_token.as_deref() {
            Some(token) => Some(self.open_page_token(&session, token)?),
            None => self.first_scan(&contact.id, &input).await?,
        };
        let mut out = GetTranscriptOutput {
            initial_contact_id: contact.initial_contact_id.clone(),
            ..Default::default()
        };
        let Some(scan) = scan.filter(|_| limit > 0) else {
            return Ok(out);
        };
        let query = ItemQuery {
            contact_id: contact.id.clone(),
            from: scan.from,
            ascending: scan.forward,
            limit: limit + 1,
        };
        let mut page = self.store.items(query).await.map_err(internal_p)?;
        if page.len() > limit {
            page.truncate(limit);
            let last = page.last().map_or(0, |i| i.seq);
            let next = if scan.forward { last + 1 } else { last.saturating_sub(1) };
            if next > 0 {
                out.next_token = Some(self.page_token(&session, Scan { from: next, ..scan }));
            }
        }
        if scan.descending == scan.forward {
            page.reverse();
        }
        out.transcript = self.with_receipts(&contact.id, page).await?;
        Ok(out)
    }

    /// The start of a first page. None: nothing to read (FORWARD without a start position,
    /// an empty transcript).
    async fn first_scan(
        &self,
        contact_id: &str,
        input: &GetTranscriptInput,
    ) -> Result<Option<Scan>, ParticipantError> {
        let start = Start::of(input.start_position.as_ref())?;
        let forward = match input.scan_direction.as_deref() {
            Some(d) => d == "FORWARD",
            None => start != Start::None,
        };
        let descending = input.sort_order.as_deref() != Some("ASCENDING");
        let at = match start {
            Start::None if forward => return Ok(None),
            Start::None => Locate::Last,
            Start::Id(id) => Locate::ItemId(id),
            Start::Time(t) if forward => Locate::AtOrAfter(t),
            Start::Time(t) => Locate::AtOrBefore(t),
            Start::MostRecent(n) => {
                let last = self.store.locate(contact_id, Locate::Last).await.map_err(internal_p)?;
                return Ok(last.map(|last| Scan {
                    from: last.saturating_sub(n - 1).max(1),
                    forward,
                    descending,
                }));
            }
        };
        let from = self.store.locate(contact_id, at).await.map_err(internal_p)?;
        Ok(from.map(|from| Scan { from, forward, descending }))
    }

    fn page_token(&self, session: &Session, scan: Scan) -> String {
        let now = self.clock.now();
        let claims = Claims {
            contact_id: session.contact.id.clone(),
            participant_id: session.participant.id.clone(),
            issued: now,
            expires: now + PAGE_TOKEN_MS,
            extra: format!("{}:{}:{}", scan.from, u8::from(scan.forward), u8::from(scan.descending)),
        };
        self.tokens.mint(TokenKind::Page, &claims)
    }

    fn open_page_token(&self, session: &Session, token: &str) -> Result<Scan, ParticipantError> {
        let invalid =
            || ParticipantError::validation("The NextToken is not valid for this chat, or has expired");
        let claims = self.tokens.verify(TokenKind::Page, token, self.clock.now()).ok_or_else(invalid)?;
        if claims.participant_id != session.participant.id || claims.contact_id != session.contact.id {
            return Err(invalid());
        }
        let mut parts = claims.extra.split(':');
        let mut next = || parts.next().and_then(|p| p.parse::<u64>().ok()).ok_or_else(invalid);
        Ok(Scan { from: next()?, forward: next()? == 1, descending: next()? == 1 })
    }

    /// Turns stored items into wire items, folding receipts into their messages.
    async fn with_receipts(
        &self,
        contact_id: &str,
        page: Vec<StoredItem>,
    ) -> Result<Vec<Item>, ParticipantError> {
        let mut items: Vec<Item> = page.iter().filter_map(|i| serde_json::from_str(&i.json).ok()).collect();
        let ids: Vec<String> = items
            .iter()
            .filter(|i| matches!(i.kind.as_deref(), Some(TYPE_MESSAGE | TYPE_ATTACHMENT)))
            .filter_map(|i| i.id.clone())
            .collect();
        if ids.is_empty() {
            return Ok(items);
        }
        let receipts = self.store.receipts(contact_id, &ids).await.map_err(internal_p)?;
        let mut by_message: HashMap<String, Vec<WireReceipt>> = HashMap::new();
        for r in receipts {
            by_message.entry(r.message_id.clone()).or_default().push(wire_receipt(&r));
        }
        for item in &mut items {
            if let Some(receipts) = item.id.as_ref().and_then(|id| by_message.remove(id)) {
                let message_id = item.id.clone().unwrap_or_default();
                item.message_metadata = Some(MessageMetadata { message_id, receipts });
            }
        }
        Ok(items)
    }
}

fn wire_receipt(r: &Receipt) -> WireReceipt {
    WireReceipt {
        delivered_timestamp: r.delivered_at.map(iso_millis),
        read_timestamp: r.read_at.map(iso_millis),
        recipient_participant_id: r.recipient_id.clone(),
    }
}

/// A normalised StartPosition: `{}` and `MostRecent: 0` mean no start position (the Rust
/// SDK sends `{}` for `MostRecent(0)`); more than one member set is an error (UNCERTAIN in
/// SPEC §2.4: AWS does not document precedence).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Start {
    None,
    Id(String),
    Time(i64),
    MostRecent(u64),
}

impl Start {
    fn of(position: Option<&StartPosition>) -> Result<Start, ParticipantError> {
        let Some(p) = position else {
            return Ok(Start::None);
        };
        let mut set = Vec::new();
        if let Some(id) = &p.id {
            set.push(Start::Id(id.clone()));
        }
        if let Some(t) = &p.absolute_time {
            let ms = parse_iso(t).ok_or_else(|| {
                ParticipantError::validation(format!("StartPosition.AbsoluteTime '{t}' is not an ISO-8601 time such as 2019-11-08T02:41:28.172Z"))
            })?;
            set.push(Start::Time(ms));
        }
        if let Some(n) = p.most_recent.filter(|n| *n > 0) {
            set.push(Start::MostRecent(n.unsigned_abs()));
        }
        match set.len() {
            0 => Ok(Start::None),
            1 => Ok(set.remove(0)),
            _ => Err(ParticipantError::validation(
                "StartPosition takes only one of Id, AbsoluteTime and MostRecent",
            )),
        }
    }
}
