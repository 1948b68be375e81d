//! Time, injectable.
//!
//! Timers and deadlines use `tokio::time`, which tests pause and advance.
//! Wall time (record issue and expiry, "last seen") comes from a [`Clock`],
//! so a simulation can run days of node life in milliseconds and a test can
//! put a node's clock wherever it likes.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of wall-clock time: the one place the node reads it (the
/// operating system's in [`SystemClock`], a test's elsewhere).
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the unix epoch.
    fn unix_now(&self) -> u64;
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock(at {})", self.unix_now())
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one place wall time is read
    fn unix_now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }
}

/// Wall time that follows tokio's clock: `start_unix` plus the tokio time
/// elapsed since creation. Under a paused runtime it moves only when the
/// test advances time.
#[derive(Debug, Clone, Copy)]
pub struct TokioClock {
    start_unix: u64,
    start: tokio::time::Instant,
}

impl TokioClock {
    /// A clock reading `start_unix` now.
    pub fn starting_at(start_unix: u64) -> Self {
        TokioClock {
            start_unix,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn unix_now(&self) -> u64 {
        self.start_unix + self.start.elapsed().as_secs()
    }
}
