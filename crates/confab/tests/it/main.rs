//! Integration tests: each spawns the real `confab` binary on port 0 and drives it with the
//! AWS SDK for Rust (`aws-sdk-connect`, `aws-sdk-connectparticipant`) and a real websocket
//! client. One test binary, so the SDKs are linked once.

mod cluster_env;
mod harness;

/// This target runs on the embedded backends (`it_cluster` runs the same tests on the cluster ones).
mod backend {
    pub const CLUSTER: bool = false;
}

mod chat_flow;
mod crash;
mod e2e;
mod errors;
mod idempotency;
mod surface_attachments;
mod surface_persistent;
mod surface_streaming;
mod surface_views_auth;
mod tokens;
mod transcript;
mod websocket;
mod wire;
