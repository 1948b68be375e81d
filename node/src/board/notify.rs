//! systemd's service notifications: `READY=1` once the board runs,
//! `WATCHDOG=1` with every pet, `STATUS=` with the LED's meaning, and
//! `STOPPING=1`. Without `NOTIFY_SOCKET` (not started by systemd) every
//! call does nothing.

use sd_notify::NotifyState;

/// Whether systemd asked for watchdog pings (`WatchdogSec=` in the unit).
pub(crate) fn watchdog_wanted() -> bool {
    sd_notify::watchdog_enabled().is_some()
}

fn send(states: &[NotifyState<'_>]) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "sd_notify failed");
    }
}

/// The service is up.
pub(crate) fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// The liveness check passed: keep the service alive.
pub(crate) fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// What the LED says, for `systemctl status`.
pub(crate) fn status(text: &str) {
    send(&[NotifyState::Status(text)]);
}

/// The service is stopping.
pub(crate) fn stopping() {
    send(&[NotifyState::Stopping]);
}
