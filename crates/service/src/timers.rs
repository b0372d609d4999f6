//! The timer loop: one task fires due durable timers (chat duration, customer connect
//! deadline), sleeping on the Clock port so tests move time instead of waiting.

use crate::lifecycle::{reason, TIMER_CONNECT, TIMER_EXPIRY};
use crate::Service;
use confab_ports::{Batch, Timer};
use std::sync::Arc;

/// How long the loop sleeps when no timer is set (it is woken earlier when one is).
const IDLE_MS: i64 = 60_000;

impl Service {
    /// Runs until the process ends.
    pub async fn run_timers(self: Arc<Service>) {
        loop {
            let now = self.clock.now();
            // Leased for 30 s: in a cluster another node takes over if this one dies mid-way.
            match self.store.claim_timers(now, 256, now + 30_000).await {
                Ok(due) => {
                    for timer in due {
                        if let Err(e) = self.fire(&timer).await {
                            tracing::warn!(key = %timer.key, error = %e, "timer failed; will retry");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "reading due timers failed"),
            }
            let next = self.store.next_timer().await.ok().flatten().unwrap_or(now + IDLE_MS);
            let next = next.min(now + IDLE_MS);
            tokio::select! {
                () = self.clock.sleep_until(next.max(now + 1)) => {}
                () = self.timers_changed.notified() => {}
            }
        }
    }

    async fn fire(&self, timer: &Timer) -> Result<(), confab_ports::StoreError> {
        if crate::chat_timers::is_chat_timer(&timer.kind) {
            // Idle and auto-disconnect timers decide themselves whether they are done.
            return self.fire_chat_timer(timer).await;
        }
        if timer.kind == crate::attachments::TIMER_SWEEP {
            // Attachments outlive their chat's end: handled on their own.
            return self.sweep_and_clear(timer).await;
        }
        let contact = self.store.contact(&timer.contact_id).await?;
        let live = contact.filter(|c| c.is_active());
        match (timer.kind.as_str(), live) {
            (TIMER_EXPIRY, Some(contact)) => {
                self.end_chat(&contact, reason::EXPIRED).await?;
            }
            (TIMER_CONNECT, Some(contact)) => {
                let customer_connected = self
                    .store
                    .participants(&contact.id)
                    .await?
                    .iter()
                    .any(|p| p.role == confab_ports::Role::Customer && p.connected_at.is_some());
                if !customer_connected {
                    self.end_chat(&contact, reason::OTHER).await?;
                }
            }
            (crate::authentication::TIMER_WINDOW | crate::authentication::TIMER_TIMEOUT, Some(contact)) => {
                self.fire_auth_timer(&contact, timer).await?;
            }
            _ => {}
        }
        // Whatever happened, this timer is done (end_chat already cancelled it when it ran).
        let mut batch = Batch::new(timer.contact_id.clone());
        batch.cancel_timers.push(timer.key.clone());
        self.store.commit(batch).await?;
        Ok(())
    }
}

impl Service {
    async fn sweep_and_clear(&self, timer: &Timer) -> Result<(), confab_ports::StoreError> {
        self.sweep_attachment(timer).await?;
        // The sweep may have re-armed this key (a scan retried): only clear a timer still due.
        if self
            .store
            .due_timers(self.clock.now(), 10_000)
            .await?
            .iter()
            .any(|t| t.key == timer.key && t.due == timer.due)
        {
            let mut batch = Batch::new(timer.contact_id.clone());
            batch.cancel_timers.push(timer.key.clone());
            self.store.commit(batch).await?;
        }
        Ok(())
    }
}
