//! The box's relay: an actor that keeps the box's C tor a capped, non-exit
//! middle relay while the owner wants it (`relay.enabled`), within the
//! schedule and the month's allowance, and counts what it carried.
//!
//! The actor alone owns its control connection and the ledger. Every
//! [`POLL`] (and at once after `warren relay on|off`) it reads tor's relay
//! state, applies what is wanted (the settings of
//! [`warren_net::tor::relay`]: `SETCONF` to open the ORPort with its caps,
//! a rate change at the schedule's edges, `RESETCONF ORPort` to stop), and
//! counts tor's traffic into the ledger (`ledger.rs`). tor loses `SETCONF` settings
//! when it restarts; the next poll applies them again. It closes the ORPort
//! only when it opened it, and when the node stops.

mod check;
mod ledger;
mod service;
mod upnp;

pub use check::check;
pub use service::RelayService;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use warren_api::config::{RelayConfig, Schedule};
pub use warren_api::relay::{Accounting, RelayCheck, RelayStatus};
use warren_net::tor::relay::{RELAY_OFF, RelayInfo, RelayPlan, read_info};
use warren_net::transport::ctor::{Control, ControlError};
use warren_proto::Keypair;
use warren_proto::relay::{MAX_CLAIM_VALIDITY, RelayClaim, SignedRelayClaim, parse_fingerprint};

use crate::Refusal;
use crate::clock::SharedClock;
use ledger::{Ledger, SAVE_EVERY, minute_of_day, period};

/// Seconds between looks at tor.
pub const POLL: Duration = Duration::from_secs(10);
/// Requests queued for the actor.
const QUEUE: usize = 8;
/// A claim is signed again when this much older (seconds).
const CLAIM_REFRESH: u64 = 3_600;
/// Seconds between attempts to map the ORPort on a router that did not.
const UPNP_RETRY: u64 = 600;
/// How long one look at tor may take before the connection is dropped.
const TOR_ANSWER: Duration = Duration::from_secs(30);
const GIB: u64 = 1 << 30;

/// What the relay actor needs.
pub struct RelayOptions {
    /// `[relay]`.
    pub config: RelayConfig,
    /// tor's control port.
    pub control_port: SocketAddr,
    /// The control cookie; none: the file tor names.
    pub cookie: Option<PathBuf>,
    /// Where the ledger is kept.
    pub data_dir: PathBuf,
    /// The configuration file `relay on|off` writes `relay.enabled` into;
    /// none: the change lasts until the node stops.
    pub config_path: Option<PathBuf>,
    /// The node's key: it signs the relay claim.
    pub keypair: Arc<Keypair>,
    /// Where the current claim is published for the relay service.
    pub claims: watch::Sender<Option<SignedRelayClaim>>,
    /// Wall time.
    pub clock: SharedClock,
}

enum Cmd {
    /// Turn the relay on or off.
    Set(bool, oneshot::Sender<Result<RelayStatus, Refusal>>),
    /// tor's consensus entry for a fingerprint (none: not listed).
    Lookup(String, oneshot::Sender<Result<Option<String>, Refusal>>),
}

/// A running relay actor.
pub struct Relay {
    handle: RelayHandle,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Asks the relay actor things; cheap to clone.
#[derive(Clone)]
pub struct RelayHandle {
    tx: mpsc::Sender<Cmd>,
    status: watch::Receiver<RelayStatus>,
    clock: SharedClock,
}

impl std::fmt::Debug for RelayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayHandle").finish_non_exhaustive()
    }
}

impl RelayHandle {
    /// The relay as of the last look at tor.
    pub fn status(&self) -> RelayStatus {
        self.status.borrow().clone()
    }

    /// Turns the relay on or off (kept in the configuration file), and
    /// answers once tor has been told.
    ///
    /// # Errors
    /// The configuration file cannot take the change, or the node stops.
    pub async fn set(&self, on: bool) -> Result<RelayStatus, Refusal> {
        self.ask(|reply| Cmd::Set(on, reply)).await
    }

