//! A chat timer's row came due: mark the participant idle, or disconnect everyone but the
//! customer. Each decision is made against the participant's idle record and committed
//! with a compare-and-set on it, so a message that arrived meanwhile wins.

use super::{
    disconnect_timer_key, idle_timer_key, timed, IdleState, RoleTimers, TIMER_DISCONNECT, TIMER_IDLE,
};
use crate::hooks::{idle_key, Live, RECORD};
use crate::lifecycle::reason;
use crate::{items, Service};
use confab_ports::{Batch, Check, Contact, Participant, RecordWrite, Role, StoreError, Timer};
use confab_wire::timers::event;

pub(crate) fn is_chat_timer(kind: &str) -> bool {
    kind == TIMER_IDLE || kind == TIMER_DISCONNECT
}

/// What a due row is about, once checked against the current state.
struct Due {
    contact: Contact,
    participant: Participant,
    participants: Vec<Participant>,
    timers: RoleTimers,
    state: IdleState,
    raw: String,
    live: Live,
}

impl Service {
    pub(crate) async fn fire_chat_timer(&self, timer: &Timer) -> Result<(), StoreError> {
        let Some(due) = self.check_due(timer).await? else {
            return self.drop_chat_timer(timer).await;
        };
        let now = self.clock.now();
        let at = match timer.kind.as_str() {
            TIMER_IDLE => {
                due.timers.idle.map(|m| due.state.since + m * super::MINUTE_MS).filter(|_| !due.state.idle)
            }
            _ => due.timers.disconnect_due(due.state.since),
        };
        let Some(at) = at else {
            return self.drop_chat_timer(timer).await;
        };
        if at > now {
            // Moved by a message since this row was read, or set by an older configuration.
            let mut batch = Batch::new(timer.contact_id.clone());
            batch.set_timers.push(Timer { due: at, ..timer.clone() });
            self.store.commit(batch).await?;
            return Ok(());
        }
        match timer.kind.as_str() {
            TIMER_IDLE => self.mark_idle(due, at).await,
            _ => self.auto_disconnect(due).await,
        }
    }

    /// The participant, contact and timer state behind a row, when the timers still run.
    async fn check_due(&self, timer: &Timer) -> Result<Option<Due>, StoreError> {
        let participant_id = timer.key.split_once(':').map_or("", |(_, p)| p);
        let Some(contact) = self.store.contact(&timer.contact_id).await?.filter(|c| c.is_active()) else {
            return Ok(None);
        };
        let participants = self.store.participants(&contact.id).await?;
        let Some(participant) = timed(&participants).into_iter().find(|p| p.id == participant_id).cloned()
        else {
            return Ok(None);
        };
        let live = Live::read(self.store.as_ref(), &contact.id).await?;
        let applied = live.timers.as_ref().and_then(|t| t.applied);
        let timers = applied.and_then(|a| a.for_role(participant.role));
        let (Some(timers), Some((state, raw))) = (timers, live.idle.get(participant_id).cloned()) else {
            return Ok(None);
        };
        Ok(Some(Due { contact, participant, participants, timers, state, raw, live }))
    }

    /// The timers of this participant no longer run (they left, the agent left, the chat
    /// ended): forget the row, and with the chat over their idle record too. A new agent
    /// connecting re-arms them. (A re-arm committed between the check and this cancel is lost
    /// until the participant's next message re-arms it: a window of one store round trip.)
    async fn drop_chat_timer(&self, timer: &Timer) -> Result<(), StoreError> {
        let participant_id = timer.key.split_once(':').map_or("", |(_, p)| p);
        let mut batch = Batch::new(timer.contact_id.clone());
        batch.cancel_timers.push(timer.key.clone());
        let contact = self.store.contact(&timer.contact_id).await?;
        if contact.is_none_or(|c| !c.is_active()) {
            batch.records.push(RecordWrite::delete(RECORD, idle_key(&timer.contact_id, participant_id)));
        }
        self.store.commit(batch).await?;
        Ok(())
    }

    /// participant.idle to everyone (not kept); the auto-disconnect timer starts if set.
    async fn mark_idle(&self, due: Due, at: i64) -> Result<(), StoreError> {
        let p = &due.participant;
        let mut batch = Batch::new(due.contact.id.clone());
        let key = idle_key(&due.contact.id, &p.id);
        batch.checks = vec![
            Check::ContactActive,
            Check::RecordIs { kind: RECORD.into(), key: key.clone(), value: Some(due.raw.clone()) },
        ];
        let idle = IdleState { since: due.state.since, idle: true };
        batch.records.push(RecordWrite::set(RECORD, key, serde_json::to_string(&idle).unwrap_or_default()));
        batch.cancel_timers.push(idle_timer_key(&p.id));
        if let Some(d) = due.timers.disconnect {
            batch.set_timers.push(Timer {
                key: disconnect_timer_key(&p.id),
                contact_id: due.contact.id.clone(),
                due: at + d * super::MINUTE_MS,
                kind: TIMER_DISCONNECT.to_owned(),
            });
        }
        let item = items::event(p, event::PARTICIPANT_IDLE, self.clock.now());
        self.queue_ephemeral(&mut batch, &due.contact, &due.live.streams, &item);
        match self.store.commit(batch).await {
            Ok(_) => {
                self.wake_streaming();
                self.publish_item(&due.contact.id, 0, items::pushed_json(&item, &due.contact)).await;
                Ok(())
            }
            // A message came in (it reset the timer), or the chat ended.
            Err(StoreError::CheckFailed(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// participant.autodisconnection, then every participant but the customer leaves, and
    /// with no agent left the chat ends (there is no disconnect flow to take over).
    async fn auto_disconnect(&self, due: Due) -> Result<(), StoreError> {
        let p = &due.participant;
        let mut batch = Batch::new(due.contact.id.clone());
        let key = idle_key(&due.contact.id, &p.id);
        batch.checks = vec![
            Check::ContactActive,
            Check::RecordIs { kind: RECORD.into(), key, value: Some(due.raw.clone()) },
        ];
        batch.cancel_timers.push(disconnect_timer_key(&p.id));
        let item = items::event(p, event::PARTICIPANT_AUTODISCONNECTION, self.clock.now());
        self.queue_ephemeral(&mut batch, &due.contact, &due.live.streams, &item);
        let leavers: Vec<Participant> =
            due.participants.iter().filter(|q| q.is_active() && q.role != Role::Customer).cloned().collect();
        match self.depart(&due.contact, leavers, Some(reason::IDLE), batch, Some(item)).await {
            Ok(_) | Err(StoreError::CheckFailed(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
