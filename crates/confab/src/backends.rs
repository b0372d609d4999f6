//! The backends a node runs on, chosen by settings, never by compile-time forks:
//! `store = "sqlite://…" | "postgres://…"`, `bus = "memory" | "nats://…"`,
//! `blobs = "file://…" | "s3://bucket/prefix"`. The embedded set is the default.

use anyhow::{bail, Context};
use confab_embedded::{FileBlobs, InProcessBus, SqliteStore};
use confab_ports::{Blobs, Bus, Store};
use serde::Deserialize;
use std::path::Path;
use std::sync::Arc;

/// S3-compatible storage settings (for `blobs = "s3://…"`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Section {
    /// e.g. `http://127.0.0.1:9000` for a local S3-compatible server; AWS when absent.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Bucket in the path (`endpoint/bucket/key`) rather than the host name.
    pub path_style: bool,
}

impl Default for S3Section {
    fn default() -> S3Section {
        S3Section {
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: String::new(),
            secret_access_key: String::new(),
            path_style: true,
        }
    }
}

/// Which backends, by URL.
#[derive(Debug, Clone, Default)]
pub struct Choice {
    pub store: Option<String>,
    pub bus: Option<String>,
    pub blobs: Option<String>,
    pub node_id: String,
    pub s3: S3Section,
}

pub struct Backends {
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn Bus>,
    pub blobs: Arc<dyn Blobs>,
    /// What /healthz names each backend.
    pub names: [&'static str; 3],
}

pub async fn open(choice: &Choice, data_dir: &Path) -> anyhow::Result<Backends> {
    let (store, store_name) = open_store(choice.store.as_deref(), data_dir).await?;
    let (bus, bus_name) = open_bus(choice.bus.as_deref(), &choice.node_id).await?;
    let (blobs, blobs_name) = open_blobs(choice.blobs.as_deref(), &choice.s3, data_dir)?;
    Ok(Backends { store, bus, blobs, names: [store_name, bus_name, blobs_name] })
}

async fn open_store(url: Option<&str>, data_dir: &Path) -> anyhow::Result<(Arc<dyn Store>, &'static str)> {
    match url {
        None => sqlite(&data_dir.join("confab.db")),
        Some(url) if url.starts_with("sqlite://") => sqlite(Path::new(&url["sqlite://".len()..])),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let store = confab_cluster::PostgresStore::connect(url)
                .await
                .map_err(|e| anyhow::anyhow!("connecting to PostgreSQL: {e}"))?;
            Ok((Arc::new(store), "postgres"))
        }
        Some(other) => bail!("store = {other:?}: expected sqlite://PATH or postgres://…"),
    }
}

fn sqlite(path: &Path) -> anyhow::Result<(Arc<dyn Store>, &'static str)> {
    let store = SqliteStore::open(path).map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
    Ok((Arc::new(store), "sqlite"))
}

async fn open_bus(url: Option<&str>, node_id: &str) -> anyhow::Result<(Arc<dyn Bus>, &'static str)> {
    match url {
        None | Some("memory") => Ok((Arc::new(InProcessBus::new()), "memory")),
        Some(url) if url.starts_with("nats://") => {
            let bus = confab_cluster::NatsBus::connect(url, node_id)
                .await
                .map_err(|e| anyhow::anyhow!("connecting to NATS: {e}"))?;
            Ok((Arc::new(bus), "nats"))
        }
        Some(other) => bail!("bus = {other:?}: expected memory or nats://…"),
    }
}

fn open_blobs(
    url: Option<&str>,
    s3: &S3Section,
    data_dir: &Path,
) -> anyhow::Result<(Arc<dyn Blobs>, &'static str)> {
    match url {
        None => files(&data_dir.join("blobs")),
        Some(url) if url.starts_with("file://") => files(Path::new(&url["file://".len()..])),
        Some(url) if url.starts_with("s3://") => {
            let settings = confab_cluster::S3Settings {
                endpoint: s3.endpoint.clone(),
                region: s3.region.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.clone(),
                path_style: s3.path_style,
            };
            let blobs =
                confab_cluster::S3Blobs::new(url, settings).map_err(|e| anyhow::anyhow!("S3 blobs: {e}"))?;
            Ok((Arc::new(blobs), "s3"))
        }
        Some(other) => bail!("blobs = {other:?}: expected file://PATH or s3://bucket/prefix"),
    }
}

fn files(root: &Path) -> anyhow::Result<(Arc<dyn Blobs>, &'static str)> {
    let blobs = FileBlobs::open(root)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("opening {}", root.display()))?;
    Ok((Arc::new(blobs), "file"))
}