    /// tor's consensus entry for `fingerprint` (none: not listed).
    ///
    /// # Errors
    /// tor cannot be asked, or the node stops.
    pub async fn lookup(&self, fingerprint: String) -> Result<Option<String>, Refusal> {
        self.ask(|reply| Cmd::Lookup(fingerprint, reply)).await
    }

    /// Sends the actor a command made around its reply channel; waits.
    async fn ask<T>(
        &self,
        cmd: impl FnOnce(oneshot::Sender<Result<T, Refusal>>) -> Cmd,
    ) -> Result<T, Refusal> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(cmd(reply))
            .await
            .map_err(|_| Refusal::Stopping)?;
        rx.await.map_err(|_| Refusal::Stopping)?
    }

    /// Wall time, unix seconds.
    pub fn now(&self) -> u64 {
        self.clock.unix_now()
    }
}

/// Starts the relay actor.
pub fn start(opts: RelayOptions) -> Relay {
    let (tx, rx) = mpsc::channel(QUEUE);
    let (status_tx, status) = watch::channel(RelayStatus::default());
    let stop = CancellationToken::new();
    let clock = opts.clock.clone();
    let actor = Actor {
        ledger: Ledger::load(&opts.data_dir),
        schedule: Schedule::parse(&opts.config.schedule).unwrap_or(None),
        opts,
        ctl: None,
        last: None,
        applied: None,
        info: RelayInfo::default(),
        problem: None,
        saved_at: 0,
        wanted_on: false,
        mapping: None,
        upnp_note: None,
        upnp_tried: None,
        status: status_tx,
    };
    let task = tokio::spawn(actor.run(rx, stop.clone()));
    Relay {
        handle: RelayHandle { tx, status, clock },
        stop,
        task,
    }
}

impl Relay {
    /// A handle to the actor.
    pub fn handle(&self) -> RelayHandle {
        self.handle.clone()
    }

