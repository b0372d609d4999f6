//! Persistent chat (SPEC §5.1, §5.6): rehydration of a past chat's history.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PersistentChat {
    pub rehydration_type: Option<String>,
    pub source_contact_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreatePersistentContactAssociationInput {
    pub instance_id: String,
    pub initial_contact_id: String,
    pub rehydration_type: String,
    pub source_contact_id: String,
    pub client_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePersistentContactAssociationOutput {
    pub continued_from_contact_id: String,
}
