//! The upload and download URLs confab serves itself when the blob backend cannot presign:
//! signed (HMAC), expiring, one upload per URL, with the declared size and type enforced.

use super::{Attachment, Stage, RECORD};
use crate::tokens::{Claims, TokenKind};
use crate::{RequestContext, Service};
use bytes::Bytes;
use confab_ports::{Batch, Check, Presign, RecordWrite, StoreError};
use std::collections::BTreeMap;

/// Why an upload or download was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadError {
    /// 403: bad, expired or used URL.
    Denied(String),
    /// 400: the request does not match what was declared.
    Invalid(String),
    /// 404: nothing there (any more).
    Gone(String),
    Internal(String),
}

/// The bytes of an attachment and how to present them.
#[derive(Debug, Clone)]
pub struct Download {
    pub bytes: Bytes,
    pub content_type: String,
    pub content_disposition: String,
}

impl Service {
    /// The upload URL of a new attachment and the headers the client must send with it.
    pub(crate) fn upload_url(
        &self,
        ctx: &RequestContext,
        a: &Attachment,
        expires: i64,
    ) -> (String, BTreeMap<String, String>) {
        let secs = u64::try_from(self.config.attachments.upload_url_secs).unwrap_or(300);
        let presign = Presign::Put {
            key: a.blob_key(),
            content_type: a.content_type.clone(),
            content_length: a.size.unsigned_abs(),
            expires_secs: secs,
        };
        if let Some(signed) = self.blobs.presign(&presign) {
            return (signed.url, signed.headers.into_iter().collect());
        }
        let token = self.tokens.mint(TokenKind::Upload, &claims(a, expires, a.id.clone()));
        let headers = BTreeMap::from([("Content-Type".to_owned(), a.content_type.clone())]);
        (format!("{}/attachments/upload?token={token}", ctx.http_base), headers)
    }

    pub(crate) fn download_url(
        &self,
        ctx: &RequestContext,
        a: &Attachment,
        disposition: &str,
        expires: i64,
    ) -> String {
        let content_disposition = format!("{disposition}; filename=\"{}\"", a.name.replace(['"', '\\'], "_"));
        let secs = u64::try_from((expires - self.clock.now()) / 1000).unwrap_or(300);
        let presign = Presign::Get {
            key: a.blob_key(),
            content_disposition: content_disposition.clone(),
            expires_secs: secs,
        };
        if let Some(signed) = self.blobs.presign(&presign) {
            return signed.url;
        }
        let token = self
            .tokens
            .mint(TokenKind::Download, &claims(a, expires, format!("{}\n{content_disposition}", a.id)));
        format!("{}/attachments/download?token={token}", ctx.http_base)
    }

    /// `PUT <upload URL>`: checks the token, the declared type and size, that the URL was not
    /// used before; stores the bytes.
    pub async fn receive_upload(
        &self,
        token: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<(), UploadError> {
        let claims = self
            .tokens
            .verify(TokenKind::Upload, token, self.clock.now())
            .ok_or_else(|| UploadError::Denied("The upload URL is not valid or has expired".into()))?;
        let (a, text) = self
            .attachment(&claims.contact_id, &claims.extra)
            .await
            .map_err(internal)?
            .ok_or_else(|| UploadError::Gone("No such upload".into()))?;
        if a.stage != Stage::AwaitingBytes {
            return Err(UploadError::Denied("The upload URL has already been used".into()));
        }
        if !same_media_type(content_type.unwrap_or(""), &a.content_type) {
            return Err(UploadError::Invalid(format!("Content-Type must be '{}' as signed", a.content_type)));
        }
        if body.len() as u64 != a.size.unsigned_abs() {
            return Err(UploadError::Invalid(format!(
                "The body is {} bytes; {} were declared",
                body.len(),
                a.size
            )));
        }
        self.blobs.put(&a.blob_key(), body).await.map_err(|e| UploadError::Internal(e.to_string()))?;
        let uploaded = Attachment { stage: Stage::Uploaded, ..a.clone() };
        let mut batch = Batch::new(a.contact_id.clone());
        batch.checks.push(Check::RecordIs { kind: RECORD.into(), key: a.key(), value: Some(text) });
        batch.records.push(RecordWrite::set(RECORD, a.key(), uploaded.json()));
        match self.store.commit(batch).await {
            Ok(_) => Ok(()),
            Err(StoreError::CheckFailed(_)) => {
                Err(UploadError::Denied("The upload URL has already been used".into()))
            }
            Err(e) => Err(internal(e)),
        }
    }

    /// `GET <download URL>`: the bytes of an approved attachment.
    pub async fn serve_download(&self, token: &str) -> Result<Download, UploadError> {
        let claims = self
            .tokens
            .verify(TokenKind::Download, token, self.clock.now())
            .ok_or_else(|| UploadError::Denied("The download URL is not valid or has expired".into()))?;
        let (id, disposition) =
            claims.extra.split_once('\n').unwrap_or((claims.extra.as_str(), "attachment"));
        let (a, _) = self
            .attachment(&claims.contact_id, id)
            .await
            .map_err(internal)?
            .filter(|(a, _)| a.stage == Stage::Approved)
            .ok_or_else(|| UploadError::Gone("No such attachment".into()))?;
        let bytes = self
            .blobs
            .get(&a.blob_key())
            .await
            .map_err(|e| UploadError::Internal(e.to_string()))?
            .ok_or_else(|| UploadError::Gone("The attachment's bytes are gone".into()))?;
        Ok(Download { bytes, content_type: a.content_type, content_disposition: disposition.to_owned() })
    }
}

fn claims(a: &Attachment, expires: i64, extra: String) -> Claims {
    Claims {
        contact_id: a.contact_id.clone(),
        participant_id: a.participant_id.clone(),
        issued: a.created_at,
        expires,
        extra,
    }
}

/// `text/plain` and `Text/Plain; charset=utf-8` name the same type.
fn same_media_type(sent: &str, declared: &str) -> bool {
    let essence = |t: &str| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence(sent) == essence(declared)
}

fn internal(e: StoreError) -> UploadError {
    UploadError::Internal(crate::internal(e))
}
