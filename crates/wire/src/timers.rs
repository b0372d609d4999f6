//! Chat timers (SPEC §5.8): UpdateParticipantRoleConfig and the events its timers push.

use serde::Deserialize;

/// Timer events: pushed to every participant (and streamed), never kept in the transcript.
pub mod event {
    pub const PARTICIPANT_IDLE: &str = "application/vnd.amazonaws.connect.event.participant.idle";
    pub const PARTICIPANT_RETURNED: &str = "application/vnd.amazonaws.connect.event.participant.returned";
    pub const PARTICIPANT_AUTODISCONNECTION: &str =
        "application/vnd.amazonaws.connect.event.participant.autodisconnection";
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct UpdateParticipantRoleConfigInput {
    pub instance_id: String,
    pub contact_id: String,
    pub channel_configuration: ChannelConfiguration,
}

/// A union; the model validator has already checked that exactly one member is set.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChannelConfiguration {
    pub chat: Option<ChatParticipantRoleConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ChatParticipantRoleConfig {
    pub participant_timer_config_list: Vec<ParticipantTimerConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ParticipantTimerConfiguration {
    /// `CUSTOMER` or `AGENT`.
    pub participant_role: String,
    /// `IDLE` or `DISCONNECT_NONCUSTOMER`.
    pub timer_type: String,
    pub timer_value: ParticipantTimerValue,
}

/// A union: `Unset` or a duration of 2–480 minutes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ParticipantTimerValue {
    pub participant_timer_action: Option<String>,
    pub participant_timer_duration_in_minutes: Option<i64>,
}
