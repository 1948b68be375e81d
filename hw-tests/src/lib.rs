//! Hardware checks for the box's peripherals, written once against
//! `embedded-hal` pins, the [`Watchdog`](warren_board::Watchdog) and
//! [`Sensors`](warren_board::Sensors) traits and a
//! [`Clock`], and run two ways by the test binaries in `tests/`:
//!
//! - on mock pins, the simulated board and a [`ManualClock`], everywhere;
//! - on a real Raspberry Pi wired as `README.md` shows, with the wall
//!   clock, when `WARREN_HW_TESTS=1` is set there. Elsewhere that half is
//!   reported as ignored, with the reason.

#![forbid(unsafe_code)]

mod checks;
mod clock;
pub mod pi;

pub use checks::{button, led, thermal, watchdog};
pub use clock::{Clock, ManualClock, WallClock};

use libtest_mimic::{Completion, Failed, Trial};

/// A trial for the real Pi: runs `check` when the hardware is there and
/// asked for, else reports why it is ignored.
pub fn on_the_pi(
    name: &str,
    check: impl FnOnce(&pi::Wiring) -> Result<(), String> + Send + 'static,
) -> Trial {
    let label = name.to_string();
    Trial::ignorable_test(name, move || match pi::Wiring::find() {
        Ok(w) => check(&w)
            .map(|()| Completion::Completed)
            .map_err(Failed::from),
        Err(why) => {
            eprintln!("\nskipped {label}: {why}");
            Ok(Completion::ignored_with(why))
        }
    })
}

/// A trial on mock parts.
pub fn on_mocks(name: &str, check: impl FnOnce() -> Result<(), String> + Send + 'static) -> Trial {
    Trial::test(name, move || check().map_err(Failed::from))
}

/// Runs the trials with libtest's command line (so `cargo test` and
/// nextest both drive these binaries).
pub fn run(trials: Vec<Trial>) -> std::process::ExitCode {
    libtest_mimic::run(&libtest_mimic::Arguments::from_args(), trials).exit_code()
}
