//! The integration suite again, on the cluster backends (PostgreSQL, NATS, S3-compatible
//! blobs), plus tests that need several nodes. Same test files as `it`: no behaviour of the
//! service may differ between the two sets of backends.

#[path = "../it/cluster_env.rs"]
mod cluster_env;
#[path = "../it/harness.rs"]
mod harness;

mod backend {
    pub const CLUSTER: bool = true;
}

#[path = "../it/chat_flow.rs"]
mod chat_flow;
#[path = "../it/crash.rs"]
mod crash;
#[path = "../it/errors.rs"]
mod errors;
#[path = "../it/idempotency.rs"]
mod idempotency;
#[path = "../it/surface_attachments.rs"]
mod surface_attachments;
#[path = "../it/surface_persistent.rs"]
mod surface_persistent;
#[path = "../it/surface_streaming.rs"]
mod surface_streaming;
#[path = "../it/surface_views_auth.rs"]
mod surface_views_auth;
#[path = "../it/tokens.rs"]
mod tokens;
#[path = "../it/transcript.rs"]
mod transcript;
#[path = "../it/websocket.rs"]
mod websocket;
#[path = "../it/wire.rs"]
mod wire;

mod nodes;
