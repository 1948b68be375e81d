//! The status LED's patterns and the blinker that plays them.
//!
//! | Pattern         | Looks like                                   | Means |
//! |-----------------|----------------------------------------------|-------|
//! | `off`           | dark                                         | no board support, or the node stopped |
//! | `starting`      | steady on                                    | the node is starting |
//! | `bootstrapping` | slow even blink (0.5 s on, 0.5 s off)        | connecting to Tor, publishing the onion service |
//! | `online`        | a short flash every 3 s (heartbeat)          | online: reachable over Tor, nothing wrong |
//! | `degraded`      | double flash every 2 s                       | running, but not reachable, disk nearly full, too hot or under-powered |
//! | `pairing`       | fast blink (0.1 s on, 0.1 s off)             | pairing mode: the pairing code works on the local network |
//! | `reset`         | flicker (0.05 s on, 0.05 s off)              | factory reset asked: hold again to confirm; or wiping |
//! | `error`         | three long flashes, then a pause             | the node cannot run or stopped answering |

use embassy_time::{Duration, Instant};
use embedded_hal::digital::OutputPin;

/// What the LED shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Dark.
    Off,
    /// Steady on: starting.
    Starting,
    /// Slow even blink: connecting to Tor.
    Bootstrapping,
    /// Heartbeat: online.
    Online,
    /// Double flash: running with a problem.
    Degraded,
    /// Fast blink: pairing mode.
    Pairing,
    /// Flicker: factory reset asked or under way.
    Reset,
    /// Three long flashes: cannot run.
    Error,
}

