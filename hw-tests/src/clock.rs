//! Clocks for the checks: the wall clock on hardware, a manual one on mocks.

use std::sync::atomic::{AtomicU64, Ordering};

use warren_board::{Duration, Instant};

/// Time for a check.
pub trait Clock {
    /// Now.
    fn now(&self) -> Instant;
    /// Waits `d` (a manual clock just moves on).
    fn sleep(&self, d: Duration);
}

/// A clock that moves only when slept on.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant::from_micros(self.0.load(Ordering::SeqCst))
    }

    fn sleep(&self, d: Duration) {
        self.0.fetch_add(d.as_micros(), Ordering::SeqCst);
    }
}

/// The wall clock (monotonic).
#[derive(Debug)]
pub struct WallClock(std::time::Instant);

impl Default for WallClock {
    #[allow(clippy::disallowed_methods)] // real hardware runs in real time
    fn default() -> WallClock {
        WallClock(std::time::Instant::now())
    }
}

impl Clock for WallClock {
    fn now(&self) -> Instant {
        Instant::from_micros(self.0.elapsed().as_micros() as u64)
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(std::time::Duration::from_micros(d.as_micros()));
    }
}
