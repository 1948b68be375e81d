//! Thermal: plausible, stable readings that drive the governor.
#![allow(clippy::unwrap_used)]

use warren_board::Duration;
use warren_board::sim::SimBoard;
use warren_hw_tests::{ManualClock, WallClock, on_mocks, on_the_pi, thermal};

fn main() -> std::process::ExitCode {
    warren_hw_tests::run(vec![
        on_mocks("thermal_on_the_simulated_board", || {
            let (board, control) = SimBoard::new(Duration::from_secs(15));
            let mut sensors = board.sensors;
            control.set_temperature(52.5);
            thermal::check(
                &mut sensors,
                &ManualClock::default(),
                5,
                Duration::from_secs(1),
            )?;
            control.set_temperature(140.0);
            match thermal::check(
                &mut sensors,
                &ManualClock::default(),
                1,
                Duration::from_secs(1),
            ) {
                Err(e) if e.contains("implausible") => Ok(()),
                other => Err(format!("140 °C passed: {other:?}")),
            }
        }),
        on_the_pi("thermal_on_the_pi", |w| {
            let mut sensors = w.sensors();
            if sensors.under_voltage.is_none() {
                eprintln!("note: no rpi_volt hwmon device; under-voltage is not reported");
            }
            thermal::check(
                &mut sensors,
                &WallClock::default(),
                5,
                Duration::from_secs(1),
            )
        }),
    ])
}
