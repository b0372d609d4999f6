//! Chat timers (SPEC §5.8): idle and auto-disconnect timers per participant role, set by
//! UpdateParticipantRoleConfig (`control/update_participant_role_config.rs`).
//!
//! State, all durable (so timers survive a restart):
//! - the contact's timers record: the configuration as last updated, and the configuration
//!   applied when an agent last connected (a change while agent and customer are connected
//!   is stored but applied only when a new agent connects);
//! - per armed participant, an idle record `{since, idle}`: when they were last active and
//!   whether they are idle now. Appends compare-and-set it (see `hooks.rs`), so a message
//!   racing a firing timer either resets the timer or sees the participant idle;
//! - one row in the store's timers table per running timer (`chat-idle:<participant>` or
//!   `chat-autodisconnect:<participant>`). Its due time is derived from the idle record, so a
//!   row that fires late or early is simply re-armed (`fire.rs`).
//!
//! Timers run only while the customer and at least one agent are connected. AWS counts a
//! custom participant (a bot added with CreateParticipant) like an agent here
//! ("agent/custom participant" in the AWS guide); confab does too, with the AGENT settings
//! (UNCERTAIN: AWS does not say which role's settings a custom participant gets).

mod fire;

pub(crate) use fire::is_chat_timer;

use crate::hooks::{idle_key, timers_key, Live, RECORD};
use crate::{items, Service};
use confab_ports::{Batch, Check, Millis, Participant, RecordWrite, Role, StoreError, Timer};
use confab_wire::item::{Item, TYPE_ATTACHMENT, TYPE_EVENT, TYPE_MESSAGE};
use confab_wire::timers::event;
use serde::{Deserialize, Serialize};

pub(crate) const TIMER_IDLE: &str = "chat-idle";
pub(crate) const TIMER_DISCONNECT: &str = "chat-autodisconnect";

const MINUTE_MS: Millis = 60_000;

/// The two timers of one role, in minutes (None: unset).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RoleTimers {
    pub idle: Option<i64>,
    pub disconnect: Option<i64>,
}

impl RoleTimers {
    fn is_empty(self) -> bool {
        self.idle.is_none() && self.disconnect.is_none()
    }

    /// When the auto-disconnect timer of someone active at `since` fires: it starts once they
    /// are idle when an idle timer is set, at once otherwise.
    fn disconnect_due(self, since: Millis) -> Option<Millis> {
        let d = self.disconnect?;
        Some(since + self.idle.unwrap_or(0) * MINUTE_MS + d * MINUTE_MS)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TimerConfig {
    pub customer: RoleTimers,
    pub agent: RoleTimers,
}

impl TimerConfig {
    /// The settings a participant's timers follow; None for roles without timers.
    pub(crate) fn for_role(&self, role: Role) -> Option<RoleTimers> {
        match role {
            Role::Customer => Some(self.customer),
            Role::Agent | Role::CustomBot => Some(self.agent),
            Role::Supervisor | Role::System => None,
        }
    }

    fn for_role_name(&self, role: Option<&str>) -> Option<RoleTimers> {
        self.for_role(Role::parse(role?)?)
    }
}

/// The contact's timers record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TimersRecord {
    pub config: TimerConfig,
    pub applied: Option<TimerConfig>,
}

/// A participant whose timers are armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdleState {
    /// Last message or attachment (or when the timers were armed).
    pub since: Millis,
    pub idle: bool,
}

impl IdleState {
    fn to_json(self) -> String {
        serde_json::to_string(&self).unwrap_or_default()
    }
}

pub(crate) fn idle_timer_key(participant_id: &str) -> String {
    format!("{TIMER_IDLE}:{participant_id}")
}

pub(crate) fn disconnect_timer_key(participant_id: &str) -> String {
    format!("{TIMER_DISCONNECT}:{participant_id}")
}