const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Pattern {
    /// Every pattern.
    pub const ALL: [Pattern; 8] = [
        Pattern::Off,
        Pattern::Starting,
        Pattern::Bootstrapping,
        Pattern::Online,
        Pattern::Degraded,
        Pattern::Pairing,
        Pattern::Reset,
        Pattern::Error,
    ];

    /// The name `status --json` reports.
    pub fn name(self) -> &'static str {
        match self {
            Pattern::Off => "off",
            Pattern::Starting => "starting",
            Pattern::Bootstrapping => "bootstrapping",
            Pattern::Online => "online",
            Pattern::Degraded => "degraded",
            Pattern::Pairing => "pairing",
            Pattern::Reset => "reset",
            Pattern::Error => "error",
        }
    }

    /// The pattern named `name`.
    pub fn from_name(name: &str) -> Option<Pattern> {
        Pattern::ALL.into_iter().find(|p| p.name() == name)
    }

    /// One cycle: alternating on and off durations, starting with on.
    /// Empty: steady off; one step: steady on.
    pub fn steps(self) -> &'static [Duration] {
        const STARTING: [Duration; 1] = [ms(1000)];
        const BOOT: [Duration; 2] = [ms(500), ms(500)];
        const ONLINE: [Duration; 2] = [ms(100), ms(2900)];
        const DEGRADED: [Duration; 4] = [ms(150), ms(150), ms(150), ms(1550)];
        const PAIRING: [Duration; 2] = [ms(100), ms(100)];
        const RESET: [Duration; 2] = [ms(50), ms(50)];
        const ERROR: [Duration; 6] = [ms(600), ms(300), ms(600), ms(300), ms(600), ms(1500)];
        match self {
            Pattern::Off => &[],
            Pattern::Starting => &STARTING,
            Pattern::Bootstrapping => &BOOT,
            Pattern::Online => &ONLINE,
            Pattern::Degraded => &DEGRADED,
            Pattern::Pairing => &PAIRING,
            Pattern::Reset => &RESET,
            Pattern::Error => &ERROR,
        }
    }

    /// Whether the LED is lit `t` after the pattern started.
    pub fn lit_at(self, t: Duration) -> bool {
        let steps = self.steps();
        match steps.len() {
            0 => false,
            1 => true,
            _ => {
                let cycle: u64 = steps.iter().map(|d| d.as_ticks()).sum();
                let mut at = t.as_ticks() % cycle;
                for (i, d) in steps.iter().enumerate() {
                    if at < d.as_ticks() {
                        return i % 2 == 0;
                    }
                    at -= d.as_ticks();
                }
                false
            }
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Plays a [`Pattern`] on an output pin. Call [`Blinker::poll`] at (or
/// after) the instant it returns; [`Blinker::set`] switches patterns.
pub struct Blinker<P> {
    pin: P,
    active_low: bool,
    pattern: Pattern,
    step: usize,
    step_started: Instant,
    lit: bool,
}

impl<P: OutputPin> Blinker<P> {
    /// A dark LED. `active_low`: the LED lights when the pin is low.
    pub fn new(pin: P, active_low: bool, now: Instant) -> Result<Blinker<P>, P::Error> {
        let mut b = Blinker {
            pin,
            active_low,
            pattern: Pattern::Off,
            step: 0,
            step_started: now,
            lit: true,
        };
        b.drive(false)?;
        Ok(b)
    }

    /// The pattern playing.
    pub fn pattern(&self) -> Pattern {
        self.pattern
    }

    /// Whether the LED is lit now.
    pub fn lit(&self) -> bool {
        self.lit
    }

    /// Plays `pattern` from its start (no change if it is already playing).
    /// Returns when to poll next.
    pub fn set(&mut self, pattern: Pattern, now: Instant) -> Result<Option<Instant>, P::Error> {
        if pattern != self.pattern {
            self.pattern = pattern;
            self.step = 0;
            self.step_started = now;
            self.drive(!pattern.steps().is_empty())?;
        }
        self.poll(now)
    }

    /// Advances the pattern to `now`; returns when the LED next changes
    /// (none: it stays as it is until the pattern changes).
    pub fn poll(&mut self, now: Instant) -> Result<Option<Instant>, P::Error> {
        let steps = self.pattern.steps();
        if steps.len() < 2 {
            return Ok(None);
        }
        // A late poll skips whole steps rather than replaying them.
        let mut end = self.step_started + steps[self.step];
        while now >= end {
            self.step = (self.step + 1) % steps.len();
            self.step_started = end;
            end = self.step_started + steps[self.step];
        }
        self.drive(self.step % 2 == 0)?;
        Ok(Some(end))
    }

    fn drive(&mut self, lit: bool) -> Result<(), P::Error> {
        if lit != self.lit {
            self.lit = lit;
            if lit != self.active_low {
                self.pin.set_high()?;
            } else {
                self.pin.set_low()?;
            }
        }
        Ok(())
    }

    /// The pin, back.
    pub fn release(self) -> P {
        self.pin
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockPin;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn names_round_trip_and_every_pattern_is_distinct() {
        for p in Pattern::ALL {
            assert_eq!(Pattern::from_name(p.name()), Some(p));
        }
        assert_eq!(Pattern::from_name("blue"), None);
        for (i, a) in Pattern::ALL.iter().enumerate() {
            for b in &Pattern::ALL[i + 1..] {
                assert_ne!(a.steps(), b.steps(), "{a} looks like {b}");
            }
        }
    }

    #[test]
    fn the_heartbeat_flashes_briefly_every_three_seconds() {
        let pin = MockPin::new(false);
        let mut b = Blinker::new(pin.clone(), false, at(0)).unwrap();
        assert_eq!(b.set(Pattern::Online, at(0)).unwrap(), Some(at(100)));
        assert!(pin.is_set_high());
        assert_eq!(b.poll(at(99)).unwrap(), Some(at(100)));
        assert!(pin.is_set_high());
        assert_eq!(b.poll(at(100)).unwrap(), Some(at(3000)));
        assert!(!pin.is_set_high());
        assert_eq!(b.poll(at(3000)).unwrap(), Some(at(3100)));
        assert!(pin.is_set_high());
        // Polled late, it lands on the right step without replaying.
        assert_eq!(b.poll(at(9050)).unwrap(), Some(at(9100)));
        assert!(pin.is_set_high() && b.lit());
        // Off at 100, on at 3000; the late poll lands on a lit step again.
        assert_eq!(pin.edges(), 3);
    }

    #[test]
    fn steady_patterns_need_no_polling_and_active_low_inverts() {
        let pin = MockPin::new(true);
        let mut b = Blinker::new(pin.clone(), true, at(0)).unwrap();
        assert!(pin.is_set_high(), "dark on an active-low pin is high");
        assert_eq!(b.set(Pattern::Starting, at(5)).unwrap(), None);
        assert!(!pin.is_set_high());
        assert_eq!(b.set(Pattern::Off, at(6)).unwrap(), None);
        assert!(pin.is_set_high());
    }

    #[test]
    fn the_blinker_matches_the_pattern_table_at_every_millisecond() {
        for p in Pattern::ALL {
            let pin = MockPin::new(false);
            let mut b = Blinker::new(pin.clone(), false, at(0)).unwrap();
            let mut next = b.set(p, at(0)).unwrap();
            for t in 0..7000 {
                if next.is_some_and(|n| at(t) >= n) {
                    next = b.poll(at(t)).unwrap();
                }
                assert_eq!(
                    pin.is_set_high(),
                    p.lit_at(Duration::from_millis(t)),
                    "{p} at {t} ms"
                );
            }
        }
    }

    #[test]
    fn switching_patterns_restarts_the_cycle() {
        let pin = MockPin::new(false);
        let mut b = Blinker::new(pin.clone(), false, at(0)).unwrap();
        b.set(Pattern::Bootstrapping, at(0)).unwrap();
        b.poll(at(700)).unwrap();
        assert!(!pin.is_set_high());
        assert_eq!(b.set(Pattern::Pairing, at(700)).unwrap(), Some(at(800)));
        assert!(pin.is_set_high());
        assert_eq!(b.pattern(), Pattern::Pairing);
        // Setting the same pattern again does not restart it.
        assert_eq!(b.set(Pattern::Pairing, at(850)).unwrap(), Some(at(900)));
        assert!(!pin.is_set_high());
    }
}
