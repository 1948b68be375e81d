//! The checks, one per peripheral. Each returns what went wrong in words.

use embedded_hal::digital::{InputPin, OutputPin};
use warren_board::{
    Blinker, ButtonConfig, ButtonDetector, ButtonEvent, Duration, Feeder, Governor, Pattern,
    Sensors, Watchdog, WatchdogState,
};

use crate::Clock;

fn hal<E: std::fmt::Debug>(what: &'static str) -> impl Fn(E) -> String {
    move |e| format!("{what}: {e:?}")
}

/// LED: every pattern played on `led` for `each`, read back on `loopback`
/// (the LED's pin wired to an input) every 5 ms; away from an edge (±15 ms)
/// the level read must be the pattern's.
pub mod led {
    use super::*;

    /// Runs the check.
    pub fn check<O: OutputPin, I: InputPin>(
        led: O,
        mut loopback: I,
        clock: &impl Clock,
        each: Duration,
    ) -> Result<(), String> {
        let tol = Duration::from_millis(15);
        let step = Duration::from_millis(5);
        let mut blinker = Blinker::new(led, false, clock.now()).map_err(hal("LED"))?;
        for p in Pattern::ALL {
            let start = clock.now();
            let mut next = blinker.set(p, start).map_err(hal("LED"))?;
            let (mut samples, mut wrong) = (0u32, Vec::new());
            while clock.now() - start < each {
                let now = clock.now();
                if next.is_some_and(|n| now >= n) {
                    next = blinker.poll(now).map_err(hal("LED"))?;
                }
                let t = now - start;
                let early = Duration::from_ticks(t.as_ticks().saturating_sub(tol.as_ticks()));
                if p.lit_at(early) == p.lit_at(t + tol) {
                    samples += 1;
                    let lit = loopback.is_high().map_err(hal("loopback"))?;
                    if lit != p.lit_at(t) {
                        wrong.push(t.as_millis());
                    }
                }
                clock.sleep(step);
            }
            if !wrong.is_empty() {
                return Err(format!(
                    "{p}: the loopback read the wrong level at {} of {samples} samples (ms: {:?})",
                    wrong.len(),
                    &wrong[..wrong.len().min(10)]
                ));
            }
        }
        blinker.set(Pattern::Off, clock.now()).map_err(hal("LED"))?;
        Ok(())
    }
}

/// Button: `driver` (an output wired to the button's line) presses it: a
/// short press, a bouncing press, a long press; the detector must see
/// exactly the events a person would mean, the long one on time.
pub mod button {
    use super::*;

    /// A named press: (milliseconds, level) steps, and the events it means.
    type Script = (&'static str, Vec<(u64, bool)>, &'static [ButtonEvent]);

    /// The long-press time the check uses.
    pub const LONG: Duration = Duration::from_millis(1500);