/// Sets the first running timer of someone active at `since` (and cancels the other).
fn arm(batch: &mut Batch, participant_id: &str, timers: RoleTimers, since: Millis) {
    let (idle, disconnect) = (idle_timer_key(participant_id), disconnect_timer_key(participant_id));
    let timer = |key: String, kind: &str, due: Millis| Timer {
        key,
        contact_id: batch.contact_id.clone(),
        due,
        kind: kind.to_owned(),
    };
    match (timers.idle, timers.disconnect_due(since)) {
        (Some(minutes), _) => {
            batch.set_timers.push(timer(idle, TIMER_IDLE, since + minutes * MINUTE_MS));
            batch.cancel_timers.push(disconnect);
        }
        (None, Some(due)) => {
            batch.set_timers.push(timer(disconnect, TIMER_DISCONNECT, due));
            batch.cancel_timers.push(idle);
        }
        (None, None) => batch.cancel_timers.extend([idle, disconnect]),
    }
}

/// What resetting timers added to an append.
pub(crate) struct Reset {
    pub touched: bool,
    /// participant.returned for those who were idle.
    pub returned: Vec<Item>,
}

/// Adds to an append the reset of the timers of everyone who sent a message or an
/// attachment in it (SPEC §5.8: "any message resets that participant's timers"; the AWS
/// guide adds attachments).
pub(crate) fn reset_for(live: &Live, items: &[Item], now: Millis, batch: &mut Batch) -> Reset {
    let mut reset = Reset { touched: false, returned: Vec::new() };
    let Some(applied) = live.timers.as_ref().and_then(|t| t.applied) else {
        return reset;
    };
    let mut seen = Vec::new();
    for item in items {
        if !matches!(item.kind.as_deref(), Some(TYPE_MESSAGE | TYPE_ATTACHMENT)) {
            continue;
        }
        let Some(p) = item.participant_id.as_deref().filter(|p| !seen.contains(p)) else {
            continue;
        };
        let (Some((state, raw)), Some(timers)) =
            (live.idle.get(p), applied.for_role_name(item.participant_role.as_deref()))
        else {
            continue;
        };
        seen.push(p);
        let key = idle_key(&batch.contact_id, p);
        batch.checks.push(Check::RecordIs {
            kind: RECORD.into(),
            key: key.clone(),
            value: Some(raw.clone()),
        });
        batch.records.push(RecordWrite::set(RECORD, key, IdleState { since: now, idle: false }.to_json()));
        arm(batch, p, timers, now);
        reset.touched = true;
        if state.idle {
            reset.returned.push(returned_event(item, now));
        }
    }
    reset
}

/// participant.returned for the sender of `item`.
fn returned_event(item: &Item, now: Millis) -> Item {
    Item {
        absolute_time: Some(confab_wire::time::iso_millis(now)),
        content_type: Some(event::PARTICIPANT_RETURNED.to_owned()),
        id: Some(items::item_id()),
        kind: Some(TYPE_EVENT.to_owned()),
        participant_id: item.participant_id.clone(),
        display_name: item.display_name.clone(),
        participant_role: item.participant_role.clone(),
        contact_id: item.contact_id.clone(),
        ..Item::default()
    }
}

/// Who the timers run for: the customer and the agents (and custom participants), when the
/// customer and at least one of the others are connected and still there.
fn timed(participants: &[Participant]) -> Vec<&Participant> {
    let here = |p: &&Participant| p.is_active() && p.connected_at.is_some();
    let customer = participants.iter().filter(here).any(|p| p.role == Role::Customer);
    let agents = participants.iter().filter(here).any(|p| matches!(p.role, Role::Agent | Role::CustomBot));
    if !(customer && agents) {
        return Vec::new();
    }
    participants
        .iter()
        .filter(here)
        .filter(|p| matches!(p.role, Role::Customer | Role::Agent | Role::CustomBot))
        .collect()
}

