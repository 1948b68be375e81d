//! Opening the board `[board] kind` names.

use std::path::PathBuf;

use warren_board::pi::{PiBoard, PiConfig};
use warren_board::sim::{SimBoard, SimControl};
use warren_board::{BoardError, Duration};

use super::{BoardConfig, BoardKind};
use crate::Result;

/// An opened board.
pub(crate) enum Board {
    /// A Raspberry Pi, and a part it runs without.
    Pi(Box<PiBoard>, Option<String>),
    /// The simulated board, and the other end of its wires.
    Sim(SimBoard, SimControl),
}

impl Board {
    /// Stops the watchdog opening armed, for a board whose actor never
    /// started (a clean exit must not reset the box).
    pub(crate) fn disarm(&mut self) {
        use warren_board::Watchdog;
        if let Board::Pi(pi, _) = self {
            if let Some(w) = &mut pi.watchdog {
                if let Err(e) = w.disarm() {
                    tracing::warn!(error = %e, "board: the watchdog could not be disarmed");
                }
            }
        }
    }
}

fn path(p: &str) -> Option<PathBuf> {
    (!p.is_empty()).then(|| PathBuf::from(p))
}

/// Opens the board; none for `kind = "none"`. `auto` takes a Raspberry
/// Pi's parts only for a box (`appliance`): a member's node on a Pi must not
/// arm its watchdog or drive its pins.
pub(crate) fn open(cfg: &BoardConfig, appliance: bool) -> Result<Option<Board>> {
    let kind = match cfg.kind {
        BoardKind::Auto if appliance && warren_board::pi::is_raspberry_pi() => BoardKind::Pi,
        BoardKind::Auto => BoardKind::Sim,
        k => k,
    };
    let timeout = Duration::from_secs(cfg.watchdog_timeout_secs);
    Ok(match kind {
        BoardKind::None => None,
        BoardKind::Pi => {
            let mut pi = PiConfig {
                chip: PathBuf::from(&cfg.gpio_chip),
                led_line: cfg.led_pin,
                button_line: cfg.button_pin,
                watchdog: path(&cfg.watchdog),
                watchdog_timeout: timeout,
                temperature: path(&cfg.temperature_file),
                hwmon_root: PathBuf::from("/sys/class/hwmon"),
            };
            match PiBoard::open(&pi) {
                Ok(board) => Some(Board::Pi(Box::new(board), None)),
                // Without its watchdog (busy: systemd's RuntimeWatchdogSec
                // holds it, say) the box still shows and takes what it can.
                Err(e @ BoardError::Io { .. }) if pi.watchdog.is_some() => {
                    pi.watchdog = None;
                    let board = PiBoard::open(&pi)?;
                    Some(Board::Pi(Box::new(board), Some(format!("watchdog: {e}"))))
                }
                Err(e) => return Err(e.into()),
            }
        }
        BoardKind::Sim | BoardKind::Auto => {
            let (board, control) = SimBoard::new(timeout);
            Some(Board::Sim(board, control))
        }
    })
}
