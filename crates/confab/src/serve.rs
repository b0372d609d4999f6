//! `confab serve`: configuration (flags, `CONFAB_*` variables, a TOML file), the embedded
//! backends, and the HTTP server.

use anyhow::{bail, Context};
use base64::Engine;
use clap::{Args, ValueEnum};
use confab_ports::{Clock, ManualClock, SystemClock};
use confab_server::metered::{MeteredBlobs, MeteredStore};
use confab_server::{App, BackendInfo, ServerConfig};
use confab_service::{Ports, Service};
use serde::Deserialize;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, env = "CONFAB_LISTEN")]
    listen: Option<String>,
    /// Folder for the database, the token key and files.
    #[arg(long, env = "CONFAB_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "CONFAB_CONFIG")]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "CONFAB_LOG_FORMAT", value_enum)]
    log_format: Option<LogFormat>,
    /// Run on a clock that only moves through `POST /_confab/clock` (for tests).
    #[arg(long, env = "CONFAB_TEST_CLOCK")]
    test_clock: bool,
    /// Path prefix of every route.
    #[arg(long, env = "CONFAB_BASE_PATH")]
    base_path: Option<String>,
    /// Public base URL when behind a proxy (websocket URLs are derived from it).
    #[arg(long, env = "CONFAB_PUBLIC_URL")]
    public_url: Option<String>,
    /// PEM certificate chain: with --tls-key, serve HTTPS and wss:// directly.
    #[arg(long, env = "CONFAB_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "CONFAB_TLS_KEY")]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum LogFormat {
    Human,
    Json,
}

/// The settings (file and `CONFAB_*` variables); flags override the top-level ones.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    log_format: Option<LogFormat>,
    /// Key for tokens (base64, ≥ 32 bytes); by default generated once into the data folder.
    secret: Option<String>,
    /// `sqlite://PATH` (default: in the data folder) or `postgres://…` (optionally `?schema=`).
    store: Option<String>,
    /// `memory` (default) or `nats://…` (optionally `?prefix=` for the subjects).
    bus: Option<String>,
    /// `file://PATH` (default: in the data folder) or `s3://bucket/prefix` (see `[s3]`).
    blobs: Option<String>,
    /// This node's name on the bus (default: host name and process id).
    node_id: Option<String>,
    s3: crate::backends::S3Section,
    server: ServerConfig,
    service: confab_service::Config,
}

impl FileConfig {
    fn choice(&self) -> crate::backends::Choice {
        let node_id = self.node_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            format!("{}-{}", host.trim(), std::process::id())
        });
        crate::backends::Choice {
            store: self.store.clone(),
            bus: self.bus.clone(),
            blobs: self.blobs.clone(),
            node_id,
            s3: self.s3.clone(),
        }
    }

    /// Several nodes must share the token key: a generated one would differ on each.
    fn is_cluster(&self) -> bool {
        self.store.as_deref().is_some_and(|s| s.starts_with("postgres"))
    }
}

