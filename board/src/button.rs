//! The button: debounce, short and long presses, and the factory-reset
//! confirmation.
//!
//! [`ButtonDetector`] samples an input pin (every
//! [`ButtonDetector::IDLE_POLL`] while it rests, every
//! [`ButtonDetector::POLL`] while it is pressed or settling; it says when
//! with [`ButtonDetector::next_sample`]) and turns its level into events. A level counts once it held
//! steady for the debounce time. A press released before the long-press
//! time is a [`ButtonEvent::Short`]; one still held at the long-press time
//! gives [`ButtonEvent::Long`] at once (so the LED can answer while the
//! finger is still on the button) and [`ButtonEvent::Released`] when let go.
//!
//! [`ResetFlow`]: a long press asks for a factory reset (the LED warns); a
//! second long press that begins within the confirmation window after the
//! first is released confirms it. Anything else, or nothing, cancels.

use embassy_time::{Duration, Instant};
use embedded_hal::digital::InputPin;

/// What the button did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ButtonEvent {
    /// Pressed (debounced).
    Down,
    /// Released before the long-press time.
    Short,
    /// Still held at the long-press time.
    Long,
    /// Released after a long press.
    Released,
}

/// Button timing.
#[derive(Debug, Clone, Copy)]
pub struct ButtonConfig {
    /// A level must hold this long to count.
    pub debounce: Duration,
    /// A hold this long is a long press.
    pub long_press: Duration,
    /// The button reads low when pressed (wired to ground with a pull-up).
    pub active_low: bool,
}

impl Default for ButtonConfig {
    fn default() -> ButtonConfig {
        ButtonConfig {
            debounce: Duration::from_millis(30),
            long_press: Duration::from_secs(10),
            active_low: false,
        }
    }
}

/// Turns pin levels into [`ButtonEvent`]s.
pub struct ButtonDetector<P> {
    pin: P,
    cfg: ButtonConfig,
    /// The debounced state: pressed or not.
    pressed: bool,
    /// A different raw level seen, and since when.
    candidate: Option<(bool, Instant)>,
    pressed_at: Option<Instant>,
    long_sent: bool,
}

impl<P: InputPin> ButtonDetector<P> {
    /// How often to sample the pin while it is pressed or settling.
    pub const POLL: Duration = Duration::from_millis(10);
    /// How often to sample it while it rests: a press lasts far longer, and
    /// the first sample that sees it switches to [`Self::POLL`].
    pub const IDLE_POLL: Duration = Duration::from_millis(50);

    /// When to sample next, after a sample at `now`.
    pub fn next_sample(&self, now: Instant) -> Instant {
        let resting = !self.pressed && self.candidate.is_none();
        now + if resting { Self::IDLE_POLL } else { Self::POLL }
    }

    /// A detector that takes the button as released to begin with.
    pub fn new(pin: P, cfg: ButtonConfig) -> ButtonDetector<P> {
        ButtonDetector {
            pin,
            cfg,
            pressed: false,
            candidate: None,
            pressed_at: None,
            long_sent: false,
        }
    }

    /// Whether the button is (debounced) pressed.
    pub fn pressed(&self) -> bool {
        self.pressed
    }

    /// Samples the pin at `now`; at most one event per sample.
    pub fn sample(&mut self, now: Instant) -> Result<Option<ButtonEvent>, P::Error> {
        let raw = self.pin.is_high()? != self.cfg.active_low;
        Ok(self.feed(raw, now))
    }

    /// Feeds a raw level (pressed or not) seen at `now`.
    pub fn feed(&mut self, raw: bool, now: Instant) -> Option<ButtonEvent> {
        if raw == self.pressed {
            self.candidate = None;
        } else {
            match self.candidate {
                Some((level, since)) if level == raw => {
                    if now.saturating_duration_since(since) >= self.cfg.debounce {
                        self.candidate = None;
                        return Some(self.settle(raw, since));
                    }
                }
                _ => self.candidate = Some((raw, now)),
            }
        }
        if self.pressed && !self.long_sent {
            let at = self.pressed_at.unwrap_or(now);
            // A release still being debounced ended the hold when it began.
            let until = match self.candidate {
                Some((false, since)) => since,
                _ => now,
            };
            if until.saturating_duration_since(at) >= self.cfg.long_press {
                self.long_sent = true;
                return Some(ButtonEvent::Long);
            }
        }
        None
    }

    /// The debounced level changed; it began at `since`.
    fn settle(&mut self, pressed: bool, since: Instant) -> ButtonEvent {
        self.pressed = pressed;
        if pressed {
            self.pressed_at = Some(since);
            self.long_sent = false;
            ButtonEvent::Down
        } else {
            self.pressed_at = None;
            if std::mem::take(&mut self.long_sent) {
                ButtonEvent::Released
            } else {
                ButtonEvent::Short
            }
        }
    }
}

