//! The participant API, one file per operation (SPEC §2).

mod cancel_participant_authentication;
mod complete_attachment_upload;
mod connection;
mod describe_view;
mod disconnect;
mod event;
mod get_attachment;
mod get_authentication_url;
mod message;
mod start_attachment_upload;
mod transcript;

use sha2::{Digest, Sha256};

/// The idempotency key of a participant call. The body is part of the key: chatjs sends
/// every read receipt with the same ClientToken (CHATJS-PROTOCOL c.3), so a token alone
/// would swallow distinct receipts. A replay with the same token and body gets the
/// original answer. No token (or an empty one) means no idempotency.
pub(crate) fn idempotency_key(
    op: &str,
    participant_id: &str,
    client_token: Option<&str>,
    body: &[&str],
) -> Option<String> {
    let token = client_token.filter(|t| !t.is_empty())?;
    let mut hash = Sha256::new();
    for part in body {
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("{op}:{participant_id}:{hex}:{token}"))
}
