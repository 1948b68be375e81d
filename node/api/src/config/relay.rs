//! `[relay]`: the box's tor as a capped, non-exit middle relay.
//!
//! The defaults suit a Pi on home broadband, after the Tor Project's relay
//! guide ("Relay requirements": at least 16 Mbit/s and 100 GB of traffic a
//! month for a useful middle relay): 2 MiB/s (≈ 16.8 Mbit/s) with bursts to
//! 4 MiB/s, and 200 GiB a month. A schedule lowers the rate outside its
//! window rather than taking the relay offline: the guide asks relays to
//! stay up (the Stable and Guard flags come from uptime), and tor's manual
//! suggests changing the rate by time of day for the same reason.

use serde::{Deserialize, Serialize};
use warren_net::tor::relay::MIN_RELAY_RATE;

/// `[relay]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// Relay for the Tor network (needs the `ctor` transport; `warren
    /// relay on|off` and the panel's Relay page change it).
    pub enabled: bool,
    /// The ORPort: `PORT` (every address) or `IP:PORT`. It must be
    /// reachable from the internet (a port forwarded on the router).
    pub or_port: String,
    /// The public address to advertise; empty: tor finds it.
    pub address: String,
    /// Relaying rate, KiB/s (tor's `RelayBandwidthRate`; at least 75).
    pub rate_kib: u64,
    /// Short bursts up to this, KiB/s (tor's `RelayBandwidthBurst`; at
    /// least `rate_kib`).
    pub burst_kib: u64,
    /// Traffic allowance a month, GiB, counted as tor's `AccountingRule
    /// max` counts (the larger of bytes read and written); when it is used
    /// up the relay stops until the next month. 0: no allowance.
    pub monthly_gib: u64,
    /// Day of the month (1–28) the allowance starts again, at 00:00 UTC.
    pub month_start_day: u8,
    /// `HH:MM-HH:MM` (UTC): relay at `rate_kib` only inside this window
    /// (it may pass midnight), at `off_hours_kib` outside. Empty: always.
    pub schedule: String,
    /// Rate outside the schedule's window, KiB/s (at least 75, tor's
    /// minimum for a relay).
    pub off_hours_kib: u64,
    /// Ask the router (UPnP-IGD) to forward the ORPort while relaying.
    pub upnp: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            enabled: false,
            or_port: "9001".into(),
            address: String::new(),
            rate_kib: 2048,
            burst_kib: 4096,
            monthly_gib: 200,
            month_start_day: 1,
            schedule: String::new(),
            off_hours_kib: 75,
            upnp: true,
        }
    }
}

/// A daily window, minutes after 00:00 UTC; `start == end`: the whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Start, minutes after midnight.
    pub start: u16,
    /// End (exclusive), minutes after midnight.
    pub end: u16,
}

impl Schedule {
    /// Parses `HH:MM-HH:MM`; empty: none.
    ///
    /// # Errors
    /// Anything else, in words.
    pub fn parse(s: &str) -> Result<Option<Schedule>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let bad = || format!("relay.schedule {s:?} must be HH:MM-HH:MM (UTC), or empty");
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        Ok(Some(Schedule {
            start: minutes(a).ok_or_else(bad)?,
            end: minutes(b).ok_or_else(bad)?,
        }))
    }

    /// Whether `minute` (after midnight UTC) is inside the window.
    pub fn contains(&self, minute: u16) -> bool {
        match self.start.cmp(&self.end) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => (self.start..self.end).contains(&minute),
            std::cmp::Ordering::Greater => minute >= self.start || minute < self.end,
        }
    }
}

impl RelayConfig {
    /// Checks values that parse but make no sense.
    ///
    /// # Errors
    /// The first bad value, in words.
    pub fn check(&self) -> Result<(), String> {
        let min_kib = MIN_RELAY_RATE / 1024;
        if self.rate_kib < min_kib || self.off_hours_kib < min_kib {
            return Err(format!(
                "relay.rate_kib and relay.off_hours_kib must be at least {min_kib} (tor's minimum for a relay)"
            ));
        }
        if self.rate_kib > 10_000_000 || self.burst_kib > 10_000_000 {
            return Err("relay.rate_kib and relay.burst_kib must be at most 10000000".into());
        }
        if self.burst_kib < self.rate_kib {
            return Err("relay.burst_kib must be at least relay.rate_kib".into());
        }
        if !(1..=28).contains(&self.month_start_day) {
            return Err("relay.month_start_day must be 1..=28 (as tor's AccountingStart)".into());
        }
        if self.monthly_gib > 1_000_000 {
            return Err("relay.monthly_gib must be at most 1000000 (0: no allowance)".into());
        }
        Schedule::parse(&self.schedule)?;
        let port = match self.or_port.rsplit_once(':') {
            Some((ip, port)) => {
                ip.trim_matches(['[', ']'])
                    .parse::<std::net::IpAddr>()
                    .map_err(|_| format!("relay.or_port {:?}: not an IP address", self.or_port))?;
                port
            }
            None => self.or_port.as_str(),
        };
        if !matches!(port.parse::<u16>(), Ok(p) if p > 0) {
            return Err(format!(
                "relay.or_port {:?} must be PORT or IP:PORT (1..=65535)",
                self.or_port
            ));
        }
        if !self.address.is_empty() && self.address.contains(char::is_whitespace) {
            return Err("relay.address must be one address".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_may_pass_midnight() {
        let night = Schedule::parse("22:30-06:00").unwrap().unwrap();
        assert!(night.contains(23 * 60));
        assert!(night.contains(5 * 60 + 59));
        assert!(!night.contains(6 * 60));
        assert!(!night.contains(12 * 60));
        let day = Schedule::parse("09:00-17:00").unwrap().unwrap();
        assert!(day.contains(9 * 60) && !day.contains(17 * 60) && !day.contains(8 * 60));
        assert!(
            Schedule::parse("00:00-00:00")
                .unwrap()
                .unwrap()
                .contains(700)
        );
        assert_eq!(Schedule::parse(" ").unwrap(), None);
        for bad in ["24:00-01:00", "1-2", "10:00", "aa:bb-cc:dd", "10:60-11:00"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checks_refuse_what_tor_would() {
        assert!(RelayConfig::default().check().is_ok());
        let with = |f: fn(&mut RelayConfig)| {
            let mut c = RelayConfig::default();
            f(&mut c);
            c.check()
        };
        assert!(with(|c| c.rate_kib = 74).is_err());
        assert!(with(|c| c.burst_kib = 100).is_err());
        assert!(with(|c| c.month_start_day = 29).is_err());
        assert!(with(|c| c.or_port = "0".into()).is_err());
        assert!(with(|c| c.or_port = "box:9001".into()).is_err());
        assert!(with(|c| c.or_port = "127.0.0.1:9101".into()).is_ok());
    }
}