    /// Stops the actor: it closes the ORPort it opened and saves the ledger.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// What the relay should be doing now.
enum Want {
    /// Relay at this rate and burst, bytes per second.
    On(u64, u64),
    /// Not relay, for this reason (none: the owner turned it off).
    Off(Option<String>),
}

struct Actor {
    opts: RelayOptions,
    schedule: Option<Schedule>,
    ctl: Option<Control>,
    ledger: Ledger,
    /// tor's traffic counters at the last look, and whether it relayed.
    last: Option<(u64, u64, bool)>,
    /// The rate and burst this actor set.
    applied: Option<(u64, u64)>,
    info: RelayInfo,
    problem: Option<String>,
    saved_at: u64,
    /// The last look wanted the relay on.
    wanted_on: bool,
    /// The router's mapping of the ORPort, and when it was made.
    mapping: Option<(upnp::Mapping, u64)>,
    /// What UPnP did, in words.
    upnp_note: Option<String>,
    /// When a mapping was last tried.
    upnp_tried: Option<u64>,
    status: watch::Sender<RelayStatus>,
}

impl Actor {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(POLL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = tick.tick() => self.step().await,
                Some(cmd) = rx.recv() => match cmd {
                    Cmd::Set(on, reply) => {
                        let answer = match self.keep_enabled(on).await {
                            Ok(()) => {
                                self.step().await;
                                Ok(self.status.borrow().clone())
                            }
                            Err(e) => Err(e),
                        };
                        let _ = reply.send(answer);
                    }
                    Cmd::Lookup(fp, reply) => {
                        let _ = reply.send(self.lookup(&fp).await);
                    }
                }
            }
        }
        self.wanted_on = false;
        self.keep_mapping(self.opts.clock.unix_now()).await;
        if self.ledger.opened {
            let closed = tokio::time::timeout(TOR_ANSWER, async {
                self.control().await?.command(RELAY_OFF).await
            })
            .await;
            match closed {
                Ok(Ok(_)) => self.ledger.opened = false,
                Ok(Err(e)) => tracing::warn!(error = %e, "could not close the relay's ORPort"),
                Err(_) => {
                    tracing::warn!("tor did not answer: the relay's ORPort may still be open")
                }
            }
        }
        self.save().await;
    }

    /// Writes `relay.enabled` into the configuration file, then into the
    /// actor's settings.
    async fn keep_enabled(&mut self, on: bool) -> Result<(), Refusal> {
        if let Some(path) = self.opts.config_path.clone() {
            tokio::task::spawn_blocking(move || {
                warren_api::config::edit_file(
                    &path,
                    |doc| doc["relay"]["enabled"] = toml_edit::value(on),
                    |_| Ok(()),
                )
            })
            .await
            .map_err(|e| Refusal::Config(format!("the writing task failed: {e}")))?
            .map_err(Refusal::Config)?;
        }
        self.opts.config.enabled = on;
        Ok(())
    }

    fn want(&self, now: u64) -> Want {
        let c = &self.opts.config;
        if !c.enabled {
            return Want::Off(None);
        }
        if self.ledger.secret == [0; 32] {
            // The nickname would follow from the node's id alone.
            return Want::Off(Some(
                "no random secret for the relay's nickname (the system gave no randomness)".into(),
            ));
        }
        if c.monthly_gib > 0 && self.accounting(now).exhausted {
            let (_, end) = period(now, c.month_start_day);
            return Want::Off(Some(format!(
                "this month's allowance of {} GiB is used up; relaying starts again at {}",
                c.monthly_gib,
                utc(end)
            )));
        }
        let in_window = self.schedule.is_none_or(|s| s.contains(minute_of_day(now)));
        let kib = if in_window {
            c.rate_kib
        } else {
            c.off_hours_kib
        };
        Want::On(kib * 1024, c.burst_kib.max(kib) * 1024)
    }

    fn accounting(&self, now: u64) -> Accounting {
        let c = &self.opts.config;
        let (period_start, period_end) = period(now, c.month_start_day);
        let same = self.ledger.period_start == period_start;
        let mut a = Accounting {
            period_start,
            period_end,
            read: if same { self.ledger.read } else { 0 },
            written: if same { self.ledger.written } else { 0 },
            max: c.monthly_gib * GIB,
            exhausted: false,
        };
        a.exhausted = a.max > 0 && a.used() >= a.max;
        a
    }

    fn plan(&self, rate: u64, burst: u64) -> RelayPlan {
        let c = &self.opts.config;
        RelayPlan {
            or_port: c.or_port.clone(),
            address: (!c.address.is_empty()).then(|| c.address.clone()),
            nickname: self.nickname(),
            contact: None,
            rate,
            burst,
        }
    }

    /// Derived from the node's id and the ledger's secret (SPEC.md §16),
    /// so only the peers given a claim can tie the relay to the node.
    fn nickname(&self) -> String {
        warren_proto::relay::nickname(&self.opts.keypair.id(), &self.ledger.secret)
    }

    async fn lookup(&mut self, fingerprint: &str) -> Result<Option<String>, Refusal> {
        let r = match self.control().await {
            Ok(ctl) => warren_net::tor::relay::consensus_entry(ctl, fingerprint).await,
            Err(e) => Err(e),
        };
        r.map_err(|e| {
            self.ctl = None;
            Refusal::NoRelay(format!("tor's control port: {e}"))
        })
    }

    /// Keeps the ORPort mapped on the router while the relay is wanted on
    /// (`relay.upnp`; not for an ORPort on a loopback address): mapped,
    /// renewed at half its lease, tried again every [`UPNP_RETRY`] after
    /// a failure, removed when the relay stops.
    async fn keep_mapping(&mut self, now: u64) {
        let c = &self.opts.config;
        let port = c
            .or_port
            .rsplit(':')
            .next()
            .and_then(|p| p.parse::<u16>().ok())
            .unwrap_or(0);
        let loopback = c
            .or_port
            .rsplit_once(':')
            .and_then(|(ip, _)| ip.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
            .is_some_and(|ip| ip.is_loopback());
        if !(c.upnp && self.wanted_on && !loopback && port > 0) {
            if let Some((m, _)) = self.mapping.take() {
                self.upnp_note = Some(match upnp::unmap(&m).await {
                    Ok(()) => format!(
                        "the router at {} no longer forwards TCP port {port}",
                        m.router()
                    ),
                    Err(e) => e,
                });
            }
            return;
        }
        let due = match (&self.mapping, self.upnp_tried) {
            (Some((_, at)), _) => now.saturating_sub(*at) >= u64::from(upnp::LEASE_SECS) / 2,
            (None, Some(tried)) => now.saturating_sub(tried) >= UPNP_RETRY,
            (None, None) => true,
        };
        if !due {
            return;
        }
        self.upnp_tried = Some(now);
        match upnp::map(port).await {
            Ok(m) => {
                self.upnp_note = Some(m.describe());
                self.mapping = Some((m, now));
            }
            Err(e) => {
                self.upnp_note = Some(format!(
                    "{e}: forward TCP port {port} on the router by hand"
                ));
                self.mapping = None;
            }
        }
    }

    /// Keeps the published claim current: signed again every
    /// [`CLAIM_REFRESH`], withdrawn while the relay is off.
    fn publish_claim(&self, now: u64) {
        let fingerprint = match (&self.info.fingerprint, self.info.listening) {
            (Some(fp), true) => parse_fingerprint(fp).ok(),
            _ => None,
        };
        let Some(fingerprint) = fingerprint else {
            self.opts.claims.send_if_modified(|c| c.take().is_some());
            return;
        };
        let fresh = self.opts.claims.borrow().as_ref().is_some_and(|c| {
            c.claim.fingerprint == fingerprint
                && c.claim.secret == self.ledger.secret
                && now.saturating_sub(c.claim.issued_at) < CLAIM_REFRESH
        });
        if fresh {
            return;
        }
        let claim = RelayClaim {
            node: self.opts.keypair.id(),
            fingerprint,
            secret: self.ledger.secret,
            issued_at: now,
            expires_at: now + MAX_CLAIM_VALIDITY,
        };
        match claim.sign(&self.opts.keypair) {
            Ok(signed) => {
                self.opts.claims.send_replace(Some(signed));
            }
            Err(e) => tracing::warn!(error = %e, "the relay claim could not be signed"),
        }
    }

    /// One look at tor: apply what is wanted, count, publish the status.
    async fn step(&mut self) {
        let now = self.opts.clock.unix_now();
        self.ledger.roll(now, self.opts.config.month_start_day);
        let outcome = match tokio::time::timeout(TOR_ANSWER, self.drive(now)).await {
            Ok(r) => r,
            Err(_) => Err(ControlError::Protocol(format!(
                "tor did not answer within {} s",
                TOR_ANSWER.as_secs()
            ))),
        };
        self.problem = match outcome {
            Ok(reason) => reason,
            Err(e) => {
                if !matches!(e, ControlError::Refused { .. }) {
                    // A new tor (or none): what this node set is gone with it.
                    self.ctl = None;
                    self.last = None;
                    self.applied = None;
                    self.info = RelayInfo::default();
                }
                Some(match e {
                    ControlError::Refused { message, .. } => {
                        format!("tor refused the relay settings: {message}")
                    }
                    other => format!("tor's control port: {other}"),
                })
            }
        };
        if now.saturating_sub(self.saved_at) >= SAVE_EVERY {
            self.save().await;
        }
        self.keep_mapping(now).await;
        self.publish_claim(now);
        let status = self.status(now);
        self.status.send_replace(status);
    }

    async fn control(&mut self) -> Result<&mut Control, ControlError> {
        if self.ctl.is_none() {
            let mut ctl = Control::connect(self.opts.control_port).await?;
            ctl.authenticate(self.opts.cookie.as_deref()).await?;
            self.ctl = Some(ctl);
        }
        self.ctl
            .as_mut()
            .ok_or_else(|| ControlError::Protocol("no control connection".into()))
    }

    /// Applies what is wanted and counts; returns why the relay is off
    /// while enabled.
    async fn drive(&mut self, now: u64) -> Result<Option<String>, ControlError> {
        let want = self.want(now);
        self.wanted_on = matches!(want, Want::On(..));
        let plan = match want {
            Want::On(rate, burst) => Some(self.plan(rate, burst)),
            Want::Off(_) => None,
        };
        let info = read_info(self.control().await?).await?;
        let command = match &plan {
            Some(p) if info.or_port.is_empty() => {
                Some((p.setconf(), true, Some((p.rate, p.burst))))
            }
            Some(p) if self.applied != Some((p.rate, p.burst)) => Some((
                RelayPlan::setconf_rate(p.rate, p.burst),
                self.ledger.opened,
                Some((p.rate, p.burst)),
            )),
            None if self.ledger.opened && !info.or_port.is_empty() => {
                Some((RELAY_OFF.to_string(), false, None))
            }
            _ => None,
        };
        let info = match command {
            Some((line, opened, applied)) => {
                self.control().await?.command(&line).await?;
                // tor took it: what this node owns changes now, and a change
                // of owner is kept at once (a crash must not leave an ORPort
                // nobody closes).
                let owner_changed = opened != self.ledger.opened;
                (self.ledger.opened, self.applied) = (opened, applied);
                if owner_changed {
                    self.save().await;
                }
                tracing::info!(
                    relaying = opened,
                    rate = applied.map_or(0, |r| r.0),
                    "relay settings applied"
                );
                read_info(self.control().await?).await?
            }
            None => info,
        };
        // Counted only between two looks that both saw the ORPort open.
        if let Some((r0, w0, true)) = self.last
            && info.listening
        {
            // Counters that went back: tor restarted and counts from 0.
            let read = info.read.checked_sub(r0).unwrap_or(info.read);
            let written = info.written.checked_sub(w0).unwrap_or(info.written);
            self.ledger
                .add(now, self.opts.config.month_start_day, read, written);
        }
        self.last = Some((info.read, info.written, info.listening));
        self.info = info;
        Ok(match want {
            Want::Off(reason) => reason,
            Want::On(..) => None,
        })
    }

    async fn save(&mut self) {
        let (ledger, dir) = (self.ledger.clone(), self.opts.data_dir.clone());
        match tokio::task::spawn_blocking(move || ledger.save(&dir)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the relay ledger could not be written"),
            Err(e) => tracing::warn!(error = %e, "the relay ledger task failed"),
        }
        self.saved_at = self.opts.clock.unix_now();
    }

    fn status(&self, now: u64) -> RelayStatus {
        let c = &self.opts.config;
        let info = &self.info;
        let port = c.or_port.rsplit(':').next().unwrap_or(&c.or_port);
        let advice = (info.listening && !info.reachable).then(|| {
            format!(
                "tor has not yet confirmed that its ORPort ({}) can be reached from the internet; \
                 its self-test can take 20 minutes. If it stays unreachable, forward TCP port {port} \
                 on the router to this box.",
                c.or_port
            )
        });
        let days = self.ledger.daily(now);
        RelayStatus {
            enabled: c.enabled,
            relaying: info.listening,
            problem: self.problem.clone(),
            or_port: c.or_port.clone(),
            nickname: self.nickname(),
            fingerprint: info.fingerprint.clone(),
            reachable: info.reachable,
            reachability_advice: advice,
            flags: info.flags.clone(),
            rate: self.applied.map_or(0, |r| r.0),
            burst: self.applied.map_or(0, |r| r.1),
            in_schedule: self.schedule.is_none_or(|s| s.contains(minute_of_day(now))),
            circuits: info.circuits,
            upnp: self.upnp_note.clone(),
            bytes_today: days.last().copied().unwrap_or(0),
            hours: self.ledger.hourly(now),
            days,
            accounting: self.accounting(now),
        }
    }
}

/// `YYYY-MM-DD HH:MM UTC`.
fn utc(unix: u64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix as i64) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => format!("unix time {unix}"),
    }
}
