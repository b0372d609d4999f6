//! Attachments (SPEC §2.6–2.8): what is kept about each one, the limits, and the way bytes
//! come in and go out. The three operations are in `participant/`; the upload and download
//! URLs confab serves itself (embedded blobs) are `upload.rs`; scanning and the sweeper of
//! never-completed uploads are `scan.rs` and `sweep.rs`.

mod scan;
mod sweep;
mod upload;

pub(crate) use scan::attachment_item;
pub use scan::ScannerConfig;
pub use upload::{Download, UploadError};

use crate::Service;
use confab_ports::{Millis, StoreError};
use serde::{Deserialize, Serialize};

/// Records of kind `attachment`, keyed `<contact id>/<attachment id>`.
pub(crate) const RECORD: &str = "attachment";
pub(crate) const TIMER_SWEEP: &str = "attachment-sweep";

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttachmentsConfig {
    /// Largest file accepted (20 MB).
    pub max_bytes: i64,
    /// Attachments per chat (ServiceQuotaExceededException beyond).
    pub max_per_chat: usize,
    /// File name extensions accepted, lower case, without the dot.
    pub allowed_extensions: Vec<String>,
    /// How long an upload URL works.
    pub upload_url_secs: i64,
    /// Download URL lifetime when GetAttachment gives no UrlExpiryInSeconds (UNCERTAIN in
    /// SPEC §2.8; its suggestion, 300 s).
    pub download_url_secs: i64,
    /// An upload not completed this long after its URL expired is removed, bytes and all.
    pub orphan_after_secs: i64,
    /// Optional malware scanner; without one, attachments are APPROVED at completion.
    pub scanner: Option<ScannerConfig>,
}

impl Default for AttachmentsConfig {
    fn default() -> AttachmentsConfig {
        AttachmentsConfig {
            max_bytes: 20 * 1024 * 1024,
            max_per_chat: 35,
            allowed_extensions: [
                "csv", "doc", "docx", "heic", "jfif", "jpeg", "jpg", "mov", "mp4", "pdf", "png", "ppt",
                "pptx", "rtf", "txt", "wav", "xls", "xlsx",
            ]
            .map(str::to_owned)
            .to_vec(),
            upload_url_secs: 300,
            download_url_secs: 300,
            orphan_after_secs: 3600,
            scanner: None,
        }
    }
}

/// Where an attachment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum Stage {
    /// URL handed out, bytes not here yet.
    AwaitingBytes,
    /// Bytes stored, CompleteAttachmentUpload not called yet.
    Uploaded,
    /// Completed and being scanned.
    InProgress,
    Approved,
    Rejected,
}

impl Stage {
    /// The Status shown on ATTACHMENT items.
    pub(crate) fn status(self) -> &'static str {
        match self {
            Stage::Approved => "APPROVED",
            Stage::Rejected => "REJECTED",
            _ => "IN_PROGRESS",
        }
    }
}

/// What confab keeps about one attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Attachment {
    pub id: String,
    pub contact_id: String,
    pub participant_id: String,
    pub display_name: String,
    pub role: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub stage: Stage,
    pub created_at: Millis,
    /// The ATTACHMENT item announcing it, once completed.
    pub item_id: Option<String>,
}

impl Attachment {
    pub(crate) fn key(&self) -> String {
        record_key(&self.contact_id, &self.id)
    }

    pub(crate) fn blob_key(&self) -> String {
        format!("attachments/{}/{}", self.contact_id, self.id)
    }

    pub(crate) fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub(crate) fn record_key(contact_id: &str, attachment_id: &str) -> String {
    format!("{contact_id}/{attachment_id}")
}

impl Service {
    /// An attachment of a contact, with the exact record text (for compare-and-set).
    pub(crate) async fn attachment(
        &self,
        contact_id: &str,
        id: &str,
    ) -> Result<Option<(Attachment, String)>, StoreError> {
        let text = self.store.record(RECORD, &record_key(contact_id, id)).await?;
        Ok(text.and_then(|t| serde_json::from_str(&t).ok().map(|a| (a, t))))
    }

    /// Current statuses of a contact's attachments, by id (GetTranscript shows the latest).
    pub(crate) async fn attachment_statuses(
        &self,
        contact_id: &str,
    ) -> Result<Vec<(String, &'static str)>, StoreError> {
        let records = self.store.records(RECORD, &format!("{contact_id}/"), 1_000).await?;
        Ok(records
            .into_iter()
            .filter_map(|(_, text)| serde_json::from_str::<Attachment>(&text).ok())
            .map(|a| (a.id, a.stage.status()))
            .collect())
    }
}