    /// Runs the check.
    pub fn check<O: OutputPin, I: InputPin>(
        mut driver: O,
        button: I,
        clock: &impl Clock,
    ) -> Result<(), String> {
        let cfg = ButtonConfig {
            long_press: LONG,
            ..ButtonConfig::default()
        };
        let mut d = ButtonDetector::new(button, cfg);
        // (milliseconds, level) in order; the level holds until the next.
        let bounce: Vec<(u64, bool)> = (0..8).map(|i| (i * 3, i % 2 == 0)).collect();
        let scripts: [Script; 3] = [
            (
                "short press",
                vec![(0, true), (200, false), (400, false)],
                &[ButtonEvent::Down, ButtonEvent::Short],
            ),
            (
                "bouncing press",
                [bounce, vec![(24, true), (300, false), (500, false)]].concat(),
                &[ButtonEvent::Down, ButtonEvent::Short],
            ),
            (
                "long press",
                vec![(0, true), (2000, false), (2200, false)],
                &[ButtonEvent::Down, ButtonEvent::Long, ButtonEvent::Released],
            ),
        ];
        for (name, script, want) in scripts {
            let start = clock.now();
            let end = Duration::from_millis(script.last().map_or(0, |s| s.0));
            let mut seen = Vec::new();
            let mut long_at = None;
            let mut i = 0;
            while clock.now() - start <= end {
                let t = clock.now() - start;
                while i < script.len() && Duration::from_millis(script[i].0) <= t {
                    let r = if script[i].1 {
                        driver.set_high()
                    } else {
                        driver.set_low()
                    };
                    r.map_err(hal("driver"))?;
                    i += 1;
                }
                if let Some(ev) = d.sample(clock.now()).map_err(hal("button"))? {
                    if ev == ButtonEvent::Long {
                        long_at = Some(t);
                    }
                    seen.push(ev);
                }
                clock.sleep(Duration::from_millis(2));
            }
            if seen != want {
                return Err(format!("{name}: saw {seen:?}, wanted {want:?}"));
            }
            if let Some(t) = long_at {
                let late = t.as_millis().abs_diff(LONG.as_millis());
                if late > 100 {
                    return Err(format!(
                        "{name}: the long press fired at {} ms",
                        t.as_millis()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Watchdog: petted through the feeder while healthy, not petted while
/// "hung" for `hang`, petted again after; `pets` counts pets as the device
/// saw them. With `hang` below the timeout the board survives; above it, a
/// real board resets (the check then never returns).
pub mod watchdog {
    use super::*;

    /// Runs `healthy` checks for `length`; returns the pets the device saw.
    fn run<W: Watchdog>(
        w: &mut W,
        f: &mut Feeder,
        clock: &impl Clock,
        pets: &dyn Fn() -> u64,
        healthy: bool,
        length: Duration,
    ) -> Result<u64, String> {
        let start = clock.now();
        let before = pets();
        while clock.now() - start < length {
            let now = clock.now();
            if now >= f.next_check() && f.checked(healthy, now) {
                w.pet().map_err(|e| e.to_string())?;
            }
            clock.sleep(Duration::from_millis(100));
        }
        Ok(pets() - before)
    }

    /// Runs the check.
    pub fn check<W: Watchdog>(
        w: &mut W,
        clock: &impl Clock,
        hang: Duration,
        pets: &dyn Fn() -> u64,
    ) -> Result<(), String> {
        let timeout = w.timeout();
        let mut f = Feeder::new(timeout, clock.now());
        let fed = run(w, &mut f, clock, pets, true, timeout + timeout)?;
        if fed < 5 {
            return Err(format!("healthy for two timeouts, petted {fed} times"));
        }
        let hung = run(w, &mut f, clock, pets, false, hang)?;
        if hung != 0 {
            return Err(format!("petted {hung} times while the node was hung"));
        }
        let want = if hang > timeout {
            WatchdogState::Expired
        } else {
            WatchdogState::Withheld
        };
        if f.state(clock.now()) != want {
            return Err(format!(
                "state {:?} after the hang, wanted {want:?}",
                f.state(clock.now())
            ));
        }
        let again = run(w, &mut f, clock, pets, true, timeout)?;
        if again == 0 || f.state(clock.now()) != WatchdogState::Fed {
            return Err("not petted again after the hang".into());
        }
        w.disarm().map_err(|e| e.to_string())
    }
}

/// Thermal: readings are plausible, stable over a few seconds, and drive
/// the governor across its marks.
pub mod thermal {
    use super::*;

    /// Runs the check over `readings` readings `every` apart.
    pub fn check<S: Sensors>(
        sensors: &mut S,
        clock: &impl Clock,
        readings: u32,
        every: Duration,
    ) -> Result<(), String> {
        let mut temps = Vec::new();
        for _ in 0..readings {
            let r = sensors.read().map_err(|e| e.to_string())?;
            let c = r.temperature_c.ok_or("no temperature reading")?;
            if !(0.0..=110.0).contains(&c) {
                return Err(format!("implausible SoC temperature {c} °C"));
            }
            temps.push(c);
            clock.sleep(every);
        }
        let (lo, hi) = temps
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &c| (a.min(c), b.max(c)));
        if hi - lo > 20.0 {
            return Err(format!("readings jump from {lo} to {hi} °C"));
        }
        let mut g = Governor::new(lo, lo - 5.0);
        if g.update(hi) != Some(true) || g.update(lo - 5.0) != Some(false) {
            return Err("the governor did not follow the readings".into());
        }
        Ok(())
    }
}
