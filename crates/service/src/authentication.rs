//! Customer authentication sessions (the Authenticate Customer block, SPEC §2.10–2.11).
//! A session is a record (kind `auth-session`, key: its 36-character id) moved from state
//! to state by compare-and-set; every change the customer should see is an event item in
//! the chat whose Content is `{"SessionId":"…"}`. Two durable timers per session: the
//! GetAuthenticationUrl window (`authentication.expired` when no URL was asked for in
//! time) and the sign-in timeout (`authentication.timeout` when the provider's answer,
//! UpdateParticipantAuthentication, never came).
//!
//! UNCERTAIN (SPEC §3.3): AWS does not say whether these events stay in the transcript;
//! confab keeps them, so a client that reconnects inside the window still finds the
//! session id with GetTranscript.

use crate::lifecycle::timer_key;
use crate::{items, Service};
use confab_ports::{Batch, Check, Committed, Contact, Millis, RecordWrite, StoreError, Timer};
use confab_wire::auth::{event, SessionContent};
use serde::{Deserialize, Serialize};

pub(crate) const KIND_SESSION: &str = "auth-session";
pub(crate) const TIMER_WINDOW: &str = "auth-window";
pub(crate) const TIMER_TIMEOUT: &str = "auth-timeout";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum State {
    Initiated,
    /// GetAuthenticationUrl answered: the customer is signing in.
    UrlIssued,
    Cancelled,
    Expired,
    TimedOut,
    Succeeded,
    Failed,
}

impl State {
    pub(crate) fn is_open(self) -> bool {
        matches!(self, State::Initiated | State::UrlIssued)
    }

    pub(crate) fn describe(self) -> &'static str {
        match self {
            State::Initiated => "waiting for GetAuthenticationUrl",
            State::UrlIssued => "waiting for the identity provider",
            State::Cancelled => "cancelled",
            State::Expired => "expired",
            State::TimedOut => "timed out",
            State::Succeeded => "completed",
            State::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuthSession {
    pub contact_id: String,
    pub instance_id: String,
    /// The customer the session authenticates.
    pub participant_id: String,
    pub initiated_at: Millis,
    pub state: State,
}

/// A session and its stored text (for compare-and-set).
pub(crate) struct Found {
    pub session: AuthSession,
    pub raw: String,
}

pub(crate) fn timer_keys(session_id: &str) -> [String; 2] {
    [timer_key(TIMER_WINDOW, session_id), timer_key(TIMER_TIMEOUT, session_id)]
}

fn content(session_id: &str) -> String {
    serde_json::to_string(&SessionContent { session_id: session_id.to_owned() }).unwrap_or_default()
}

impl Service {
    pub(crate) async fn auth_session(&self, id: &str) -> Result<Option<Found>, StoreError> {
        let Some(raw) = self.store.record(KIND_SESSION, id).await? else {
            return Ok(None);
        };
        let session =
            serde_json::from_str(&raw).map_err(|e| StoreError::Backend(format!("auth session: {e}")))?;
        Ok(Some(Found { session, raw }))
    }

    /// Opens a session for the contact's customer: the record, both timers and
    /// `authentication.initiated`, in one batch.
    pub(crate) async fn open_auth_session(
        &self,
        contact: &Contact,
        customer_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let settings = &self.config.flow_blocks.authentication;
        let id = uuid::Uuid::new_v4().to_string();
        let now = self.clock.now();
        let session = AuthSession {
            contact_id: contact.id.clone(),
            instance_id: contact.instance_id.clone(),
            participant_id: customer_id.to_owned(),
            initiated_at: now,
            state: State::Initiated,
        };
        let mut batch = Batch::new(contact.id.clone());
        batch.checks.push(Check::ContactActive);
        batch.checks.push(Check::ParticipantActive(customer_id.to_owned()));
        let text = serde_json::to_string(&session).unwrap_or_default();
        batch.records.push(RecordWrite::set(KIND_SESSION, id.clone(), text));
        let [window, timeout] = timer_keys(&id);
        let dues = [
            (window, TIMER_WINDOW, settings.url_window_secs),
            (timeout, TIMER_TIMEOUT, settings.timeout_secs),
        ];
        for (key, kind, secs) in dues {
            let due = now + secs.max(1) * 1000;
            batch.set_timers.push(Timer { key, contact_id: contact.id.clone(), due, kind: kind.into() });
        }
        if self.commit_auth_event(contact, batch, &id, event::INITIATED).await? {
            self.wake_timers();
            return Ok(Some(id));
        }
        Ok(None)
    }

    /// Moves an open session to `to` and tells the chat with `event_type`. False when the
    /// session changed meanwhile or the chat has ended.
    pub(crate) async fn close_auth_session(
        &self,
        contact: &Contact,
        session_id: &str,
        found: Found,
        to: State,
        event_type: &str,
    ) -> Result<bool, StoreError> {
        let mut session = found.session;
        session.state = to;
        let mut batch = Batch::new(contact.id.clone());
        batch.checks.push(Check::ContactActive);
        batch.checks.push(Check::RecordIs {
            kind: KIND_SESSION.into(),
            key: session_id.to_owned(),
            value: Some(found.raw),
        });
        let text = serde_json::to_string(&session).unwrap_or_default();
        batch.records.push(RecordWrite::set(KIND_SESSION, session_id.to_owned(), text));
        batch.cancel_timers.extend(timer_keys(session_id));
        self.commit_auth_event(contact, batch, session_id, event_type).await
    }

    /// Adds the event to the batch, commits, and pushes it. False when a check failed.
    async fn commit_auth_event(
        &self,
        contact: &Contact,
        mut batch: Batch,
        session_id: &str,
        event_type: &str,
    ) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let mut item = items::system_event(&contact.id, event_type, now);
        item.content = Some(content(session_id));
        batch.items.push(items::to_new(&item, now));
        match self.store.commit(batch).await {
            Ok(Committed::Applied { seqs }) => {
                self.push_committed(contact, vec![item], &seqs).await;
                Ok(true)
            }
            Ok(Committed::Replayed { .. }) | Err(StoreError::CheckFailed(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// A session timer fired (the chat is still active): the URL window closed with no URL
    /// asked for, or the sign-in was never reported.
    pub(crate) async fn fire_auth_timer(&self, contact: &Contact, timer: &Timer) -> Result<(), StoreError> {
        let Some(session_id) = timer.key.strip_prefix(&format!("{}:", timer.kind)) else {
            return Ok(());
        };
        let Some(found) = self.auth_session(session_id).await? else {
            return Ok(());
        };
        let next = match (timer.kind.as_str(), found.session.state) {
            (TIMER_WINDOW, State::Initiated) => Some((State::Expired, event::EXPIRED)),
            (TIMER_TIMEOUT, state) if state.is_open() => Some((State::TimedOut, event::TIMEOUT)),
            _ => None,
        };
        if let Some((to, event_type)) = next {
            self.close_auth_session(contact, session_id, found, to, event_type).await?;
        }
        Ok(())
    }
}

/// What every authentication operation answers when no provider is configured.
pub(crate) const NOT_CONFIGURED: &str = "Customer authentication is not configured on this server: \
set authorization_endpoint and client_id in [service.flow_blocks.authentication]";
