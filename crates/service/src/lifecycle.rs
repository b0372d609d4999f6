//! The contact lifecycle shared by several operations: who a token belongs to, a
//! participant leaving, and the end of a chat.

use crate::hooks::{Live, LiveRecords};
use crate::items;
use crate::tokens::{Claims, TokenKind};
use crate::{internal, Service};
use confab_ports::{Batch, Check, Committed, Contact, Participant, Role, StoreError};
use confab_wire::item::{event, Item};
use confab_wire::ParticipantError;

/// The participant and contact behind a valid token.
pub struct Session {
    pub claims: Claims,
    pub participant: Participant,
    pub contact: Contact,
    /// The contact's live-state records (streaming, chat timers), read with the participant:
    /// an append by this participant starts from them (`Service::commit_sent`).
    pub(crate) live_records: LiveRecords,
}

/// Why a chat ended, as DescribeContact's DisconnectReason shows it.
pub(crate) mod reason {
    pub const CUSTOMER: &str = "CUSTOMER_DISCONNECT";
    pub const AGENT: &str = "AGENT_DISCONNECT";
    /// StopContact. UNCERTAIN (SPEC §5.3): AWS documents API for contacts stopped this way.
    pub const API: &str = "API";
    /// The chat duration ran out. UNCERTAIN: AWS documents EXPIRED for contacts that time out.
    pub const EXPIRED: &str = "EXPIRED";
    /// Nobody connected in time (SPEC §2.1 suggests OTHER).
    pub const OTHER: &str = "OTHER";
    /// Auto-disconnected by a chat timer (SPEC §5.8). UNCERTAIN: the name AWS records.
    pub const IDLE: &str = "IDLE_DISCONNECT";
}

pub(crate) fn timer_key(kind: &str, contact_id: &str) -> String {
    format!("{kind}:{contact_id}")
}

pub(crate) const TIMER_EXPIRY: &str = "chat-expiry";
pub(crate) const TIMER_CONNECT: &str = "customer-connect";

impl Service {
    /// Checks a token of `kind` and that its participant and contact are still active;
    /// anything else is the one 403 "Access denied".
    pub async fn authenticate(
        &self,
        kind: TokenKind,
        token: Option<&str>,
    ) -> Result<Session, ParticipantError> {
        let claims = token
            .and_then(|t| self.tokens.verify(kind, t, self.clock.now()))
            .ok_or_else(ParticipantError::access_denied)?;
        let session = self.session_of(claims).await?;
        if !session.participant.is_active() || !session.contact.is_active() {
            return Err(ParticipantError::access_denied());
        }
        Ok(session)
    }

    /// Like `authenticate` but for a participant that may have left (idempotent replays).
    pub(crate) async fn session_of(&self, claims: Claims) -> Result<Session, ParticipantError> {
        let prefix = Live::prefix(&claims.contact_id);
        let found = self
            .store
            .participant_in_with_records(&claims.participant_id, &claims.contact_id, Live::range(&prefix))
            .await
            .map_err(internal_p)?;
        let read = found.ok_or_else(ParticipantError::access_denied)?;
        Ok(Session {
            claims,
            participant: read.participant,
            contact: read.contact,
            live_records: read.records,
        })
    }

    /// Adds the end of a chat to a batch: chat.ended, the contact marked ended, its timers
    /// cancelled.
    pub(crate) fn add_chat_end(
        &self,
        contact: &Contact,
        why: &str,
        batch: &mut Batch,
        items: &mut Vec<Item>,
    ) {
        let now = self.clock.now();
        let ended = items::system_event(&contact.id, event::CHAT_ENDED, now);
        batch.items.push(items::to_new(&ended, now));
        items.push(ended);
        let mut contact = contact.clone();
        contact.ended_at = Some(now);
        contact.disconnect_reason = Some(why.to_owned());
        batch.contact = Some(contact);
        batch.cancel_timers.push(timer_key(TIMER_EXPIRY, &batch.contact_id));
        batch.cancel_timers.push(timer_key(TIMER_CONNECT, &batch.contact_id));
    }

