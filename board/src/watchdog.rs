//! The watchdog and the feeder that decides when to pet it.
//!
//! A watchdog resets the board unless it is petted within its timeout. A
//! free-running timer would pet it even when the node is stuck, so the
//! [`Feeder`] pets only after the node's own liveness check passed: every
//! `interval` (a third of the timeout) the node asks its core tasks to
//! answer within a deadline and reports the outcome with
//! [`Feeder::checked`]. Two failed checks in a row still leave a third
//! chance before the board resets.

use embassy_time::{Duration, Instant};

use crate::BoardError;

/// A watchdog that resets the board unless petted in time.
pub trait Watchdog {
    /// Pets it: the timeout starts again.
    fn pet(&mut self) -> Result<(), BoardError>;
    /// How long it waits for a pet before it resets the board.
    fn timeout(&self) -> Duration;
    /// Stops it on a clean exit, where the device allows (the "magic close");
    /// a device that cannot be stopped resets the board after the timeout.
    fn disarm(&mut self) -> Result<(), BoardError>;
}

/// How the watchdog stands, as `status --json` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchdogState {
    /// No watchdog.
    Off,
    /// The last liveness check passed and the watchdog was petted.
    Fed,
    /// The last check failed: not petted, the timeout is running out.
    Withheld,
    /// Not petted for longer than the timeout: a real board has reset.
    Expired,
}

impl WatchdogState {
    /// The name `status --json` reports.
    pub fn name(self) -> &'static str {
        match self {
            WatchdogState::Off => "off",
            WatchdogState::Fed => "fed",
            WatchdogState::Withheld => "withheld",
            WatchdogState::Expired => "expired",
        }
    }
}

/// Decides when to check liveness and whether to pet.
#[derive(Debug, Clone)]
pub struct Feeder {
    interval: Duration,
    timeout: Duration,
    last_pet: Instant,
    next_check: Instant,
    last_ok: bool,
    failures: u32,
}

impl Feeder {
    /// A feeder for a watchdog with `timeout`, armed (and taken as petted)
    /// at `now`.
    pub fn new(timeout: Duration, now: Instant) -> Feeder {
        let interval = Duration::from_ticks((timeout.as_ticks() / 3).max(1));
        Feeder {
            interval,
            timeout,
            last_pet: now,
            next_check: now,
            last_ok: true,
            failures: 0,
        }
    }

    /// Whether checking liveness every third of `timeout`, each check
    /// allowed `deadline`, keeps a healthy node's pets inside the timeout:
    /// a pet comes at most `timeout / 3 + deadline` after the last, which
    /// must leave a failed check's third a chance, so `deadline` must stay
    /// under a third of `timeout`. The error says why not, in words.
    pub fn fits(timeout: Duration, deadline: Duration) -> Result<(), &'static str> {
        if timeout.as_ticks() < 3 {
            return Err("the watchdog's timeout is too short to check anything in");
        }
        if deadline.as_ticks() * 3 >= timeout.as_ticks() {
            return Err("the liveness deadline is a third of the watchdog's timeout or more");
        }
        Ok(())
    }

    /// How often liveness is checked.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// When the next liveness check is due.
    pub fn next_check(&self) -> Instant {
        self.next_check
    }

    /// Records a liveness check that ended at `now`; returns whether to pet.
    pub fn checked(&mut self, healthy: bool, now: Instant) -> bool {
        self.next_check = now + self.interval;
        self.last_ok = healthy;
        if healthy {
            self.last_pet = now;
            self.failures = 0;
        } else {
            self.failures += 1;
        }
        healthy
    }

    /// Failed checks in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The state at `now`.
    pub fn state(&self, now: Instant) -> WatchdogState {
        if now.saturating_duration_since(self.last_pet) > self.timeout {
            WatchdogState::Expired
        } else if self.last_ok {
            WatchdogState::Fed
        } else {
            WatchdogState::Withheld
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cadence_must_fit_the_drivers_timeout() {
        // The Pi's BCM2835 driver: 15 s; the node checks every 5 s with a
        // 2 s deadline.
        assert!(Feeder::fits(Duration::from_secs(15), Duration::from_secs(2)).is_ok());
        assert!(Feeder::fits(Duration::from_secs(6), Duration::from_secs(2)).is_err());
        assert!(Feeder::fits(Duration::from_ticks(2), Duration::from_ticks(0)).is_err());
        let f = Feeder::new(Duration::from_secs(15), at(0));
        assert_eq!(f.interval(), Duration::from_secs(5));
    }

    fn at(s: u64) -> Instant {
        Instant::from_secs(s)
    }

    #[test]
    fn checks_every_third_of_the_timeout_and_pets_only_when_healthy() {
        let mut f = Feeder::new(Duration::from_secs(15), at(0));
        assert_eq!(f.interval(), Duration::from_secs(5));
        assert!(f.checked(true, at(0)));
        assert_eq!(f.next_check(), at(5));
        assert_eq!(f.state(at(5)), WatchdogState::Fed);
        assert!(!f.checked(false, at(5)));
        assert_eq!(f.state(at(10)), WatchdogState::Withheld);
        assert!(!f.checked(false, at(10)));
        assert_eq!(f.failures(), 2);
        assert_eq!(f.state(at(15)), WatchdogState::Withheld);
        assert_eq!(f.state(at(16)), WatchdogState::Expired);
        // Recovering in time pets again.
        assert!(f.checked(true, at(14)));
        assert_eq!(f.state(at(20)), WatchdogState::Fed);
        assert_eq!(f.failures(), 0);
    }
}
