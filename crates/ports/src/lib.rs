//! The ports of confab: the traits the service talks through (Store, Bus, Blobs, Clock) and
//! the records they carry. Backends implement these; the service knows nothing else.

pub mod blobs;
pub mod bus;
pub mod clock;
pub mod records;
pub mod store;

pub use blobs::{BlobError, Blobs, Presign, Presigned};
pub use bus::{Bus, Envelope, EnvelopeKind, Receiver};
pub use clock::{Clock, ManualClock, SystemClock};
pub use records::*;
pub use store::{
    Batch, Check, Committed, Durable, ItemQuery, Locate, RecordRange, SessionRead, Staged, Store, StoreError,
};

/// Milliseconds since the Unix epoch: every instant confab stores or compares.
pub type Millis = i64;
