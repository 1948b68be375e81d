//! `[board]`: which board, where its parts are wired, and its limits.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// Which board the node drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardKind {
    /// A Raspberry Pi when the device tree says so and the node runs as a
    /// box (`node.role = "box"`), else the simulated board.
    Auto,
    /// A Raspberry Pi (fails to start without its GPIO chip).
    Pi,
    /// The simulated board: driven with `warren board`, seen in `status`.
    Sim,
    /// No board support.
    None,
}

impl BoardKind {
    /// The name used in config and `status`.
    pub fn name(self) -> &'static str {
        match self {
            BoardKind::Auto => "auto",
            BoardKind::Pi => "pi",
            BoardKind::Sim => "sim",
            BoardKind::None => "none",
        }
    }
}

/// `[board]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BoardConfig {
    /// `"auto"`, `"pi"`, `"sim"` or `"none"`.
    pub kind: BoardKind,
    /// The GPIO character device (Pi).
    pub gpio_chip: String,
    /// The status LED's GPIO line (BCM number; Pi).
    pub led_pin: u32,
    /// The LED lights when its pin is low.
    pub led_active_low: bool,
    /// The button's GPIO line (BCM number; Pi).
    pub button_pin: u32,
    /// The button reads low when pressed (wired to ground, with a pull-up).
    pub button_active_low: bool,
    /// Milliseconds a hold must last to be a long press (factory reset).
    pub long_press_ms: u64,
    /// Milliseconds after the first hold ends in which a second hold must
    /// begin to confirm a factory reset.
    pub reset_confirm_ms: u64,
    /// Seconds a short press keeps pairing mode on.
    pub pairing_secs: u64,
    /// Where the panel also listens during pairing mode, so the pairing code
    /// works from the local network (port 0 picks one).
    pub pairing_listen: SocketAddr,
    /// While no owner has paired, every start opens pairing mode as a
    /// short press would (a new box pairs without its button).
    pub pairing_until_paired: bool,
    /// On the community's box (`node.role = "box"`), announce the box as
    /// `warren-xxxx.local` with multicast DNS while pairing mode is open,
    /// so a phone or laptop on the same network can open the pairing page
    /// by name.
    pub mdns: bool,
    /// The boot partition: pairing mode writes `warren-pairing.txt` there
    /// when the folder exists. Empty: never.
    pub boot_partition: String,
    /// The hardware watchdog device (Pi). Empty: none.
    pub watchdog: String,
    /// Seconds the watchdog waits for a pet, when the device does not say
    /// (the simulated board's, too).
    pub watchdog_timeout_secs: u64,
    /// Milliseconds the node's core tasks have to answer a liveness check.
    pub liveness_deadline_ms: u64,
    /// The SoC temperature file, in millidegrees (Pi). Empty: none.
    pub temperature_file: String,
    /// Seconds between sensor readings.
    pub sensor_interval_secs: u64,
    /// At this temperature (°C) the box throttles transfers and disk work.
    pub hot_celsius: f32,
    /// It stops throttling once it cools to this (°C).
    pub cool_celsius: f32,
    /// Bytes per second uploads, downloads and hashing each get while hot.
    pub hot_rate_limit: u64,
    /// Below this share of free space (percent) on the data folder's disk
    /// the box counts as degraded.
    pub disk_low_percent: u8,
    /// Seconds not online (Tor out of reach, say) after which the LED turns
    /// from `bootstrapping` to `degraded`.
    pub offline_degraded_secs: u64,
}

impl Default for BoardConfig {
    fn default() -> Self {
        BoardConfig {
            kind: BoardKind::Auto,
            gpio_chip: "/dev/gpiochip0".into(),
            led_pin: 17,
            led_active_low: false,
            button_pin: 27,
            button_active_low: false,
            long_press_ms: 10_000,
            reset_confirm_ms: 5_000,
            pairing_secs: 600,
            pairing_listen: SocketAddr::from(([0, 0, 0, 0], 7451)),
            pairing_until_paired: false,
            mdns: true,
            boot_partition: "/boot/firmware".into(),
            watchdog: "/dev/watchdog".into(),
            watchdog_timeout_secs: 15,
            liveness_deadline_ms: 2_000,
            temperature_file: "/sys/class/thermal/thermal_zone0/temp".into(),
            sensor_interval_secs: 5,
            hot_celsius: 80.0,
            cool_celsius: 72.0,
            hot_rate_limit: 256 * 1024,
            disk_low_percent: 5,
            offline_degraded_secs: 180,
        }
    }
}

impl BoardConfig {
    /// Checks values that parse but make no sense.
    pub fn check(&self) -> Result<(), String> {
        if self.long_press_ms < 100 || self.long_press_ms > 30_000 {
            return Err("board.long_press_ms must be 100 to 30000".into());
        }
        if self.reset_confirm_ms < 500 || self.reset_confirm_ms > 60_000 {
            return Err("board.reset_confirm_ms must be 500 to 60000".into());
        }
        if self.pairing_secs == 0 || self.pairing_secs > 24 * 3600 {
            return Err("board.pairing_secs must be 1 to 86400".into());
        }
        if self.watchdog_timeout_secs < 3 || self.watchdog_timeout_secs > 3600 {
            return Err("board.watchdog_timeout_secs must be 3 to 3600".into());
        }
        if self.liveness_deadline_ms == 0
            || self.liveness_deadline_ms >= self.watchdog_timeout_secs * 1000 / 3
        {
            return Err(
                "board.liveness_deadline_ms must be above 0 and below a third of the watchdog timeout"
                    .into(),
            );
        }
        if self.sensor_interval_secs == 0 || self.sensor_interval_secs > 3600 {
            return Err("board.sensor_interval_secs must be 1 to 3600".into());
        }
        if !(self.cool_celsius < self.hot_celsius && self.hot_celsius <= 150.0) {
            return Err("board.cool_celsius must be below board.hot_celsius (at most 150)".into());
        }
        if self.hot_rate_limit == 0 || self.hot_rate_limit > u64::from(u32::MAX) {
            return Err("board.hot_rate_limit must be 1 to 4294967295".into());
        }
        if self.offline_degraded_secs == 0 {
            return Err("board.offline_degraded_secs must be at least 1".into());
        }
        if self.disk_low_percent > 50 {
            return Err("board.disk_low_percent must be at most 50".into());
        }
        Ok(())
    }
}
