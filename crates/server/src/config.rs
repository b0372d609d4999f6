//! Settings of the HTTP front.

use crate::throttle::RateLimit;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Path prefix every route lives under (SDK endpoint overrides may carry a path).
    pub base_path: String,
    /// `Access-Control-Allow-Origin` for browser clients.
    pub cors_origin: String,
    pub max_body_bytes: usize,
    /// Public base URL (e.g. `https://chat.example.com`) when behind a proxy; websocket URLs
    /// are derived from it. Otherwise from the request's Host.
    pub public_url: Option<String>,
    /// Frames queued for one socket before it counts as too slow and is closed.
    pub socket_queue: usize,
    /// Request rates by operation name; none by default.
    pub rate_limits: HashMap<String, RateLimit>,
    /// PEM certificate chain and private key: with both, confab serves HTTPS and `wss://`.
    pub tls_cert: Option<std::path::PathBuf>,
    pub tls_key: Option<std::path::PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            base_path: String::new(),
            cors_origin: "*".into(),
            max_body_bytes: 256 * 1024,
            public_url: None,
            socket_queue: 1024,
            rate_limits: HashMap::new(),
            tls_cert: None,
            tls_key: None,
        }
    }
}
