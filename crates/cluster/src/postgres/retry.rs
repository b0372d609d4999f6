//! Which failures are worth another try, and how long to wait before it.

use std::time::Duration;
use tokio_postgres::error::SqlState;

/// A failure that is not the request's fault and may pass: a lost or refused connection, a
/// server shutting down, a deadlock or serialization victim, a lock that timed out.
pub(crate) fn is_transient(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => {
            let c = code.code();
            c.starts_with("08") // connection exception
                || c.starts_with("57P") // admin/crash shutdown, cannot connect now
                || *code == SqlState::T_R_SERIALIZATION_FAILURE
                || *code == SqlState::T_R_DEADLOCK_DETECTED
                || *code == SqlState::LOCK_NOT_AVAILABLE
                || *code == SqlState::TOO_MANY_CONNECTIONS
                || *code == SqlState::CANNOT_CONNECT_NOW
        }
        // No SQLSTATE: an I/O or protocol error of the connection itself.
        None => e.as_db_error().is_none(),
    }
}

/// The connection is gone: what was sent last may or may not have happened.
pub(crate) fn is_connection_lost(e: &tokio_postgres::Error) -> bool {
    e.is_closed() || (e.code().is_none() && e.as_db_error().is_none())
}

/// Exponential backoff from 10 ms, capped at 1 s, with up to 50% jitter so that nodes that
/// failed together do not retry together.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = 10u64.saturating_mul(1 << attempt.min(7)).min(1_000);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()))
        .unwrap_or(0);
    Duration::from_millis(base + (nanos % (base / 2 + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(backoff(0) >= Duration::from_millis(10) && backoff(0) <= Duration::from_millis(15));
        assert!(backoff(3) >= Duration::from_millis(80));
        assert!(backoff(30) <= Duration::from_millis(1_500));
    }
}