impl Service {
    /// A participant connected for the first time: when the customer and an agent are now
    /// both connected, the stored configuration is applied and everyone's timers start from
    /// now. This is also how a configuration changed during the chat takes effect: when a new
    /// agent connects. Someone idle at that moment starts afresh, without a
    /// participant.returned (UNCERTAIN: AWS does not say; a new agent is not their activity).
    pub(crate) async fn start_chat_timers(&self, contact_id: &str) -> Result<(), StoreError> {
        for _ in 0..3 {
            let live = Live::read(self.store.as_ref(), contact_id).await?;
            let Some(record) = live.timers.clone() else {
                return Ok(());
            };
            let participants = self.store.participants(contact_id).await?;
            let timed = timed(&participants);
            if timed.is_empty() {
                return Ok(());
            }
            let now = self.clock.now();
            let mut batch = Batch::new(contact_id.to_owned());
            batch.checks = vec![
                Check::ContactActive,
                Check::RecordIs {
                    kind: RECORD.into(),
                    key: timers_key(contact_id),
                    value: live.timers_raw.clone(),
                },
            ];
            let applied = TimersRecord { applied: Some(record.config), ..record };
            let json = serde_json::to_string(&applied).unwrap_or_default();
            batch.records.push(RecordWrite::set(RECORD, timers_key(contact_id), json));
            for p in timed {
                let timers = applied.config.for_role(p.role).unwrap_or_default();
                let key = idle_key(contact_id, &p.id);
                if timers.is_empty() {
                    batch.records.push(RecordWrite::delete(RECORD, key));
                } else {
                    let state = IdleState { since: now, idle: false };
                    batch.records.push(RecordWrite::set(RECORD, key, state.to_json()));
                }
                arm(&mut batch, &p.id, timers, now);
            }
            match self.store.commit(batch).await {
                Ok(_) => {
                    self.wake_timers();
                    return Ok(());
                }
                Err(StoreError::CheckFailed(Check::RecordIs { .. })) => continue,
                Err(StoreError::CheckFailed(_)) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(idle: Option<i64>, disconnect: Option<i64>) -> RoleTimers {
        RoleTimers { idle, disconnect }
    }

    #[test]
    fn auto_disconnect_starts_after_idle_when_both_are_set() {
        assert_eq!(both(Some(2), Some(5)).disconnect_due(1_000), Some(1_000 + 7 * MINUTE_MS));
        assert_eq!(both(None, Some(5)).disconnect_due(1_000), Some(1_000 + 5 * MINUTE_MS));
        assert_eq!(both(Some(2), None).disconnect_due(1_000), None);
    }

    #[test]
    fn arming_sets_the_first_timer_and_cancels_the_other() {
        let mut batch = Batch::new("c");
        arm(&mut batch, "p", both(Some(2), Some(5)), 0);
        assert_eq!(batch.set_timers.len(), 1);
        assert_eq!((batch.set_timers[0].kind.as_str(), batch.set_timers[0].due), (TIMER_IDLE, 2 * MINUTE_MS));
        assert_eq!(batch.cancel_timers, vec![disconnect_timer_key("p")]);
        let mut batch = Batch::new("c");
        arm(&mut batch, "p", both(None, Some(3)), 0);
        assert_eq!(batch.set_timers[0].kind, TIMER_DISCONNECT);
        assert_eq!(batch.cancel_timers, vec![idle_timer_key("p")]);
        let mut batch = Batch::new("c");
        arm(&mut batch, "p", RoleTimers::default(), 0);
        assert!(batch.set_timers.is_empty() && batch.cancel_timers.len() == 2);
    }

    #[test]
    fn bots_follow_the_agent_settings_and_supervisors_have_none() {
        let config = TimerConfig { customer: both(Some(2), None), agent: both(None, Some(4)) };
        assert_eq!(config.for_role(Role::CustomBot), Some(config.agent));
        assert_eq!(config.for_role(Role::Customer), Some(config.customer));
        assert_eq!(config.for_role(Role::Supervisor), None);
    }
}
