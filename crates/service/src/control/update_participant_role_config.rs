//! UpdateParticipantRoleConfig (SPEC §5.8): the idle and auto-disconnect timers of the
//! CUSTOMER and AGENT roles. The model validator has checked the unions, the enums and the
//! 2–480 minute range; this checks what the model cannot say.
//!
//! A change is merged into the stored configuration: listed (role, timer) pairs are set,
//! `Unset` clears one, others keep their value (UNCERTAIN: AWS does not say whether an
//! update replaces the whole list; merging lets a flow adjust one timer). It takes effect
//! when the customer and an agent are next both connected, or, while they are, when a new
//! agent connects (as the AWS guide says).

use super::{find_contact, internal_c};
use crate::chat_timers::{RoleTimers, TimerConfig, TimersRecord};
use crate::hooks::{timers_key, Live, RECORD};
use crate::Service;
use confab_ports::{Batch, Check, RecordWrite, StoreError};
use confab_wire::participant::Empty;
use confab_wire::timers::{ParticipantTimerConfiguration, UpdateParticipantRoleConfigInput};
use confab_wire::ConnectError;

const ATTEMPTS: usize = 5;

impl Service {
    pub async fn update_participant_role_config(
        &self,
        input: UpdateParticipantRoleConfigInput,
    ) -> Result<Empty, ConnectError> {
        let list =
            input.channel_configuration.chat.map(|c| c.participant_timer_config_list).ok_or_else(|| {
                ConnectError::InvalidRequest("ChannelConfiguration.Chat is required for chat contacts".into())
            })?;
        check_unique(&list)?;
        let contact = find_contact(self, &input.instance_id, &input.contact_id).await?.ok_or_else(|| {
            ConnectError::ResourceNotFound(format!(
                "Contact '{}' does not exist in this instance",
                input.contact_id
            ))
        })?;
        if !contact.is_active() {
            return Err(ConnectError::InvalidRequest(format!("Contact '{}' has ended", contact.id)));
        }
        for _ in 0..ATTEMPTS {
            let live = Live::read(self.store.as_ref(), &contact.id).await.map_err(internal_c)?;
            let mut record = live.timers.clone().unwrap_or_default();
            merge(&mut record.config, &list);
            let mut batch = Batch::new(contact.id.clone());
            let key = timers_key(&contact.id);
            batch.checks = vec![
                Check::ContactActive,
                Check::RecordIs { kind: RECORD.into(), key: key.clone(), value: live.timers_raw },
            ];
            batch.records.push(RecordWrite::set(RECORD, key, json(&record)));
            match self.store.commit(batch).await {
                Ok(_) => return Ok(Empty {}),
                Err(StoreError::CheckFailed(Check::RecordIs { .. })) => continue,
                Err(StoreError::CheckFailed(_)) => {
                    return Err(ConnectError::InvalidRequest(format!("Contact '{}' has ended", contact.id)))
                }
                Err(e) => return Err(internal_c(e)),
            }
        }
        Err(ConnectError::InternalService("The contact's timers kept changing; try again".into()))
    }
}

fn json(record: &TimersRecord) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

/// Each (ParticipantRole, TimerType) at most once (SPEC §5.8).
fn check_unique(list: &[ParticipantTimerConfiguration]) -> Result<(), ConnectError> {
    for (i, a) in list.iter().enumerate() {
        if list[..i].iter().any(|b| b.participant_role == a.participant_role && b.timer_type == a.timer_type)
        {
            return Err(ConnectError::InvalidParameter(format!(
                "ParticipantTimerConfigList sets the {} {} timer more than once",
                a.participant_role, a.timer_type
            )));
        }
    }
    Ok(())
}

fn merge(config: &mut TimerConfig, list: &[ParticipantTimerConfiguration]) {
    for entry in list {
        let role: &mut RoleTimers = match entry.participant_role.as_str() {
            "CUSTOMER" => &mut config.customer,
            _ => &mut config.agent,
        };
        // `Unset` (the other member of the union) clears the timer.
        let minutes = entry.timer_value.participant_timer_duration_in_minutes;
        match entry.timer_type.as_str() {
            "IDLE" => role.idle = minutes,
            _ => role.disconnect = minutes,
        }
    }
}
