//! Button: short, bouncing and long presses, driven through a wire.
#![allow(clippy::unwrap_used)]

use warren_board::mock::MockPin;
use warren_hw_tests::{ManualClock, WallClock, button, on_mocks, on_the_pi};

fn main() -> std::process::ExitCode {
    warren_hw_tests::run(vec![
        on_mocks("button_presses_on_mock_pins", || {
            let wire = MockPin::new(false);
            button::check(wire.clone(), wire, &ManualClock::default())
        }),
        on_the_pi("button_presses_on_the_pi", |w| {
            let (driver, line) = (w.line(w.button_driver, true)?, w.line(w.button, false)?);
            button::check(driver, line, &WallClock::default())
        }),
    ])
}