    /// Ends a chat that is still active. Returns false when it had already ended.
    pub(crate) async fn end_chat(&self, contact: &Contact, why: &str) -> Result<bool, StoreError> {
        let mut batch = Batch::new(contact.id.clone());
        batch.checks.push(Check::ContactActive);
        let mut items = Vec::new();
        self.add_chat_end(contact, why, &mut batch, &mut items);
        match self.store.commit(batch).await {
            Ok(Committed::Applied { seqs }) => {
                self.push_committed(contact, items, &seqs).await;
                self.publish_close(&contact.id, None, seqs.last().copied().unwrap_or(0)).await;
                Ok(true)
            }
            Ok(Committed::Replayed { .. }) | Err(StoreError::CheckFailed(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A participant leaves (SPEC §2.5): participant.left for them, recorded and pushed to
    /// everyone still there. When the customer leaves the chat ends (there is no disconnect
    /// flow to keep it alive here), and with `DisconnectOnCustomerExit: ["AGENT"]` the agents
    /// are disconnected first: each gets participant.left, after the customer's and before
    /// chat.ended (UNCERTAIN: AWS documents no order; this is the order in which it happens).
    /// The chat also ends when the last agent leaves.
    pub(crate) async fn leave(
        &self,
        session: &Session,
        idempotency: Option<(String, String)>,
    ) -> Result<Committed, ParticipantError> {
        let (me, contact) = (&session.participant, &session.contact);
        let everyone = self.store.participants(&contact.id).await.map_err(internal_p)?;
        let active: Vec<&Participant> = everyone.iter().filter(|p| p.is_active() && p.id != me.id).collect();
        let mut leavers = vec![me.clone()];
        if me.role == Role::Customer && disconnects_agents(contact) {
            leavers.extend(active.iter().filter(|p| p.role == Role::Agent).map(|p| (*p).clone()));
        }
        let ends = match me.role {
            Role::Customer => Some(reason::CUSTOMER),
            Role::Agent if !active.iter().any(|p| p.role == Role::Agent) => Some(reason::AGENT),
            _ => None,
        };
        let mut batch = Batch::new(contact.id.clone());
        batch.checks = vec![Check::ContactActive, Check::ParticipantActive(me.id.clone())];
        batch.idempotency = idempotency;
        self.depart(contact, leavers, ends, batch, None).await.map_err(|e| match e {
            StoreError::CheckFailed(_) => ParticipantError::access_denied(),
            other => ParticipantError::Internal(internal(other)),
        })
    }

    /// Participants leave in one batch (which may carry the caller's checks): participant.left
    /// for each, in order, then chat.ended when `ends` gives a reason. After the commit,
    /// `first` (a pushed-only event, already queued for streaming in the batch) is pushed,
    /// then the items, then the sockets of the leavers (or everyone's) are closed.
    pub(crate) async fn depart(
        &self,
        contact: &Contact,
        leavers: Vec<Participant>,
        ends: Option<&str>,
        mut batch: Batch,
        first: Option<Item>,
    ) -> Result<Committed, StoreError> {
        let now = self.clock.now();
        let mut items = Vec::new();
        let mut leaver_ids = Vec::new();
        for mut p in leavers {
            let left = items::event(&p, event::PARTICIPANT_LEFT, now);
            batch.items.push(items::to_new(&left, now));
            items.push(left);
            p.left_at = Some(now);
            leaver_ids.push(p.id.clone());
            batch.participants.push(p);
        }
        if let Some(why) = ends {
            self.add_chat_end(contact, why, &mut batch, &mut items);
        }
        let committed = self.store.commit(batch).await?;
        if let Committed::Applied { seqs } = &committed {
            if let Some(first) = &first {
                self.publish_item(&contact.id, 0, items::pushed_json(first, contact)).await;
            }
            self.push_committed(contact, items, seqs).await;
            let last = seqs.last().copied().unwrap_or(0);
            if ends.is_some() {
                self.publish_close(&contact.id, None, last).await;
            } else {
                for id in leaver_ids {
                    self.publish_close(&contact.id, Some(id), last).await;
                }
            }
        }
        Ok(committed)
    }
}

fn disconnects_agents(contact: &Contact) -> bool {
    contact.details["DisconnectOnCustomerExit"]
        .as_array()
        .is_some_and(|roles| roles.iter().any(|r| r == "AGENT"))
}

pub(crate) fn internal_p(e: StoreError) -> ParticipantError {
    ParticipantError::Internal(internal(e))
}
