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
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut key = String::with_capacity(op.len() + participant_id.len() + token.len() + 27);
    key.push_str(op);
    key.push(':');
    key.push_str(participant_id);
    key.push(':');
    for b in &digest[..12] {
        key.push(char::from(HEX[usize::from(b >> 4)]));
        key.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    key.push(':');
    key.push_str(token);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::idempotency_key;

    /// Keys are stored: a database written by an earlier version must find its records, so
    /// the format (operation, participant, 24 hex digits of the body's hash, token) is fixed.
    #[test]
    fn the_idempotency_key_format_is_stable() {
        let key = idempotency_key("SendMessage", "p-1", Some("tok"), &["text/plain", "hi"]);
        assert_eq!(key.as_deref(), Some("SendMessage:p-1:16aac9c812879ef0b429b6a4:tok"));
        assert_eq!(idempotency_key("SendMessage", "p-1", Some(""), &["x"]), None);
        assert_eq!(idempotency_key("SendMessage", "p-1", None, &["x"]), None);
    }
}
