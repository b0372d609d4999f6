//! Local-folder blobs: one file per key under the data folder, written to a temporary file,
//! synced and renamed into place, so a reader never sees half a file and a crash leaves
//! either the old bytes or the new.

use async_trait::async_trait;
use bytes::Bytes;
use confab_ports::{BlobError, Blobs};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct FileBlobs {
    root: PathBuf,
}

impl FileBlobs {
    pub fn open(root: &Path) -> Result<FileBlobs, BlobError> {
        std::fs::create_dir_all(root).map_err(|e| backend("create the blob folder", e))?;
        Ok(FileBlobs { root: root.to_owned() })
    }

    /// Keys are confab's own (ids joined by '/'); anything that could leave the folder is
    /// refused.
    fn path_of(&self, key: &str) -> Result<PathBuf, BlobError> {
        let safe = !key.is_empty()
            && key
                .split('/')
                .all(|part| !part.is_empty() && part != "." && part != ".." && !part.contains('\\'));
        if !safe {
            return Err(BlobError::Backend(format!("invalid blob key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

fn backend(what: &str, e: std::io::Error) -> BlobError {
    BlobError::Backend(format!("{what}: {e}"))
}

#[async_trait]
impl Blobs for FileBlobs {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.path_of(key)?;
        tokio::task::spawn_blocking(move || write_durably(&path, &bytes))
            .await
            .map_err(|e| BlobError::Backend(e.to_string()))?
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        let path = self.path_of(key)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(backend("read a blob", e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(backend("delete a blob", e)),
        }
    }

    async fn health(&self) -> Result<(), BlobError> {
        tokio::fs::metadata(&self.root).await.map(|_| ()).map_err(|e| backend("blob folder", e))
    }
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), BlobError> {
    let dir = path.parent().ok_or_else(|| BlobError::Backend("blob path has no folder".into()))?;
    std::fs::create_dir_all(dir).map_err(|e| backend("create a blob folder", e))?;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(|e| backend("create a blob", e))?;
    file.write_all(bytes).map_err(|e| backend("write a blob", e))?;
    file.sync_all().map_err(|e| backend("sync a blob", e))?;
    std::fs::rename(&tmp, path).map_err(|e| backend("rename a blob", e))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| backend("sync the blob folder", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_and_refuse_escapes() {
        let root = std::env::temp_dir().join(format!("confab-blobs-{}", std::process::id()));
        let blobs = FileBlobs::open(&root).expect("open");
        blobs.put("c1/a1", Bytes::from_static(b"hello")).await.expect("put");
        assert_eq!(blobs.get("c1/a1").await.expect("get"), Some(Bytes::from_static(b"hello")));
        blobs.delete("c1/a1").await.expect("delete");
        assert_eq!(blobs.get("c1/a1").await.expect("get"), None);
        blobs.delete("c1/a1").await.expect("deleting twice is fine");
        for bad in ["../x", "a/../../x", "", "/abs", "a//b"] {
            assert!(blobs.put(bad, Bytes::new()).await.is_err(), "{bad}");
        }
        let _ = std::fs::remove_dir_all(root);
    }
}
