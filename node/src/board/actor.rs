//! The board actor: owns every part and all the timing state.

use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use embedded_hal::digital::{InputPin, OutputPin};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant as TokioInstant;
use tokio_util::sync::CancellationToken;
use warren_board::button::ResetChange;
use warren_board::sim::SimControl;
use warren_board::{
    Blinker, ButtonConfig, ButtonDetector, ButtonEvent, Duration, Feeder, Governor, Instant,
    Pattern, Reading, ResetFlow, ResetStep, Sensors, Watchdog, WatchdogState,
};

use super::open::Board;
use super::{BoardConfig, BoardOptions, BoardStatus, Cmd, Press, check, led, notify};
use crate::daemon::{NodeHandle, Status};
use crate::panel::PairingHandle;

/// How often the actor looks whether the panel has closed a pairing window
/// whose time has passed (it retires the code and files first), ms.
const PAIRING_END_POLL_MS: u64 = 50;

/// How often the node's status and liveness are checked.
const CHECK_EVERY: StdDuration = StdDuration::from_secs(1);
/// How long the LED warns before a confirmed factory reset wipes.
const WIPE_WARNING: StdDuration = StdDuration::from_secs(3);
/// A simulated short press lasts this long.
const SHORT_HOLD: StdDuration = StdDuration::from_millis(200);

/// The parts the actor drives.
struct Parts<L, B, W, S> {
    kind: &'static str,
    model: String,
    led: L,
    button: B,
    watchdog: Option<W>,
    sensors: S,
}

/// Starts driving `board`; ends when `stop` is cancelled.
pub(crate) async fn run(
    board: Board,
    opts: BoardOptions,
    status: Arc<Mutex<BoardStatus>>,
    rx: mpsc::Receiver<Cmd>,
    stop: CancellationToken,
) {
    match board {
        Board::Pi(pi, fault) => {
            let pi = *pi;
            if let Some(f) = fault {
                tracing::error!(fault = %f, "board: running without the hardware watchdog");
                {
                    let mut s = status.lock().expect(crate::HELD);
                    s.fault = Some(f);
                }
            }
            let parts = Parts {
                kind: "pi",
                model: warren_board::pi::model().unwrap_or_else(|| "Raspberry Pi".into()),
                led: pi.led,
                button: pi.button,
                watchdog: pi.watchdog,
                sensors: pi.sensors,
            };
            drive(parts, None, opts, status, rx, stop).await;
        }
        Board::Sim(sim, control) => {
            let parts = Parts {
                kind: "sim",
                model: super::SIM_MODEL.into(),
                led: sim.led,
                button: sim.button,
                watchdog: Some(sim.watchdog),
                sensors: sim.sensors,
            };
            drive(parts, Some(control), opts, status, rx, stop).await;
        }
    }
}

/// A simulated press in progress.
struct Pressing {
    release_at: TokioInstant,
    /// Answered once the release has been seen.
    answer_at: TokioInstant,
    reply: oneshot::Sender<Result<(), crate::Refusal>>,
}

struct Actor<L: OutputPin, B: InputPin, W, S> {
    kind: &'static str,
    /// What the board is, in words.
    model: String,
    cfg: BoardConfig,
    node: NodeHandle,
    pairing: Option<PairingHandle>,
    opts_dir: std::path::PathBuf,
    reset: super::reset::ResetRequest,
    sim: Option<SimControl>,
    epoch: TokioInstant,
    blinker: Blinker<L>,
    button: ButtonDetector<B>,
    flow: ResetFlow,
    feeder: Option<Feeder>,
    watchdog: Option<W>,
    sensors: S,
    governor: Governor,
    reading: Reading,
    disk_low: bool,
    status: Option<Status>,
    /// Since when the node has not been online.
    offline_since: TokioInstant,
    unresponsive: Vec<String>,
    fault: Option<String>,
    pairing_until: Option<(TokioInstant, u64)>,
    wipe_at: Option<TokioInstant>,
    pressing: Option<Pressing>,
    next_led: Option<TokioInstant>,
    next_sample: TokioInstant,
    next_check: TokioInstant,
    next_sensors: TokioInstant,
    checking: bool,
    checks: (mpsc::Sender<check::Outcome>, mpsc::Receiver<check::Outcome>),
    shared: Arc<Mutex<BoardStatus>>,
    told_systemd: String,
}