/// Where a factory-reset request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetStep {
    /// Nothing asked.
    Idle,
    /// A long press asked; waiting for the first hold to end, then for a
    /// second one to begin.
    Armed,
    /// A second press began in time; it must be held to the long-press time.
    Confirming,
    /// Confirmed: wipe.
    Confirmed,
}

/// The factory-reset confirmation: long press, release, and a second long
/// press beginning within `window` of the release.
#[derive(Debug, Clone)]
pub struct ResetFlow {
    window: Duration,
    step: ResetStep,
    /// End of the window to begin the second hold (set at the release).
    deadline: Option<Instant>,
}

/// What a [`ResetFlow`] step changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetChange {
    /// Nothing.
    None,
    /// A reset was asked: warn.
    Armed,
    /// The request lapsed or was answered otherwise: back to normal.
    Cancelled,
    /// Confirmed: wipe now.
    Confirmed,
}

impl ResetFlow {
    /// A flow whose second hold must begin within `window` of the first's
    /// release.
    pub fn new(window: Duration) -> ResetFlow {
        ResetFlow {
            window,
            step: ResetStep::Idle,
            deadline: None,
        }
    }

    /// Where it stands.
    pub fn step(&self) -> ResetStep {
        self.step
    }

    /// When [`ResetFlow::tick`] must run next (none: no deadline).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// A button event at `now`.
    pub fn on_event(&mut self, ev: ButtonEvent, now: Instant) -> ResetChange {
        use ButtonEvent as E;
        use ResetStep as S;
        match (self.step, ev) {
            (S::Idle, E::Long) => {
                self.step = S::Armed;
                self.deadline = None;
                ResetChange::Armed
            }
            (S::Armed, E::Released) => {
                self.deadline = Some(now + self.window);
                ResetChange::None
            }
            (S::Armed, E::Down) if self.deadline.is_some_and(|d| now <= d) => {
                self.step = S::Confirming;
                self.deadline = None;
                ResetChange::None
            }
            (S::Confirming, E::Long) => {
                self.step = S::Confirmed;
                ResetChange::Confirmed
            }
            (S::Confirming, E::Short) => self.cancel(),
            (S::Idle | S::Confirmed, _) => ResetChange::None,
            _ => ResetChange::None,
        }
    }

    /// Time passing: the window lapses.
    pub fn tick(&mut self, now: Instant) -> ResetChange {
        if self.step == ResetStep::Armed && self.deadline.is_some_and(|d| now > d) {
            return self.cancel();
        }
        ResetChange::None
    }

