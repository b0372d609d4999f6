//! The Clock port: every lifetime and timer reads time here, so tests can move it.

use crate::Millis;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
    /// Resolves once `now() >= deadline`.
    fn sleep_until(&self, deadline: Millis) -> Sleep;
}

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
    }

    fn sleep_until(&self, deadline: Millis) -> Sleep {
        let wait = deadline.saturating_sub(self.now()).max(0);
        Box::pin(tokio::time::sleep(Duration::from_millis(wait.unsigned_abs())))
    }
}

/// A clock that moves only when told to (tests, `--test-clock`). Starts at real time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<watch::Sender<Millis>>,
}

impl ManualClock {
    pub fn new(start: Millis) -> ManualClock {
        let (tx, _) = watch::channel(start);
        ManualClock { now: Arc::new(tx) }
    }

    pub fn advance(&self, by: Millis) -> Millis {
        let mut now = 0;
        self.now.send_modify(|t| {
            *t = t.saturating_add(by.max(0));
            now = *t;
        });
        now
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Millis {
        *self.now.borrow()
    }

    fn sleep_until(&self, deadline: Millis) -> Sleep {
        let mut rx = self.now.subscribe();
        Box::pin(async move {
            let _ = rx.wait_for(|t| *t >= deadline).await;
        })
    }
}