async fn drive<L, B, W, S>(
    parts: Parts<L, B, W, S>,
    sim: Option<SimControl>,
    opts: BoardOptions,
    shared: Arc<Mutex<BoardStatus>>,
    mut rx: mpsc::Receiver<Cmd>,
    stop: CancellationToken,
) where
    L: OutputPin,
    B: InputPin,
    W: Watchdog,
    S: Sensors,
{
    let epoch = TokioInstant::now();
    let cfg = opts.config;
    let blinker = match Blinker::new(parts.led, cfg.led_active_low, Instant::from_ticks(0)) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = ?e, "board: the LED cannot be driven; board support is off");
            return;
        }
    };
    let button = ButtonDetector::new(
        parts.button,
        ButtonConfig {
            debounce: Duration::from_millis(30),
            long_press: Duration::from_millis(cfg.long_press_ms),
            active_low: cfg.button_active_low,
        },
    );
    let feeder = parts.watchdog.as_ref().map(|w| {
        // The timeout is the driver's own (read back after opening, on a
        // Pi): the cadence must fit it.
        let deadline = Duration::from_millis(cfg.liveness_deadline_ms);
        let f = Feeder::new(w.timeout(), Instant::from_ticks(0));
        match Feeder::fits(w.timeout(), deadline) {
            Ok(()) => tracing::info!(
                timeout_s = w.timeout().as_secs(),
                check_every_s = f.interval().as_secs(),
                deadline_ms = cfg.liveness_deadline_ms,
                "board: watchdog armed; petted only after a passed liveness check"
            ),
            Err(why) => {
                tracing::error!(
                    timeout_s = w.timeout().as_secs(),
                    deadline_ms = cfg.liveness_deadline_ms,
                    "board: {why}: a healthy node may be reset (lower board.liveness_deadline_ms)"
                );
                {
                    let mut s = shared.lock().expect(crate::HELD);
                    s.fault = Some(format!("watchdog: {why}"));
                }
            }
        }
        f
    });
    let fault = shared.lock().expect(crate::HELD).fault.clone();
    let mut a = Actor {
        kind: parts.kind,
        model: parts.model,
        flow: ResetFlow::new(Duration::from_millis(cfg.reset_confirm_ms)),
        governor: Governor::new(cfg.hot_celsius, cfg.cool_celsius),
        cfg,
        node: opts.node,
        pairing: opts.pairing,
        opts_dir: opts.data_dir,
        reset: opts.reset,
        sim,
        epoch,
        blinker,
        button,
        feeder,
        watchdog: parts.watchdog,
        sensors: parts.sensors,
        reading: Reading::default(),
        disk_low: false,
        status: None,
        offline_since: epoch,
        unresponsive: Vec::new(),
        fault,
        pairing_until: None,
        wipe_at: None,
        pressing: None,
        next_led: None,
        next_sample: epoch,
        next_check: epoch,
        next_sensors: epoch,
        checking: false,
        checks: mpsc::channel(1),
        shared,
        told_systemd: String::new(),
    };
    a.show();
    notify::ready("starting");
    if a.cfg.pairing_until_paired && a.pairing.as_ref().is_some_and(|p| !p.paired()) {
        a.begin_pairing(epoch).await;
    }
    loop {
        let wake = a.next_wake();
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            Some(out) = a.checks.1.recv() => a.on_check(out),
            Some(cmd) = rx.recv() => a.on_cmd(cmd),
            () = tokio::time::sleep_until(wake) => {}
        }
        a.tick().await;
    }
    a.finish();
}

