//! The HTTP and websocket front of confab. One listener serves the participant API
//! (`/participant/...`), the control plane (`/contact/...`, `/contacts/...`), the websocket
//! gateway (`/ws`), `/healthz` and `/metrics`, optionally under a base path.
//!
//! A request is routed to an [`routes::Endpoint`] (one variant per operation), its JSON is
//! checked against the service model, and it is handed to the matching `handle_*` function
//! in `api/participant.rs` or `api/connect.rs`.

pub mod api;
pub mod config;
pub mod cors;
pub mod errors;
pub mod gateway;
pub mod metered;
pub mod metrics;
pub mod routes;
pub mod throttle;
pub mod tls;

use confab_ports::ManualClock;
use confab_service::Service;
use std::sync::Arc;

pub use config::ServerConfig;
pub use gateway::Gateway;

/// Everything a request handler may touch.
pub struct App {
    pub service: Arc<Service>,
    pub gateway: Arc<Gateway>,
    pub metrics: metrics::Metrics,
    pub config: ServerConfig,
    pub throttle: throttle::Throttle,
    /// Present when the server runs on a test clock that `/_confab/clock` moves.
    pub test_clock: Option<ManualClock>,
    /// What runs behind the service, for /healthz and /metrics.
    pub backends: BackendInfo,
}

/// The names of the node's backends (e.g. `sqlite`, `memory`, `file`) and their call metrics.
#[derive(Default)]
pub struct BackendInfo {
    pub store: &'static str,
    pub bus: &'static str,
    pub blobs: &'static str,
    pub metrics: Arc<metered::BackendMetrics>,
}

impl App {
    pub fn new(
        service: Arc<Service>,
        config: ServerConfig,
        test_clock: Option<ManualClock>,
        backends: BackendInfo,
    ) -> Arc<App> {
        let gateway = Gateway::new(service.clone(), config.socket_queue);
        let throttle = throttle::Throttle::new(&config.rate_limits);
        let metrics = metrics::Metrics::default();
        Arc::new(App { service, gateway, metrics, config, throttle, test_clock, backends })
    }
}

/// Serves until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Frames and answers are small and latency matters: no Nagle delay.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let router = axum::Router::new().fallback(api::dispatch).with_state(app);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

/// Serves HTTPS (and `wss://`) until `shutdown` resolves: `tls` from [`tls::load`].
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tls::TlsListener::new(listener, tls)?;
    let router = axum::Router::new().fallback(api::dispatch).with_state(app);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}
