//! The confab CLI: `confab connectparticipant|connect <operation>` against goldens captured
//! with the real AWS CLI v1, and `confab chat` driven in pseudo-terminals.

mod chat;
mod golden;
mod harness;
mod profiles;
mod tls;
