//! Opening the board `[board] kind` names.

use std::path::PathBuf;

use warren_board::Duration;
use warren_board::pi::{PiBoard, PiConfig};
use warren_board::sim::{SimBoard, SimControl};

use super::{BoardConfig, BoardKind};
use crate::Result;

/// An opened board.
pub(crate) enum Board {
    /// A Raspberry Pi.
    Pi(Box<PiBoard>),
    /// The simulated board, and the other end of its wires.
    Sim(SimBoard, SimControl),
}

fn path(p: &str) -> Option<PathBuf> {
    (!p.is_empty()).then(|| PathBuf::from(p))
}

/// Opens the board; none for `kind = "none"`.
pub(crate) fn open(cfg: &BoardConfig) -> Result<Option<Board>> {
    let kind = match cfg.kind {
        BoardKind::Auto if warren_board::pi::is_raspberry_pi() => BoardKind::Pi,
        BoardKind::Auto => BoardKind::Sim,
        k => k,
    };
    let timeout = Duration::from_secs(cfg.watchdog_timeout_secs);
    Ok(match kind {
        BoardKind::None => None,
        BoardKind::Pi => {
            let board = PiBoard::open(&PiConfig {
                chip: PathBuf::from(&cfg.gpio_chip),
                led_line: cfg.led_pin,
                button_line: cfg.button_pin,
                watchdog: path(&cfg.watchdog),
                watchdog_timeout: timeout,
                temperature: path(&cfg.temperature_file),
                hwmon_root: PathBuf::from("/sys/class/hwmon"),
            })?;
            Some(Board::Pi(Box::new(board)))
        }
        BoardKind::Sim | BoardKind::Auto => {
            let (board, control) = SimBoard::new(timeout);
            Some(Board::Sim(board, control))
        }
    })
}
