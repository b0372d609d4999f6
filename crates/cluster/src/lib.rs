//! Cluster backends of confab: what several nodes serving as one share.
//!
//! - [`postgres::PostgresStore`]: the [`confab_ports::Store`] on PostgreSQL, with group
//!   commit, per-contact gap-free sequence numbers across nodes and leased claims.
//! - [`nats::NatsBus`]: the [`confab_ports::Bus`] over NATS core subjects.
//! - [`s3::S3Blobs`]: the [`confab_ports::Blobs`] on an S3-compatible store, with real SigV4
//!   presigned URLs.

pub mod nats;
pub mod postgres;
pub mod s3;

pub use nats::NatsBus;
pub use postgres::{PostgresOptions, PostgresStats, PostgresStore};
pub use s3::{S3Blobs, S3Settings};
