//! Embedded backends of confab: everything a single node needs, with nothing installed.
//!
//! - [`sqlite::SqliteStore`]: the [`confab_ports::Store`] on one SQLite file, with group commit.
//! - [`bus::InProcessBus`]: the [`confab_ports::Bus`] inside one process.
//!
//! (Local-folder blobs live in their own module beside these.)

pub mod blobs;
pub mod bus;
pub mod sqlite;

pub use blobs::FileBlobs;
pub use bus::InProcessBus;
pub use sqlite::{SqliteOptions, SqliteStore, StoreStats};
