//! The optional scanner hook: a command (the bytes on its stdin; exit status 0 allows) or an
//! HTTP endpoint (the bytes POSTed; `{"allow": true}` allows). Anything else, an error or
//! no answer within the timeout (60 s, as AWS's scanner) rejects: the hook fails closed.

use super::{Attachment, Stage, RECORD, TIMER_SWEEP};
use crate::Service;
use confab_ports::{Batch, Check, RecordWrite, Timer};
use confab_wire::item::{AttachmentItem, Item, TYPE_ATTACHMENT};
use confab_wire::time::iso_millis;
use serde::Deserialize;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// A program and its arguments.
    pub command: Option<Vec<String>>,
    /// An http(s) URL.
    pub url: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
}

fn default_timeout() -> u64 {
    60
}

impl Service {
    /// Scans in the background; the verdict becomes the attachment's stage and reaches the
    /// sockets as another ATTACHMENT item with the same Id. A durable timer re-runs the scan
    /// if confab stops before the verdict.
    pub(crate) fn spawn_scan(&self, a: Attachment) {
        let Some(me) = self.me.upgrade() else { return };
        tokio::spawn(async move {
            if let Err(e) = me.scan(a).await {
                tracing::warn!(error = %e, "attachment scan not recorded; the sweep timer retries it");
            }
        });
    }

    pub(crate) fn scan_timer(&self, a: &Attachment) -> Timer {
        let secs = self.config.attachments.scanner.as_ref().map_or(60, |s| s.timeout_secs);
        let due = self.clock.now() + i64::try_from(secs).unwrap_or(60) * 1000 + 30_000;
        Timer {
            key: format!("{TIMER_SWEEP}:{}", a.key()),
            contact_id: a.contact_id.clone(),
            due,
            kind: TIMER_SWEEP.into(),
        }
    }

    pub(crate) async fn scan(&self, a: Attachment) -> Result<(), String> {
        let bytes = self.blobs.get(&a.blob_key()).await.map_err(|e| e.to_string())?.unwrap_or_default();
        let allowed = match &self.config.attachments.scanner {
            Some(scanner) => verdict(scanner, &a, bytes).await,
            None => true,
        };
        let (current, text) = self
            .attachment(&a.contact_id, &a.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("attachment gone")?;
        if current.stage != Stage::InProgress {
            return Ok(());
        }
        let done = Attachment { stage: if allowed { Stage::Approved } else { Stage::Rejected }, ..current };
        let mut batch = Batch::new(a.contact_id.clone());
        batch.checks.push(Check::RecordIs { kind: RECORD.into(), key: a.key(), value: Some(text) });
        batch.records.push(RecordWrite::set(RECORD, a.key(), done.json()));
        batch.cancel_timers.push(format!("{TIMER_SWEEP}:{}", a.key()));
        self.store.commit(batch).await.map_err(|e| e.to_string())?;
        if !allowed {
            let _ = self.blobs.delete(&a.blob_key()).await;
        }
        if let Some(contact) = self.store.contact(&a.contact_id).await.map_err(|e| e.to_string())? {
            let mut item = attachment_item(&done, self.clock.now());
            item.id = done.item_id.clone();
            self.push_ephemeral(&contact, &item).await;
        }
        Ok(())
    }
}

/// The ATTACHMENT item for an attachment at its current stage.
pub(crate) fn attachment_item(a: &Attachment, at: i64) -> Item {
    Item {
        absolute_time: Some(iso_millis(at)),
        attachments: Some(vec![AttachmentItem {
            content_type: a.content_type.clone(),
            attachment_id: a.id.clone(),
            attachment_name: a.name.clone(),
            status: a.stage.status().to_owned(),
        }]),
        id: Some(crate::items::item_id()),
        kind: Some(TYPE_ATTACHMENT.to_owned()),
        participant_id: Some(a.participant_id.clone()),
        display_name: Some(a.display_name.clone()),
        participant_role: Some(a.role.clone()),
        contact_id: Some(a.contact_id.clone()),
        ..Item::default()
    }
}

async fn verdict(scanner: &ScannerConfig, a: &Attachment, bytes: bytes::Bytes) -> bool {
    let limit = Duration::from_secs(scanner.timeout_secs);
    let asked = async {
        match (&scanner.command, &scanner.url) {
            (Some(command), _) => run_command(command, a, bytes).await,
            (None, Some(url)) => ask_url(url, a, bytes).await,
            (None, None) => Ok(true),
        }
    };
    match tokio::time::timeout(limit, asked).await {
        Ok(Ok(allowed)) => allowed,
        Ok(Err(e)) => {
            tracing::warn!(attachment = %a.id, error = %e, "scanner failed; rejecting");
            false
        }
        Err(_) => {
            tracing::warn!(attachment = %a.id, "scanner timed out; rejecting");
            false
        }
    }
}

async fn run_command(command: &[String], a: &Attachment, bytes: bytes::Bytes) -> Result<bool, String> {
    let (program, args) = command.split_first().ok_or("empty scanner command")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .env("CONFAB_ATTACHMENT_NAME", &a.name)
        .env("CONFAB_ATTACHMENT_CONTENT_TYPE", &a.content_type)
        .env("CONFAB_ATTACHMENT_SIZE", a.size.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting {program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A scanner that does not read its input is fine.
        let _ = stdin.write_all(&bytes).await;
    }
    let status = child.wait().await.map_err(|e| e.to_string())?;
    Ok(status.success())
}

async fn ask_url(url: &str, a: &Attachment, bytes: bytes::Bytes) -> Result<bool, String> {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", &a.content_type)
        .header("x-confab-attachment-name", &a.name)
        .body(bytes)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("scanner answered {}", response.status()));
    }
    let answer: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    Ok(answer["allow"].as_bool() == Some(true))
}
