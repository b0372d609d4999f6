//! Tokens: unforgeable (HMAC-SHA256 with the server key, 128-bit tag), scoped to one
//! participant of one contact, and expiring. Revocation is not in the token: the service
//! checks that the participant and the contact are still active on every use.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use confab_ports::Millis;
use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// From StartChatContact/CreateParticipant; only for CreateParticipantConnection.
    Participant,
    /// From CreateParticipantConnection; for every other participant operation.
    Connection,
    /// The `AuthToken` of a websocket URL.
    Websocket,
    /// GetTranscript's NextToken.
    Page,
    /// An attachment upload URL (embedded blobs).
    Upload,
    /// An attachment download URL (embedded blobs).
    Download,
}

impl TokenKind {
    fn tag(self) -> char {
        match self {
            TokenKind::Participant => 'P',
            TokenKind::Connection => 'C',
            TokenKind::Websocket => 'W',
            TokenKind::Page => 'N',
            TokenKind::Upload => 'U',
            TokenKind::Download => 'D',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub contact_id: String,
    pub participant_id: String,
    pub issued: Millis,
    /// 0: no expiry of its own.
    pub expires: Millis,
    /// Free text the kind needs (a page token's position).
    pub extra: String,
}

pub struct Tokens {
    mac: Hmac<Sha256>,
}

impl Tokens {
    pub fn new(secret: &[u8]) -> Tokens {
        // HMAC takes keys of any length.
        let mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        Tokens { mac }
    }

    pub fn mint(&self, kind: TokenKind, claims: &Claims) -> String {
        let payload = format!(
            "{}\n{}\n{}\n{}\n{}",
            claims.contact_id, claims.participant_id, claims.issued, claims.expires, claims.extra
        );
        let tag = self.tag(kind, payload.as_bytes());
        format!("{}{}.{}", kind.tag(), URL_SAFE_NO_PAD.encode(payload), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The claims of a genuine token of this kind that has not expired at `now`.
    pub fn verify(&self, kind: TokenKind, token: &str, now: Millis) -> Option<Claims> {
        let rest = token.strip_prefix(kind.tag())?;
        let (payload, tag) = rest.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let mut mac = self.mac.clone();
        mac.update(&[kind.tag() as u8]);
        mac.update(&payload);
        mac.verify_truncated_left(&tag).ok()?;
        if tag.len() != 16 {
            return None;
        }
        let text = String::from_utf8(payload).ok()?;
        let mut parts = text.splitn(5, '\n');
        let claims = Claims {
            contact_id: parts.next()?.to_owned(),
            participant_id: parts.next()?.to_owned(),
            issued: parts.next()?.parse().ok()?,
            expires: parts.next()?.parse().ok()?,
            extra: parts.next()?.to_owned(),
        };
        (claims.expires == 0 || now < claims.expires).then_some(claims)
    }

    fn tag(&self, kind: TokenKind, payload: &[u8]) -> Vec<u8> {
        let mut mac = self.mac.clone();
        mac.update(&[kind.tag() as u8]);
        mac.update(payload);
        mac.finalize().into_bytes()[..16].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(expires: Millis) -> Claims {
        Claims {
            contact_id: "c".into(),
            participant_id: "p".into(),
            issued: 1,
            expires,
            extra: "x\ny".into(),
        }
    }

    #[test]
    fn round_trip_kind_and_expiry() {
        let tokens = Tokens::new(b"k");
        let t = tokens.mint(TokenKind::Connection, &claims(100));
        assert_eq!(tokens.verify(TokenKind::Connection, &t, 99), Some(claims(100)));
        assert_eq!(tokens.verify(TokenKind::Connection, &t, 100), None, "expired");
        assert_eq!(tokens.verify(TokenKind::Participant, &t, 1), None, "wrong kind");
        let p = tokens.mint(TokenKind::Participant, &claims(0));
        assert!(tokens.verify(TokenKind::Participant, &p, i64::MAX).is_some());
    }

    #[test]
    fn forged_or_foreign_tokens_fail() {
        let tokens = Tokens::new(b"k");
        let t = tokens.mint(TokenKind::Connection, &claims(100));
        let mut forged = t.clone().into_bytes();
        forged[3] ^= 1;
        assert_eq!(tokens.verify(TokenKind::Connection, &String::from_utf8_lossy(&forged), 1), None);
        assert_eq!(Tokens::new(b"other").verify(TokenKind::Connection, &t, 1), None);
        assert_eq!(tokens.verify(TokenKind::Connection, "C", 1), None);
        assert_eq!(tokens.verify(TokenKind::Connection, "", 1), None);
    }
}
