//! LED: every pattern, read back through a loopback wire.
#![allow(clippy::unwrap_used)]

use warren_board::Duration;
use warren_board::mock::MockPin;
use warren_hw_tests::{ManualClock, WallClock, led, on_mocks, on_the_pi};

fn main() -> std::process::ExitCode {
    warren_hw_tests::run(vec![
        on_mocks("led_patterns_on_mock_pins", || {
            let wire = MockPin::new(false);
            led::check(
                wire.clone(),
                wire,
                &ManualClock::default(),
                Duration::from_secs(7),
            )
        }),
        on_mocks("a_broken_loopback_is_noticed", || {
            // The LED's pin not connected to the input: the check must fail.
            match led::check(
                MockPin::new(false),
                MockPin::new(false),
                &ManualClock::default(),
                Duration::from_secs(3),
            ) {
                Err(e) if e.contains("wrong level") => Ok(()),
                other => Err(format!("a dead loopback passed: {other:?}")),
            }
        }),
        on_the_pi("led_patterns_on_the_pi", |w| {
            let (led_pin, loopback) = (w.line(w.led, true)?, w.line(w.led_loopback, false)?);
            led::check(
                led_pin,
                loopback,
                &WallClock::default(),
                Duration::from_secs(4),
            )
        }),
    ])
}
