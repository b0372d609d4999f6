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
    /// First item (inclusive); [`LAST`] means the newest item of the contact at `pos`.
    from: u64,
    forward: bool,
    descending: bool,
    /// Which contact of the chain: 0 is the current one, 1 the one it continued from, ….
    pos: usize,
    /// Whether a BACKWARD scan goes on into past contacts (persistent chat). Not with a
    /// ContactId filter (SPEC §2.4: filters do not apply to past sessions).
    chained: bool,
}

const LAST: u64 = u64::MAX;

/// How long a NextToken stays usable.
const PAGE_TOKEN_MS: i64 = 24 * 3600 * 1000;

/// Past contacts a rehydrated chat reaches back through (SPEC §7).
const MAX_PAST_CONTACTS: usize = 100;

/// Stored items read for a page, by position in the chain, in scan order.
type Segments = Vec<(usize, Vec<StoredItem>)>;

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
        let chain = if scan.chained { self.chain_of(contact).await? } else { vec![contact.id.clone()] };
        let (segments, next) = self.read_page(&chain, scan, limit).await?;
        out.next_token = next.map(|next| self.page_token(&session, next));
        let mut items = Vec::with_capacity(limit);
        for (pos, segment) in segments {
            let mut converted = self.with_receipts(&chain[pos], segment).await?;
            if pos > 0 {
                // Past sessions' items name their contact as RelatedContactId (SPEC §2.4).
                for item in &mut converted {
                    item.related_contact_id = item.contact_id.take().or_else(|| Some(chain[pos].clone()));
                }
            }
            items.extend(converted);
        }
        if scan.descending == scan.forward {
            items.reverse();
        }
        out.transcript = items;
        Ok(out)
    }

    /// Reads `limit` items in scan order, going on into past contacts when the scan is
    /// chained; one more item is read to know where the next page starts.
    async fn read_page(
        &self,
        chain: &[String],
        scan: Scan,
        limit: usize,
    ) -> Result<(Segments, Option<Scan>), ParticipantError> {
        let mut segments: Segments = Vec::new();
        let mut remaining = limit + 1;
        let (mut pos, mut from) = (scan.pos, scan.from);
        while pos < chain.len() {
            let contact_id = &chain[pos];
            // Backward from the newest item is a read from the largest seq down: no need to
            // find that seq first (one store round trip fewer on chatjs's first call).
            let start = match from {
                LAST if scan.forward => {
                    self.store.locate(contact_id, Locate::Last).await.map_err(internal_p)?
                }
                seq => Some(seq),
            };
            if let Some(start) = start {
                let query = ItemQuery {
                    contact_id: contact_id.clone(),
                    from: start,
                    ascending: scan.forward,
                    limit: remaining,
                };
                let items = self.store.items(query).await.map_err(internal_p)?;
                remaining -= items.len().min(remaining);
                if !items.is_empty() {
                    segments.push((pos, items));
                }
            }
            if remaining == 0 || scan.forward || !scan.chained {
                break;
            }
            pos += 1;
            from = LAST;
        }
        let next = if remaining == 0 {
            take_last(&mut segments).map(|(pos, seq)| Scan { from: seq, pos, ..scan })
        } else {
            None
        };
        Ok((segments, next))
    }

    /// The current contact and the past contacts it continues from, newest first.
    async fn chain_of(&self, contact: &confab_ports::Contact) -> Result<Vec<String>, ParticipantError> {
        let mut chain = vec![contact.id.clone()];
        let mut previous = continued_from(contact);
        while let Some(id) = previous.filter(|_| chain.len() <= MAX_PAST_CONTACTS) {
            if chain.contains(&id) {
                break;
            }
            let past = self.store.contact(&id).await.map_err(internal_p)?;
            chain.push(id);
            previous = past.as_ref().and_then(continued_from);
        }
        Ok(chain)
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
        let chained = !forward && input.contact_id.is_none();
        let at = match start {
            Start::None if forward => return Ok(None),
            // From the newest item down: read_page reads it without locating it first.
            Start::None => return Ok(Some(Scan { from: LAST, forward, descending, pos: 0, chained })),
            Start::Id(id) => Locate::ItemId(id),
            Start::Time(t) if forward => Locate::AtOrAfter(t),
            Start::Time(t) => Locate::AtOrBefore(t),
            Start::MostRecent(n) => {
                let last = self.store.locate(contact_id, Locate::Last).await.map_err(internal_p)?;
                let from = |last: u64| last.saturating_sub(n - 1).max(1);
                return Ok(last.map(|last| Scan { from: from(last), forward, descending, pos: 0, chained }));
            }
        };
        let from = self.store.locate(contact_id, at).await.map_err(internal_p)?;
        Ok(from.map(|from| Scan { from, forward, descending, pos: 0, chained }))
    }

    fn page_token(&self, session: &Session, scan: Scan) -> String {
        let now = self.clock.now();
        let claims = Claims {
            contact_id: session.contact.id.clone(),
            participant_id: session.participant.id.clone(),
            issued: now,
            expires: now + PAGE_TOKEN_MS,
            extra: format!(
                "{}:{}:{}:{}:{}",
                scan.from,
                u8::from(scan.forward),
                u8::from(scan.descending),
                scan.pos,
                u8::from(scan.chained)
            ),
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
        let (from, forward, descending) = (next()?, next()? == 1, next()? == 1);
        let pos = usize::try_from(next()?).map_err(|_| invalid())?;
        Ok(Scan { from, forward, descending, pos, chained: next()? == 1 })
    }

    /// Turns stored items into wire items, folding receipts into their messages.
    async fn with_receipts(
        &self,
        contact_id: &str,
        page: Vec<StoredItem>,
    ) -> Result<Vec<Item>, ParticipantError> {
        let mut items: Vec<Item> = page.iter().filter_map(|i| serde_json::from_str(&i.json).ok()).collect();
        self.overlay_attachment_status(contact_id, &mut items).await?;
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

impl Service {
    /// An ATTACHMENT item shows its attachment's current status (a scan verdict arrives after
    /// the item was written).
    async fn overlay_attachment_status(
        &self,
        contact_id: &str,
        items: &mut [Item],
    ) -> Result<(), ParticipantError> {
        if !items.iter().any(|i| i.kind.as_deref() == Some(TYPE_ATTACHMENT)) {
            return Ok(());
        }
        let statuses: HashMap<String, &str> =
            self.attachment_statuses(contact_id).await.map_err(internal_p)?.into_iter().collect();
        for item in items.iter_mut() {
            for a in item.attachments.iter_mut().flatten() {
                if let Some(status) = statuses.get(&a.attachment_id) {
                    a.status = (*status).to_owned();
                }
            }
        }
        Ok(())
    }
}

/// Removes the one item read past the page; it is where the next page starts.
fn take_last(segments: &mut Segments) -> Option<(usize, u64)> {
    let (pos, items) = segments.last_mut()?;
    let pos = *pos;
    let extra = items.pop()?;
    if items.is_empty() {
        segments.pop();
    }
    Some((pos, extra.seq))
}

fn continued_from(contact: &confab_ports::Contact) -> Option<String> {
    contact.details["ContinuedFromContactId"].as_str().map(str::to_owned)
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
