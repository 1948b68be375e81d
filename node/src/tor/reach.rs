//! Keeping the onion service reachable: periodic self-checks through a
//! separate circuit, and a relaunch when checks keep failing.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::status::{BootstrapInfo, TorStatus};
use crate::clock::SharedClock;

/// When to check and when to give up on a service instance.
#[derive(Debug, Clone, Copy)]
pub struct ReachPolicy {
    /// Delay between checks until the first success (and after a failure).
    pub retry_every: Duration,
    /// Delay between checks while the service is reachable.
    pub check_every: Duration,
    /// How long one check may take.
    pub timeout: Duration,
    /// Failed checks in a row before the service is relaunched.
    pub relaunch_after: u32,
}

/// The transport's status, shared between its tasks and `status`.
#[derive(Clone)]
pub struct Reachability {
    status: Arc<Mutex<TorStatus>>,
    clock: SharedClock,
}

impl std::fmt::Debug for Reachability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reachability({:?})", self.snapshot())
    }
}

impl Reachability {
    /// Nothing known yet.
    pub fn new(clock: SharedClock) -> Self {
        let status = TorStatus {
            not_online_because: Some("Tor has not started yet".into()),
            ..TorStatus::default()
        };
        Reachability {
            status: Arc::new(Mutex::new(status)),
            clock,
        }
    }

    /// A copy of the current status.
    pub fn snapshot(&self) -> TorStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut TorStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    /// Records bootstrap progress.
    pub fn bootstrap(&self, info: BootstrapInfo) {
        self.update(|s| {
            if info.percent < 100 {
                let why = match &info.blocked {
                    Some(b) => format!(
                        "Tor is bootstrapping ({}%: {}) and stuck: {b}",
                        info.percent, info.phase
                    ),
                    None => format!("Tor is bootstrapping ({}%: {})", info.percent, info.phase),
                };
                s.not_online_because = Some(why);
            } else if s.onion_reachable != Some(true) && s.onion_address.is_none() {
                s.not_online_because = Some("Tor is ready; launching the onion service".into());
            }
            s.bootstrap = Some(info);
        });
    }

    /// Records a failure (bootstrap, launch, check) with why the node is
    /// not online.
    pub fn failure(&self, what: &str, error: &str) {
        let now = self.clock.unix_now();
        self.update(|s| {
            s.last_failure = Some(format!("{what}: {error}"));
            s.last_failure_at = Some(now);
            if s.onion_reachable != Some(true) {
                s.not_online_because = Some(format!("{what}: {error}"));
            }
        });
    }

    /// Records a (re)launched service.
    pub fn launched(&self, onion_address: String) {
        self.update(|s| {
            s.onion_address = Some(onion_address);
            s.launches += 1;
            s.onion_reachable = None;
            s.not_online_because =
                Some("onion service launched; checking that it can be reached".into());
        });
    }

    fn checked(&self, result: Result<(), String>, fails: u32, policy: &ReachPolicy) {
        let now = self.clock.unix_now();
        self.update(|s| {
            s.last_check = Some(now);
            match result {
                Ok(()) => {
                    s.onion_reachable = Some(true);
                    s.not_online_because = None;
                }
                Err(e) => {
                    s.onion_reachable = Some(false);
                    s.last_failure = Some(format!("reachability check: {e}"));
                    s.last_failure_at = Some(now);
                    s.not_online_because = Some(format!(
                        "own onion service not reachable ({fails} failed check(s); relaunch after {}): {e}",
                        policy.relaunch_after
                    ));
                }
            }
        });
    }

    /// Checks the service with `probe` on `policy`'s schedule until checks
    /// fail `relaunch_after` times in a row (returns `true`: relaunch it) or
    /// `cancel` fires (returns `false`).
    pub async fn watch<F, Fut>(
        &self,
        policy: &ReachPolicy,
        cancel: &CancellationToken,
        mut probe: F,
    ) -> bool
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), String>>,
    {
        let mut fails = 0u32;
        let mut wait = Duration::ZERO;
        loop {
            tokio::select! {
                () = cancel.cancelled() => return false,
                () = tokio::time::sleep(wait) => {}
            }
            let result = tokio::select! {
                () = cancel.cancelled() => return false,
                r = tokio::time::timeout(policy.timeout, probe()) => {
                    r.unwrap_or_else(|_| Err(format!("no answer within {} s", policy.timeout.as_secs())))
                }
            };
            match &result {
                Ok(()) => {
                    if fails > 0 || self.snapshot().onion_reachable != Some(true) {
                        tracing::info!("own onion service is reachable");
                    }
                    fails = 0;
                    wait = policy.check_every;
                }
                Err(e) => {
                    fails += 1;
                    tracing::warn!(error = %e, fails, "own onion service not reachable");
                    wait = policy.retry_every;
                }
            }
            self.checked(result, fails, policy);
            if fails >= policy.relaunch_after {
                return true;
            }
        }
    }
}
