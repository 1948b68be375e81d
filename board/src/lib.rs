//! Board support for Warren's always-on box.
//!
//! A box has no screen: its owner reads its state from one LED, acts on it
//! with one button, and trusts it to recover by itself when it hangs or
//! overheats. This crate holds what the node needs from a board and the
//! timing logic around it:
//!
//! - [`pattern`]: the LED's blink patterns ([`Pattern`]) and the
//!   [`Blinker`] that plays one on any `embedded-hal` output pin;
//! - [`button`]: debounce and long-press detection on any `embedded-hal`
//!   input pin ([`ButtonDetector`]), and the factory-reset confirmation
//!   ([`ResetFlow`]);
//! - [`watchdog`]: the [`Watchdog`] trait and the [`Feeder`] that pets it
//!   only when the node's own liveness check passes;
//! - [`thermal`]: the [`Sensors`] trait (SoC temperature, under-voltage) and
//!   the [`Governor`] that decides when the box is too hot, with hysteresis;
//! - [`mock`] and [`sim`]: mock pins and a simulated board, for tests and for
//!   running the node on a machine without GPIO;
//! - [`pi`]: the Raspberry Pi implementation (GPIO character device,
//!   `/dev/watchdog`, `/sys/class/thermal`).
//!
//! All timing logic takes the current [`Instant`] as an argument and says
//! when it next needs to run, so it never reads a clock itself: tests drive
//! it with a controlled clock, the node with tokio's, and a microcontroller
//! companion could drive it with an `embassy-time` driver.

#![forbid(unsafe_code)]

pub mod button;
pub mod mock;
pub mod pattern;
#[cfg(target_os = "linux")]
pub mod pi;
pub mod sim;
pub mod thermal;
pub mod watchdog;

pub use button::{ButtonConfig, ButtonDetector, ButtonEvent, ResetFlow, ResetStep};
pub use embassy_time::{Duration, Instant};
pub use pattern::{Blinker, Pattern};
pub use thermal::{Governor, Reading, Sensors};
pub use watchdog::{Feeder, Watchdog, WatchdogState};

/// A board part failed.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// A GPIO line could not be opened or driven.
    #[error("GPIO {what}: {detail}")]
    Gpio {
        /// Which line, and what was being done.
        what: String,
        /// What went wrong.
        detail: String,
    },
    /// A device or sysfs file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A sensor answered something that is not a reading.
    #[error("{path}: unexpected contents {contents:?}")]
    Parse {
        /// The file.
        path: String,
        /// What it held (first bytes).
        contents: String,
    },
}

impl BoardError {
    /// An I/O error on `path`.
    pub fn io(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> BoardError {
        let path = path.to_string();
        move |source| BoardError::Io { path, source }
    }
}