pub fn main(args: ServeArgs) -> ExitCode {
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("confab: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: ServeArgs) -> anyhow::Result<()> {
    let table = crate::settings::load(args.config.as_deref(), std::env::vars())?;
    let mut file: FileConfig = table.try_into().context("invalid settings")?;
    init_logs(args.log_format.or(file.log_format).unwrap_or(LogFormat::Human));
    let listen = args.listen.or(file.listen.take()).unwrap_or_else(|| "127.0.0.1:8380".into());
    let data_dir = args.data_dir.or(file.data_dir.take()).unwrap_or_else(|| PathBuf::from("./confab-data"));
    if let Some(base) = args.base_path {
        file.server.base_path = base;
    }
    if args.public_url.is_some() {
        file.server.public_url = args.public_url;
    }
    if args.tls_cert.is_some() {
        file.server.tls_cert = args.tls_cert;
    }
    if args.tls_key.is_some() {
        file.server.tls_key = args.tls_key;
    }
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let _lock = lock_data_dir(&data_dir)?;
    if file.is_cluster() && file.secret.is_none() {
        bail!("with a shared store every node needs the same token key: set `secret` (or CONFAB_SECRET)");
    }
    let secret = secret(&data_dir, file.secret.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(start(listen, data_dir, secret, file, args.test_clock))
}

async fn start(
    listen: String,
    data_dir: PathBuf,
    secret: Vec<u8>,
    file: FileConfig,
    test_clock: bool,
) -> anyhow::Result<()> {
    let backends = crate::backends::open(&file.choice(), &data_dir).await?;
    let metrics = Arc::new(confab_server::metered::BackendMetrics::default());
    let [store_name, bus_name, blobs_name] = backends.names;
    let store: Arc<dyn confab_ports::Store> =
        Arc::new(MeteredStore { inner: backends.store, name: store_name, metrics: metrics.clone() });
    let blobs: Arc<dyn confab_ports::Blobs> =
        Arc::new(MeteredBlobs { inner: backends.blobs, name: blobs_name, metrics: metrics.clone() });
    let bus = backends.bus;
    let info = BackendInfo { store: store_name, bus: bus_name, blobs: blobs_name, metrics };
    tracing::info!(store = store_name, bus = bus_name, blobs = blobs_name, "backends");
    let manual = test_clock.then(|| ManualClock::new(SystemClock.now()));
    let clock: Arc<dyn Clock> = match &manual {
        Some(m) => Arc::new(m.clone()),
        None => Arc::new(SystemClock),
    };
    let service = Service::new(Ports { store, bus: bus.clone(), blobs, clock }, file.service, &secret);
    service.load_views().await.map_err(|e| anyhow::anyhow!("loading the views of the settings: {e}"))?;
    let tls = tls_config(&file.server)?;
    let app = App::new(service.clone(), file.server, manual, info);
    bus.set_receiver(app.gateway.receiver());
    tokio::spawn(service.clone().run_timers());
    tokio::spawn(service.clone().run_streaming());
    let listener =
        tokio::net::TcpListener::bind(&listen).await.with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %data_dir.display(), "confab listening");
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("confab listening on {scheme}://{addr}");
    let gateway = app.gateway.clone();
    let shutdown = async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        gateway.shutdown();
    };
    match tls {
        Some(tls) => confab_server::serve_tls(listener, tls, app, shutdown).await?,
        None => confab_server::serve(listener, app, shutdown).await?,
    }
    Ok(())
}

/// The TLS configuration when both the certificate and the key are set (one alone is a
/// mistake worth stopping for).
fn tls_config(
    server: &ServerConfig,
) -> anyhow::Result<Option<Arc<confab_server::tls::rustls::ServerConfig>>> {
    match (&server.tls_cert, &server.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(confab_server::tls::load(cert, key).map_err(anyhow::Error::msg)?)),
        (None, None) => Ok(None),
        _ => bail!("--tls-cert and --tls-key go together"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CONFAB_LOG").unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// One server per data folder: the store's writer keeps sequence numbers in memory.
fn lock_data_dir(dir: &Path) -> anyhow::Result<File> {
    let file = File::create(dir.join("LOCK"))?;
    if file.try_lock().is_err() {
        bail!("{} is in use by another confab", dir.display());
    }
    Ok(file)
}

/// The token key: from the configuration, else generated once and kept in the data folder
/// so tokens survive restarts.
fn secret(dir: &Path, configured: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let engine = base64::engine::general_purpose::STANDARD;
    if let Some(text) = configured {
        let key = engine.decode(text.trim()).context("secret is not base64")?;
        if key.len() < 32 {
            bail!("secret must be at least 32 bytes");
        }
        return Ok(key);
    }
    let path = dir.join("secret.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return engine.decode(text.trim()).context("secret.key is not base64");
    }
    let key: [u8; 32] = rand::random();
    std::fs::write(&path, engine.encode(key))?;
    Ok(key.to_vec())
}
