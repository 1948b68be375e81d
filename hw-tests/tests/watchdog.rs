//! Watchdog: fed while healthy, not fed while hung, fed again after.
//! On the Pi the hang stays below the timeout so the board survives;
//! `WARREN_HW_BITE=1` hangs past it: the Pi must reset (watch it reboot).
//!
//! On a real Pi, the driver's own timeout (Linux `bcm2835_wdt`: 15 s by
//! default, at most 15 s) is `cat /sys/class/watchdog/watchdog0/timeout`;
//! the test reads the same file after opening `/dev/watchdog` and hangs for
//! two thirds of it. With `warren` running instead, `journalctl -u warren |
//! grep 'watchdog armed'` shows the timeout the daemon read back, how often
//! it checks liveness (a third of the timeout) and its deadline;
//! `warren status` says `watchdog fed`. Under qemu's raspi machines the
//! driver is left out (`hw-tests/qemu-boot-pi.sh` says why).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use warren_board::sim::SimBoard;
use warren_board::{BoardError, Duration, Watchdog};
use warren_hw_tests::{ManualClock, WallClock, on_mocks, on_the_pi, watchdog};

/// Counts the pets that reach the device.
struct Counted<W>(W, Arc<AtomicU64>);

impl<W: Watchdog> Watchdog for Counted<W> {
    fn pet(&mut self) -> Result<(), BoardError> {
        self.0.pet()?;
        self.1.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn timeout(&self) -> Duration {
        self.0.timeout()
    }
    fn disarm(&mut self) -> Result<(), BoardError> {
        self.0.disarm()
    }
}

fn main() -> std::process::ExitCode {
    warren_hw_tests::run(vec![
        on_mocks("watchdog_on_the_simulated_board", || {
            let (board, control) = SimBoard::new(Duration::from_secs(15));
            let mut w = board.watchdog;
            watchdog::check(
                &mut w,
                &ManualClock::default(),
                Duration::from_secs(10),
                &|| control.pets(),
            )?;
            if control.watchdog_armed() {
                return Err("not disarmed at the end".into());
            }
            // Hung past the timeout: expired.
            let (board, control) = SimBoard::new(Duration::from_secs(15));
            let mut w = board.watchdog;
            watchdog::check(
                &mut w,
                &ManualClock::default(),
                Duration::from_secs(20),
                &|| control.pets(),
            )
        }),
        on_the_pi("watchdog_on_the_pi", |w| {
            let pets = Arc::new(AtomicU64::new(0));
            let mut dev = Counted(w.watchdog()?, pets.clone());
            let timeout = dev.timeout();
            let bite = std::env::var("WARREN_HW_BITE").as_deref() == Ok("1");
            let hang = if bite {
                eprintln!("hanging past the {timeout:?} timeout: the Pi should reset now");
                timeout + timeout
            } else {
                Duration::from_ticks(timeout.as_ticks() * 2 / 3)
            };
            let r = watchdog::check(&mut dev, &WallClock::default(), hang, &|| {
                pets.load(Ordering::SeqCst)
            });
            if bite {
                return Err(
                    "still running after hanging past the watchdog's timeout: it did not bite"
                        .into(),
                );
            }
            r
        }),
    ])
}