impl<L, B, W, S> Actor<L, B, W, S>
where
    L: OutputPin,
    B: InputPin,
    W: Watchdog,
    S: Sensors,
{
    fn board_now(&self, at: TokioInstant) -> Instant {
        Instant::from_micros(at.duration_since(self.epoch).as_micros() as u64)
    }

    fn tokio_at(&self, at: Instant) -> TokioInstant {
        self.epoch + StdDuration::from_micros(at.as_micros())
    }

    fn next_wake(&self) -> TokioInstant {
        let mut wake = self.next_sample.min(self.next_sensors);
        if !self.checking {
            wake = wake.min(self.next_check);
        }
        let others = [
            self.next_led,
            self.flow.deadline().map(|d| self.tokio_at(d)),
            // Past its time, the window is over once the panel has retired
            // its code: look again shortly rather than at once.
            self.pairing_until.as_ref().map(|p| {
                p.0.max(TokioInstant::now() + StdDuration::from_millis(PAIRING_END_POLL_MS))
            }),
            self.wipe_at,
            self.pressing
                .as_ref()
                .map(|p| p.release_at.min(p.answer_at)),
        ];
        others.into_iter().flatten().fold(wake, TokioInstant::min)
    }

    async fn tick(&mut self) {
        let now = TokioInstant::now();
        let t = self.board_now(now);
        let mut changed = false;
        if let Some(p) = &mut self.pressing {
            if now >= p.release_at {
                if let Some(sim) = &self.sim {
                    sim.set_pressed(false);
                }
            }
            if now >= p.answer_at {
                if let Some(p) = self.pressing.take() {
                    let _ = p.reply.send(Ok(()));
                }
            }
        }
        if now >= self.next_sample {
            let sampled = self.button.sample(t);
            self.next_sample = self.tokio_at(self.button.next_sample(t));
            match sampled {
                Ok(Some(ev)) => {
                    self.on_button(ev, now).await;
                    changed = true;
                }
                Ok(None) => {}
                Err(e) => self.set_fault(format!("button: {:?}", e)),
            }
        }
        if self.flow.tick(t) == ResetChange::Cancelled {
            tracing::info!("board: factory reset not confirmed in time; nothing wiped");
            changed = true;
        }
        // The window is over once its time has passed and the panel has
        // retired its code (a moment later).
        let still_open = self.pairing.as_ref().is_some_and(|p| p.is_open());
        if self.pairing_until.as_ref().is_some_and(|p| now >= p.0) && !still_open {
            self.pairing_until = None;
            changed = true;
        }
        if self.wipe_at.is_some_and(|w| now >= w) {
            self.wipe_at = None;
            tracing::warn!("board: factory reset confirmed; stopping to wipe the data folder");
            self.reset.request();
            self.node.request_shutdown();
        }
        if now >= self.next_sensors {
            self.next_sensors = now + StdDuration::from_secs(self.cfg.sensor_interval_secs);
            self.read_sensors();
            changed = true;
        }
        if !self.checking && now >= self.next_check {
            self.start_check();
        }
        if changed {
            self.show();
        }
        if self.next_led.is_some_and(|n| now >= n) {
            self.next_led = match self.blinker.poll(t) {
                Ok(n) => n.map(|n| self.tokio_at(n)),
                Err(e) => {
                    self.set_fault(format!("LED: {:?}", e));
                    None
                }
            };
        }
    }

    async fn on_button(&mut self, ev: ButtonEvent, now: TokioInstant) {
        let t = self.board_now(now);
        let idle = self.flow.step() == ResetStep::Idle;
        match self.flow.on_event(ev, t) {
            ResetChange::Armed => tracing::warn!(
                "board: factory reset asked; hold the button again within {} s to wipe this box",
                self.cfg.reset_confirm_ms / 1000
            ),
            ResetChange::Cancelled => tracing::info!("board: factory reset cancelled"),
            ResetChange::Confirmed => {
                tracing::warn!(
                    "board: factory reset confirmed; wiping in {} s",
                    WIPE_WARNING.as_secs()
                );
                self.wipe_at = Some(now + WIPE_WARNING);
            }
            ResetChange::None if idle && ev == ButtonEvent::Short => self.begin_pairing(now).await,
            ResetChange::None => {}
        }
    }

    async fn begin_pairing(&mut self, now: TokioInstant) {
        let Some(pairing) = &self.pairing else {
            tracing::warn!("board: a short press asks for pairing mode, but the panel is off");
            return;
        };
        let length = StdDuration::from_secs(self.cfg.pairing_secs);
        match pairing.begin(length, self.cfg.pairing_listen).await {
            Ok(info) => {
                tracing::info!(
                    secs = self.cfg.pairing_secs,
                    at = %info.urls.join(" "),
                    "board: pairing mode on"
                );
                self.pairing_until = Some((now + length, info.until));
            }
            Err(e) => tracing::warn!(error = %e, "board: pairing mode could not start"),
        }
    }

    fn read_sensors(&mut self) {
        match self.sensors.read() {
            Ok(r) => self.reading = r,
            Err(e) => self.set_fault(format!("sensors: {e}")),
        }
        if let Some(c) = self.reading.temperature_c {
            if let Some(hot) = self.governor.update(c) {
                let files = self.node.files();
                if hot {
                    tracing::warn!(
                        celsius = c,
                        cap = self.cfg.hot_rate_limit,
                        "board: too hot; transfers and disk work throttled"
                    );
                    files.set_thermal_cap(Some(self.cfg.hot_rate_limit));
                } else {
                    tracing::info!(celsius = c, "board: cool again; throttling off");
                    files.set_thermal_cap(None);
                }
            }
        }
        if let Some(free) = super::disk::free_percent(&self.opts_dir) {
            let low = free < f64::from(self.cfg.disk_low_percent);
            if low && !self.disk_low {
                tracing::warn!(free_percent = free, "board: the disk is nearly full");
            }
            self.disk_low = low;
        }
    }

    fn start_check(&mut self) {
        self.checking = true;
        let node = self.node.clone();
        let tx = self.checks.0.clone();
        let deadline = StdDuration::from_millis(self.cfg.liveness_deadline_ms);
        tokio::spawn(async move {
            let out = check::run(&node, deadline).await;
            let _ = tx.send(out).await;
        });
    }

    fn on_check(&mut self, out: check::Outcome) {
        let now = TokioInstant::now();
        self.checking = false;
        self.next_check = now + CHECK_EVERY;
        let healthy = out.unresponsive.is_empty();
        if !healthy && self.unresponsive != out.unresponsive {
            tracing::error!(
                tasks = out.unresponsive.join(", "),
                "board: core tasks did not answer the liveness check; the watchdog is not fed"
            );
        }
        self.unresponsive = out.unresponsive;
        if let Some(s) = out.status {
            if s.online {
                self.offline_since = now;
            }
            self.status = Some(s);
        }
        let t = self.board_now(now);
        if let Some(f) = &mut self.feeder {
            if t >= f.next_check() && f.checked(healthy, t) {
                if let Some(w) = &mut self.watchdog {
                    if let Err(e) = w.pet() {
                        self.fault = Some(format!("watchdog: {e}"));
                    }
                }
            }
        }
        if healthy && notify::watchdog_wanted() {
            notify::watchdog();
        }
        self.show();
    }

    fn on_cmd(&mut self, cmd: Cmd) {
        let Some(sim) = self.sim.clone() else {
            let reply = match cmd {
                Cmd::Press(_, reply) | Cmd::Sensors { reply, .. } => reply,
            };
            let _ = reply.send(Err(crate::Refusal::RealBoard(self.kind.to_string())));
            return;
        };
        match cmd {
            Cmd::Press(press, reply) => {
                if self.pressing.is_some() {
                    let _ = reply.send(Err(crate::Refusal::AlreadyPressing));
                    return;
                }
                let hold = match press {
                    Press::Short => SHORT_HOLD,
                    Press::Long => StdDuration::from_millis(self.cfg.long_press_ms + 300),
                };
                let now = TokioInstant::now();
                sim.set_pressed(true);
                self.pressing = Some(Pressing {
                    release_at: now + hold,
                    // The release is debounced: answer once it has counted.
                    answer_at: now + hold + StdDuration::from_millis(80),
                    reply,
                });
            }
            Cmd::Sensors {
                temperature_c,
                under_voltage,
                reply,
            } => {
                if let Some(c) = temperature_c {
                    sim.set_temperature(c);
                }
                if let Some(u) = under_voltage {
                    sim.set_under_voltage(u);
                }
                self.next_sensors = TokioInstant::now();
                let _ = reply.send(Ok(()));
            }
        }
    }

    fn set_fault(&mut self, fault: String) {
        if self.fault.as_deref() != Some(&fault) {
            tracing::warn!(fault = %fault, "board: a part failed");
            self.fault = Some(fault);
        }
    }

    /// Chooses the pattern, drives the LED and publishes the status.
    fn show(&mut self) {
        let now = TokioInstant::now();
        let t = self.board_now(now);
        let view = led::View {
            status: self.status.as_ref(),
            unresponsive: &self.unresponsive,
            fault: self.fault.as_deref(),
            pairing: self.pairing_until.is_some(),
            reset: Some(self.flow.step()),
            wiping: self.wipe_at.is_some() || self.reset.requested(),
            hot: self.governor.hot(),
            disk_low: self.disk_low,
            under_voltage: self.reading.under_voltage == Some(true),
            offline: Some((
                now.duration_since(self.offline_since),
                StdDuration::from_secs(self.cfg.offline_degraded_secs),
            )),
        };
        let (pattern, because) = led::choose(&view);
        match self.blinker.set(pattern, t) {
            Ok(n) => self.next_led = n.map(|n| self.tokio_at(n)),
            Err(e) => self.fault = Some(format!("LED: {:?}", e)),
        }
        if because != self.told_systemd {
            notify::status(&because);
            self.told_systemd = because.clone();
        }
        let reset = match (
            self.wipe_at.is_some() || self.reset.requested(),
            self.flow.step(),
        ) {
            (true, _) | (_, ResetStep::Confirmed) => "wiping",
            (_, ResetStep::Armed) => "armed",
            (_, ResetStep::Confirming) => "confirming",
            (_, ResetStep::Idle) => "idle",
        };
        let pairing_urls = match (&self.pairing, &self.pairing_until) {
            (Some(p), Some(_)) => p.urls(),
            _ => Vec::new(),
        };
        let s = BoardStatus {
            kind: self.kind.to_string(),
            model: self.model.clone(),
            led: pattern.name().to_string(),
            led_because: because,
            temperature_c: self.reading.temperature_c,
            under_voltage: self.reading.under_voltage,
            watchdog: self
                .feeder
                .as_ref()
                .map_or(WatchdogState::Off, |f| f.state(t))
                .name()
                .to_string(),
            unresponsive: self.unresponsive.clone(),
            throttled: self.governor.hot(),
            disk_low: self.disk_low,
            pairing_until: self.pairing_until.as_ref().map(|p| p.1),
            pairing_url: pairing_urls
                .iter()
                .find(|u| !u.contains(".local:"))
                .or(pairing_urls.first())
                .cloned(),
            pairing_urls,
            reset: reset.to_string(),
            fault: self.fault.clone(),
        };
        {
            let mut shared = self.shared.lock().expect(crate::HELD);
            *shared = s;
        }
    }

    /// A clean exit: LED dark, watchdog disarmed, systemd told.
    fn finish(mut self) {
        notify::stopping();
        let t = self.board_now(TokioInstant::now());
        let _ = self.blinker.set(Pattern::Off, t);
        if let Some(w) = &mut self.watchdog {
            if let Err(e) = w.disarm() {
                tracing::warn!(error = %e, "board: the watchdog could not be disarmed");
            }
        }
        if let Some(p) = self.pressing.take() {
            let _ = p.reply.send(Err(crate::Refusal::Stopping));
        }
        {
            let mut s = self.shared.lock().expect(crate::HELD);
            s.led = Pattern::Off.name().to_string();
        }
    }
}