    fn cancel(&mut self) -> ResetChange {
        self.step = ResetStep::Idle;
        self.deadline = None;
        ResetChange::Cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mock::MockPin;

    fn at(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    fn cfg() -> ButtonConfig {
        ButtonConfig {
            debounce: Duration::from_millis(30),
            long_press: Duration::from_secs(10),
            active_low: false,
        }
    }

    /// Samples every 10 ms from `from` to `to` (exclusive), collecting events.
    fn run(d: &mut ButtonDetector<MockPin>, from: u64, to: u64) -> Vec<(u64, ButtonEvent)> {
        (from..to)
            .step_by(10)
            .filter_map(|t| d.sample(at(t)).unwrap().map(|e| (t, e)))
            .collect()
    }

    #[test]
    fn a_short_press_is_one_down_and_one_short() {
        let finger = MockPin::new(false);
        let mut d = ButtonDetector::new(finger.clone(), cfg());
        assert!(run(&mut d, 0, 100).is_empty());
        finger.set_level(true);
        let ev = run(&mut d, 100, 400);
        assert_eq!(ev, vec![(130, ButtonEvent::Down)]);
        finger.set_level(false);
        assert_eq!(run(&mut d, 400, 600), vec![(430, ButtonEvent::Short)]);
    }

    #[test]
    fn bounces_shorter_than_the_debounce_time_are_ignored() {
        let finger = MockPin::new(false);
        let mut d = ButtonDetector::new(finger.clone(), cfg());
        let mut events = Vec::new();
        // Contact bounce: 20 ms up, 10 ms down, repeatedly.
        for t in (0..300).step_by(10) {
            finger.set_level(t % 30 != 20);
            events.extend(d.sample(at(t)).unwrap());
        }
        assert!(events.is_empty(), "{events:?}");
        finger.set_level(false);
        assert!(run(&mut d, 300, 400).is_empty());
        assert!(!d.pressed());
    }

    #[test]
    fn a_long_press_fires_while_held_and_releases_once() {
        let finger = MockPin::new(false);
        let mut d = ButtonDetector::new(finger.clone(), cfg());
        finger.set_level(true);
        let ev = run(&mut d, 0, 12_000);
        // Held from 0 (debounced at 30): long at 10 s after the press began.
        assert_eq!(
            ev,
            vec![(30, ButtonEvent::Down), (10_000, ButtonEvent::Long)]
        );
        finger.set_level(false);
        assert_eq!(
            run(&mut d, 12_000, 12_100),
            vec![(12_030, ButtonEvent::Released)]
        );
    }

    #[test]
    fn a_press_just_under_the_long_time_is_short() {
        let finger = MockPin::new(false);
        let mut d = ButtonDetector::new(finger.clone(), cfg());
        finger.set_level(true);
        let ev = run(&mut d, 0, 9_990);
        assert_eq!(ev, vec![(30, ButtonEvent::Down)]);
        finger.set_level(false);
        assert_eq!(
            run(&mut d, 9_990, 10_100),
            vec![(10_020, ButtonEvent::Short)]
        );
    }

    #[test]
    fn sampling_slows_down_only_while_the_button_rests() {
        let finger = MockPin::new(false);
        let mut d = ButtonDetector::new(finger.clone(), cfg());
        d.sample(at(0)).unwrap();
        assert_eq!(d.next_sample(at(0)), at(50));
        finger.set_level(true);
        d.sample(at(50)).unwrap();
        assert_eq!(d.next_sample(at(50)), at(60), "settling");
        assert_eq!(d.sample(at(80)).unwrap(), Some(ButtonEvent::Down));
        assert_eq!(d.next_sample(at(80)), at(90), "pressed");
        // A 100 ms press sampled at the idle rate is still caught whole.
        let finger = MockPin::new(false);
        let mut d = ButtonDetector::new(finger.clone(), cfg());
        let mut t = 0;
        let mut seen = Vec::new();
        while t < 1000 {
            finger.set_level((420..520).contains(&t));
            seen.extend(d.sample(at(t)).unwrap());
            t = d.next_sample(at(t)).as_millis();
        }
        assert_eq!(seen, vec![ButtonEvent::Down, ButtonEvent::Short]);
    }

    #[test]
    fn active_low_buttons_read_inverted() {
        let pin = MockPin::new(true);
        let mut d = ButtonDetector::new(
            pin.clone(),
            ButtonConfig {
                active_low: true,
                ..cfg()
            },
        );
        assert!(run(&mut d, 0, 100).is_empty());
        pin.set_level(false);
        assert_eq!(run(&mut d, 100, 200), vec![(130, ButtonEvent::Down)]);
    }

    /// Drives a flow through a detector: `presses` are (start, length) in ms.
    fn reset_run(presses: &[(u64, u64)], until: u64) -> Vec<(u64, ResetChange)> {
        let finger = MockPin::new(false);
        let mut d = ButtonDetector::new(finger.clone(), cfg());
        let mut flow = ResetFlow::new(Duration::from_secs(5));
        let mut changes = Vec::new();
        for t in (0..until).step_by(10) {
            let held = presses.iter().any(|&(s, l)| t >= s && t < s + l);
            finger.set_level(held);
            let mut c = flow.tick(at(t));
            if let Some(ev) = d.sample(at(t)).unwrap() {
                let c2 = flow.on_event(ev, at(t));
                if c2 != ResetChange::None {
                    c = c2;
                }
            }
            if c != ResetChange::None {
                changes.push((t, c));
            }
        }
        changes
    }

    #[test]
    fn reset_needs_a_second_hold_begun_within_the_window() {
        // Hold 11 s, release, hold again 2 s later for 10.5 s: confirmed.
        let c = reset_run(&[(0, 11_000), (13_000, 10_500)], 25_000);
        assert_eq!(
            c,
            vec![
                (10_000, ResetChange::Armed),
                (23_000, ResetChange::Confirmed)
            ]
        );
    }

    #[test]
    fn reset_lapses_without_a_second_hold() {
        let c = reset_run(&[(0, 11_000)], 20_000);
        // Released (debounced) at 11 030; the window closes 5 s later.
        assert_eq!(
            c,
            vec![
                (10_000, ResetChange::Armed),
                (16_040, ResetChange::Cancelled)
            ]
        );
    }

    #[test]
    fn reset_is_cancelled_by_a_short_second_press_or_a_late_one() {
        let short = reset_run(&[(0, 11_000), (12_000, 500)], 20_000);
        assert_eq!(
            short,
            vec![
                (10_000, ResetChange::Armed),
                (12_530, ResetChange::Cancelled)
            ]
        );
        // The second hold begins 6 s after the release: too late, and being
        // a fresh long press, it asks again rather than confirming.
        let late = reset_run(&[(0, 11_000), (17_100, 10_500)], 30_000);
        assert_eq!(
            late,
            vec![
                (10_000, ResetChange::Armed),
                (16_040, ResetChange::Cancelled),
                (27_100, ResetChange::Armed)
            ]
        );
    }

    #[test]
    fn short_presses_never_reset() {
        let presses: Vec<(u64, u64)> = (0..20).map(|i| (i * 1000, 300)).collect();
        assert!(reset_run(&presses, 25_000).is_empty());
    }
}
