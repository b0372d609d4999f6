//! Inputs and outputs of the attachment operations (participant API, SPEC §2.6–2.8).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StartAttachmentUploadInput {
    pub content_type: String,
    pub attachment_size_in_bytes: i64,
    pub attachment_name: String,
    pub client_token: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartAttachmentUploadOutput {
    pub attachment_id: String,
    pub upload_metadata: UploadMetadata,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UploadMetadata {
    pub url: String,
    pub url_expiry: String,
    pub headers_to_include: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CompleteAttachmentUploadInput {
    pub attachment_ids: Vec<String>,
    pub client_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GetAttachmentInput {
    pub attachment_id: String,
    pub url_expiry_in_seconds: Option<i64>,
    pub url_content_disposition: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAttachmentOutput {
    pub url: String,
    pub url_expiry: String,
    pub attachment_size_in_bytes: i64,
}
