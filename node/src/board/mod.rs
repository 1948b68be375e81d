//! The box's board: its status LED, its button, its watchdog and its
//! temperature, driven by one actor that owns every part.
//!
//! ```text
//!  node status ─┐ every second, in a task of its own, with a deadline
//!  files ping  ─┴─► check ──► healthy? ── pet the watchdog, sd_notify WATCHDOG=1
//!                      │
//!                      ▼
//!  button pin ─► detector ─► actor (owns blinker, detector, reset flow,
//!  (50 ms, 10 ms pressed)          feeder, governor) ─► LED pattern
//!                      │                 │
//!  sensors ────────────┘ (every 5 s)     ├─► short press: panel pairing mode
//!                                        ├─► confirmed long press: factory reset
//!                                        └─► hot: files' thermal cap on / off
//! ```
//!
//! The actor never waits on the node: status and liveness are fetched by a
//! spawned check with a deadline, so the LED keeps blinking (and shows
//! `error`) when a core task hangs, and the watchdog is simply not petted.
//! The timing logic (patterns, debounce, long press, reset confirmation,
//! feeding cadence, hysteresis) lives in `warren-board`; this module maps
//! the node's state onto it.

mod actor;
mod check;
mod disk;
mod led;
mod notify;
mod open;
pub mod reset;

use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::daemon::NodeHandle;
use crate::panel::PairingHandle;
use crate::{Error, Result};

pub use crate::config::{BoardConfig, BoardKind};

/// The simulated board's model, as status shows it.
pub(crate) const SIM_MODEL: &str = "simulated board";

/// Commands waiting for the board actor; senders wait when it is full.
const COMMAND_QUEUE: usize = 8;

pub use warren_api::{BoardStatus, Press};

/// What the simulated board can be told.
#[derive(Debug)]
pub(crate) enum Cmd {
    /// Presses the simulated button; answers when it is released.
    Press(Press, oneshot::Sender<Result<(), crate::Refusal>>),
    /// Sets the simulated sensors.
    Sensors {
        temperature_c: Option<f32>,
        under_voltage: Option<bool>,
        reply: oneshot::Sender<Result<(), crate::Refusal>>,
    },
}

/// A cheap handle to the running board actor.
#[derive(Clone, Debug)]
pub struct BoardHandle {
    tx: mpsc::Sender<Cmd>,
    status: Arc<Mutex<BoardStatus>>,
}

impl BoardHandle {
    /// The board now.
    pub fn status(&self) -> BoardStatus {
        self.status.lock().expect(crate::HELD).clone()
    }

    async fn ask(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<(), crate::Refusal>>) -> Cmd,
    ) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        Ok(rx.await.map_err(|_| Error::ShuttingDown)??)
    }

    /// Presses the simulated button (refused on a real board); returns
    /// once it is released.
    pub async fn press(&self, press: Press) -> Result<()> {
        self.ask(|reply| Cmd::Press(press, reply)).await
    }

    /// Sets the simulated board's temperature and under-voltage alarm.
    pub async fn set_sensors(
        &self,
        temperature_c: Option<f32>,
        under_voltage: Option<bool>,
    ) -> Result<()> {
        self.ask(|reply| Cmd::Sensors {
            temperature_c,
            under_voltage,
            reply,
        })
        .await
    }
}

/// What the board actor needs once the board is open.
pub struct BoardOptions {
    /// `[board]`.
    pub config: BoardConfig,
    /// The running node (status, liveness, files).
    pub node: NodeHandle,
    /// The panel's pairing mode; none when the panel is off.
    pub pairing: Option<PairingHandle>,
    /// The data directory (its disk's free space; wiped by a factory reset).
    pub data_dir: std::path::PathBuf,
    /// Set when a confirmed factory reset asks the node to stop and wipe.
    pub reset: reset::ResetRequest,
}

/// A board opened, with its handle, whose actor has not started: the
/// handle can be given to the services started before it (the panel, the
/// node's handle) and its commands wait in its queue until then. Dropped
/// without [`OpenedBoard::start`] (a later step of the start failed), it
/// disarms the watchdog opening armed.
pub struct OpenedBoard {
    handle: BoardHandle,
    /// Taken by `start`.
    parts: Option<(open::Board, Arc<Mutex<BoardStatus>>, mpsc::Receiver<Cmd>)>,
}

impl Drop for OpenedBoard {
    fn drop(&mut self) {
        if let Some((mut board, _, _)) = self.parts.take() {
            board.disarm();
        }
    }
}

/// The running board actor.
pub struct Board {
    handle: BoardHandle,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Board {
    /// Opens the board `config.kind` names; none for `kind = "none"`.
    /// `auto` takes a Raspberry Pi's parts only when `appliance` (the node
    /// runs as the community's box, `node.role = "box"`) on a Pi, and the
    /// simulated board otherwise. A Pi's watchdog is armed from here on.
    ///
    /// # Errors
    /// A Raspberry Pi whose parts cannot be opened (`warren run` then runs
    /// on without board support).
    pub fn open(config: &BoardConfig, appliance: bool) -> Result<Option<OpenedBoard>> {
        let Some(board) = open::open(config, appliance)? else {
            return Ok(None);
        };
        let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
        // What the board is, from the start (before its actor's first
        // look at the node).
        let (kind, model) = match &board {
            open::Board::Pi(..) => (
                "pi",
                warren_board::pi::model().unwrap_or_else(|| "Raspberry Pi".into()),
            ),
            open::Board::Sim(..) => ("sim", SIM_MODEL.to_string()),
        };
        let status = Arc::new(Mutex::new(BoardStatus {
            kind: kind.into(),
            model,
            led: "starting".into(),
            led_because: "the node is starting".into(),
            watchdog: "off".into(),
            reset: "idle".into(),
            ..BoardStatus::default()
        }));
        let handle = BoardHandle {
            tx,
            status: status.clone(),
        };
        Ok(Some(OpenedBoard {
            handle,
            parts: Some((board, status, rx)),
        }))
    }

    /// A handle to it.
    pub fn handle(&self) -> BoardHandle {
        self.handle.clone()
    }

    /// Stops driving the board: the LED goes dark and the watchdog is
    /// disarmed (a clean exit must not reset the box).
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

impl OpenedBoard {
    /// A handle to it (its commands wait until [`OpenedBoard::start`]).
    pub fn handle(&self) -> BoardHandle {
        self.handle.clone()
    }

    /// Starts driving the board.
    pub fn start(mut self, opts: BoardOptions) -> Board {
        let stop = CancellationToken::new();
        let (board, status, rx) = self.parts.take().expect("only start takes the parts");
        let task = tokio::spawn(actor::run(board, opts, status, rx, stop.clone()));
        Board {
            handle: self.handle.clone(),
            stop,
            task,
        }
    }
}

#[cfg(test)]
mod tests;
