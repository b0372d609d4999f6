//! The Blobs port: attachment bytes. A backend that can presign URLs (S3) hands them out;
//! otherwise confab serves signed upload and download URLs itself and calls put/get.

use async_trait::async_trait;
use bytes::Bytes;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob backend: {0}")]
    Backend(String),
}

/// What to presign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presign {
    Put { key: String, content_type: String, content_length: u64, expires_secs: u64 },
    Get { key: String, content_disposition: String, expires_secs: u64 },
}

/// A presigned URL and the headers the client must send with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    pub url: String,
    pub headers: Vec<(String, String)>,
}

#[async_trait]
pub trait Blobs: Send + Sync + 'static {
    /// Stores the bytes durably under `key` (replacing any).
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError>;
    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError>;
    /// The size of what is stored under `key`, if anything (S3: a HEAD request).
    async fn size(&self, key: &str) -> Result<Option<u64>, BlobError> {
        Ok(self.get(key).await?.map(|b| b.len() as u64))
    }
    /// Removes the key; absent keys are fine.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// A presigned URL, when the backend has them.
    fn presign(&self, _what: &Presign) -> Option<Presigned> {
        None
    }
    async fn health(&self) -> Result<(), BlobError> {
        Ok(())
    }
}
