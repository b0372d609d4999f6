//! Wire types of the two APIs confab speaks: the Amazon Connect Participant Service
//! (`participant`) and the chat subset of the Amazon Connect API (`connect`). One struct
//! per operation input and output, the transcript item, the error enums, and the
//! model-driven validator (`model`). No behaviour lives here.

pub mod attachments;
pub mod auth;
pub mod connect;
pub mod error;
pub mod integration;
pub mod item;
pub mod model;
pub mod participant;
pub mod persistent;
pub mod streaming;
pub mod time;
pub mod timers;
pub mod views;

pub use error::{ApiError, ConnectError, ParticipantError};
