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
        self.status.lock().expect(crate::HELD).clone()
    }

    fn update(&self, f: impl FnOnce(&mut TorStatus)) {
        f(&mut self.status.lock().expect(crate::HELD));
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
            s.record_failure(format!("{what}: {error}"), now);
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
                    s.record_failure(format!("reachability check: {e}"), now);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use tokio_util::sync::CancellationToken;

    use super::{ReachPolicy, Reachability};
    use crate::clock::TokioClock;

    fn policy() -> ReachPolicy {
        ReachPolicy {
            retry_every: Duration::from_secs(10),
            check_every: Duration::from_secs(300),
            timeout: Duration::from_secs(30),
            relaunch_after: 3,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn three_failures_in_a_row_ask_for_a_relaunch() {
        let reach = Reachability::new(Arc::new(TokioClock::starting_at(1000)));
        reach.launched("x.onion".into());
        let calls = AtomicU32::new(0);
        let relaunch = reach
            .watch(&policy(), &CancellationToken::new(), || {
                calls.fetch_add(1, Ordering::Relaxed);
                async { Err("no route".to_string()) }
            })
            .await;
        assert!(relaunch);
        assert_eq!(calls.load(Ordering::Relaxed), 3);
        let s = reach.snapshot();
        assert_eq!(s.onion_reachable, Some(false));
        assert!(s.not_online_because.unwrap().contains("3 failed check"));
        assert_eq!(
            s.last_failure.as_deref(),
            Some("reachability check: no route")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count_and_slows_the_checks() {
        let reach = Reachability::new(Arc::new(TokioClock::starting_at(1000)));
        let cancel = CancellationToken::new();
        let calls = Arc::new(AtomicU32::new(0));
        // fail, fail, succeed, fail, fail, succeed, ... never three in a row.
        let c = calls.clone();
        let watcher = {
            let reach = reach.clone();
            let cancel = cancel.clone();
            tokio::spawn(async move {
                reach
                    .watch(&policy(), &cancel, move || {
                        let n = c.fetch_add(1, Ordering::Relaxed);
                        async move {
                            if n % 3 == 2 {
                                Ok(())
                            } else {
                                Err("flaky".to_string())
                            }
                        }
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_secs(3600)).await;
        cancel.cancel();
        assert!(!watcher.await.unwrap(), "cancelled, not relaunched");
        let n = calls.load(Ordering::Relaxed);
        // Each cycle is three checks: two failures 10 s apart, then a
        // success followed by 300 s of quiet: 320 s, so ~34 checks an hour.
        // Were failures counted across the successes, it would have asked
        // for a relaunch long before.
        assert!((33..=37).contains(&n), "{n} checks in an hour");
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_that_hangs_counts_as_a_failure() {
        let reach = Reachability::new(Arc::new(TokioClock::starting_at(1000)));
        let relaunch = reach
            .watch(&policy(), &CancellationToken::new(), || {
                std::future::pending::<Result<(), String>>()
            })
            .await;
        assert!(relaunch);
        assert!(
            reach
                .snapshot()
                .last_failure
                .unwrap()
                .contains("no answer within 30 s")
        );
    }
}
