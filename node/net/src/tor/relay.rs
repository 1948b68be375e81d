//! The relay role of a C tor daemon, driven over its control port: the
//! settings that make it a capped, non-exit middle relay, and what it says
//! of itself as a relay.
//!
//! Only C tor can relay: arti (0.47) has no relay support, so the arti
//! transport refuses the role ([`ARTI_CANNOT_RELAY`]).
//!
//! Settings go in with `SETCONF` (control-spec §3.1) and are not saved into
//! tor's torrc: the node applies them again whenever tor has lost them (a
//! restart), and turning the relay off closes only the ORPort
//! (`RESETCONF ORPort`), so the node's onion service on the same tor keeps
//! working. tor's own `AccountingMax` is never set: when its allowance runs
//! out tor goes dormant and closes every OR, AP and exit connection
//! (tor's `hibernate.c`, `hibernate_go_dormant`), which would take the
//! node's onion service down with the relay; the node keeps the monthly
//! allowance itself and closes only the ORPort.

use crate::transport::ctor::{Control, ControlError};

/// Why the arti transport refuses the relay role.
pub const ARTI_CANNOT_RELAY: &str = "arti cannot relay yet (arti 0.47 has no relay support): \
     run the node on the ctor transport, with a C tor, to relay";

/// The lowest rate tor accepts for a relay, bytes per second (tor refuses
/// `RelayBandwidthRate` below 76800: "For servers, it must be at least
/// 76800", tor 0.4.9's `config.c`).
pub const MIN_RELAY_RATE: u64 = 76_800;

/// What makes tor a capped middle relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayPlan {
    /// The ORPort: `PORT` (every address) or `IP:PORT`.
    pub or_port: String,
    /// The address to advertise (`Address`); none: tor finds it.
    pub address: Option<String>,
    /// The relay's nickname (1–19 letters and digits).
    pub nickname: String,
    /// `ContactInfo`; none: not set.
    pub contact: Option<String>,
    /// `RelayBandwidthRate`, bytes per second (at least [`MIN_RELAY_RATE`]).
    pub rate: u64,
    /// `RelayBandwidthBurst`, bytes per second (at least `rate`).
    pub burst: u64,
}

impl RelayPlan {
    /// The `SETCONF` line that turns the relay on with these settings:
    /// a middle relay that never exits (`ExitRelay 0`, `ExitPolicy reject
    /// *:*`), with its rate and burst.
    pub fn setconf(&self) -> String {
        let mut line = format!(
            "SETCONF ORPort={} ExitRelay=0 ExitPolicy=\"reject *:*\" Nickname={} \
             RelayBandwidthRate={} RelayBandwidthBurst={}",
            quote(&self.or_port),
            quote(&self.nickname),
            self.rate,
            self.burst.max(self.rate),
        );
        if let Some(a) = &self.address {
            line.push_str(&format!(" Address={}", quote(a)));
        }
        if let Some(c) = &self.contact {
            line.push_str(&format!(" ContactInfo={}", quote(c)));
        }
        line
    }

    /// Only the rate and burst, for a change of schedule.
    pub fn setconf_rate(rate: u64, burst: u64) -> String {
        format!(
            "SETCONF RelayBandwidthRate={rate} RelayBandwidthBurst={}",
            burst.max(rate)
        )
    }
}

/// The command that stops relaying: the ORPort closes; the rest of tor
/// (its client side, the node's onion service) is untouched.
pub const RELAY_OFF: &str = "RESETCONF ORPort";

/// A control-protocol quoted string (control-spec §2.1: `\` and `"`
/// escaped).
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// What tor says of itself as a relay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayInfo {
    /// Whether an ORPort is open (`GETINFO net/listeners/or`).
    pub listening: bool,
    /// The ORPort's configured value (`GETCONF ORPort`; empty: none).
    pub or_port: String,
    /// The relay's RSA identity fingerprint, 40 hex digits (`GETINFO
    /// fingerprint`); none while tor is not a relay.
    pub fingerprint: Option<String>,
    /// tor's own reachability self-test of its ORPort (`GETINFO
    /// status/reachability-succeeded/or`).
    pub reachable: bool,
    /// The relay's flags in tor's current consensus (`GETINFO ns/id/FP`,
    /// its `s` line); empty: not listed.
    pub flags: Vec<String>,
    /// Bytes tor has read since it started (`GETINFO traffic/read`).
    pub read: u64,
    /// Bytes tor has written since it started (`GETINFO traffic/written`).
    pub written: u64,
    /// Onion-skin (ntor) handshakes tor has done for others' circuits
    /// (`GETINFO stats/ntor/assigned`): circuits it carried.
    pub circuits: u64,
}

/// Reads what tor says of itself as a relay.
///
/// # Errors
/// The control connection failed or tor answered out of protocol. Keys a
/// client tor cannot answer (`fingerprint` while not a relay, `ns/id/…`
/// for a relay not in the consensus) are not errors.
pub async fn read_info(ctl: &mut Control) -> Result<RelayInfo, ControlError> {
    let listeners = ctl.getinfo("net/listeners/or").await?;
    let or_port = getconf(ctl, "ORPort").await?;
    let fingerprint = optional(ctl.getinfo("fingerprint").await)?
        .map(|f| f.trim().to_string())
        .filter(|f| f.len() == 40 && f.bytes().all(|b| b.is_ascii_hexdigit()));
    let reachable = ctl
        .getinfo("status/reachability-succeeded/or")
        .await?
        .trim()
        == "1";
    let flags = match &fingerprint {
        Some(fp) => consensus_entry(ctl, fp)
            .await?
            .map(|entry| flags_of(&entry))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let number = |v: String| v.trim().parse::<u64>().unwrap_or(0);
    Ok(RelayInfo {
        listening: !listeners.trim().is_empty(),
        or_port,
        fingerprint,
        reachable,
        flags,
        read: number(ctl.getinfo("traffic/read").await?),
        written: number(ctl.getinfo("traffic/written").await?),
        circuits: optional(ctl.getinfo("stats/ntor/assigned").await)?
            .map(number)
            .unwrap_or(0),
    })
}

/// `GETCONF key`: its value (empty when unset).
pub async fn getconf(ctl: &mut Control, key: &str) -> Result<String, ControlError> {
    let r = ctl.command(&format!("GETCONF {key}")).await?;
    Ok(r.lines
        .iter()
        .find_map(|l| {
            l.strip_prefix(key)
                .map(|v| v.strip_prefix('=').unwrap_or(""))
        })
        .unwrap_or("")
        .to_string())
}

/// A tor error status (5xx) as "no value"; anything else as it was.
fn optional(r: Result<String, ControlError>) -> Result<Option<String>, ControlError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ControlError::Refused { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Why a relay claim does not hold against the consensus.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimRefused {
    /// The consensus does not list the fingerprint.
    #[error("the consensus lists no relay {0}")]
    NotListed(String),
    /// The consensus lists the relay under another nickname: the claim
    /// names a relay its node does not run.
    #[error(
        "relay {fingerprint} is listed as {listed:?}, not {expected:?}: the claim is not its operator's"
    )]
    OtherNickname {
        /// The fingerprint claimed.
        fingerprint: String,
        /// The nickname the consensus lists.
        listed: String,
        /// The nickname the claim derives.
        expected: String,
    },
    /// Listed, but not Running.
    #[error("relay {0} is listed but not Running")]
    NotRunning(String),
}

/// Checks a (signature-checked) relay claim against `entry`, tor's router
/// status entry for the claimed fingerprint (`GETINFO ns/id/FP`; none:
/// not listed). Returns the relay's flags.
///
/// # Errors
/// [`ClaimRefused`]: not listed, listed under another nickname, not
/// Running.
pub fn check_claim(
    entry: Option<&str>,
    claim: &warren_proto::relay::RelayClaim,
) -> Result<Vec<String>, ClaimRefused> {
    let fingerprint = claim.fingerprint_hex();
    let entry = entry.ok_or_else(|| ClaimRefused::NotListed(fingerprint.clone()))?;
    let listed = entry
        .lines()
        .find_map(|l| l.strip_prefix("r "))
        .and_then(|r| r.split(' ').next())
        .ok_or_else(|| ClaimRefused::NotListed(fingerprint.clone()))?;
    let expected = claim.nickname();
    if listed != expected {
        return Err(ClaimRefused::OtherNickname {
            fingerprint,
            listed: listed.to_string(),
            expected,
        });
    }
    let flags = flags_of(entry);
    if !flags.iter().any(|f| f == "Running") {
        return Err(ClaimRefused::NotRunning(fingerprint));
    }
    Ok(flags)
}

/// tor's router status entry for `fingerprint` (`GETINFO ns/id/FP`); none:
/// the consensus does not list it.
///
/// # Errors
/// The control connection failed.
pub async fn consensus_entry(
    ctl: &mut Control,
    fingerprint: &str,
) -> Result<Option<String>, ControlError> {
    optional(ctl.getinfo(&format!("ns/id/{fingerprint}")).await)
}

/// The flags of a router status entry (dir-spec §3.4.1, the `s` line).
pub fn flags_of(entry: &str) -> Vec<String> {
    entry
        .lines()
        .find_map(|l| l.strip_prefix("s "))
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> RelayPlan {
        RelayPlan {
            or_port: "9001".into(),
            address: None,
            nickname: "warrenbox".into(),
            contact: Some("warren-relay \"x\"".into()),
            rate: 2 * 1024 * 1024,
            burst: 1024,
        }
    }

    #[test]
    fn setconf_pins_a_capped_non_exit_relay() {
        assert_eq!(
            plan().setconf(),
            "SETCONF ORPort=\"9001\" ExitRelay=0 ExitPolicy=\"reject *:*\" Nickname=\"warrenbox\" \
             RelayBandwidthRate=2097152 RelayBandwidthBurst=2097152 \
             ContactInfo=\"warren-relay \\\"x\\\"\""
        );
        let mut p = plan();
        p.address = Some("127.0.0.1".into());
        p.contact = None;
        assert!(p.setconf().ends_with(" Address=\"127.0.0.1\""));
        assert_eq!(
            RelayPlan::setconf_rate(100_000, 200_000),
            "SETCONF RelayBandwidthRate=100000 RelayBandwidthBurst=200000"
        );
    }

    #[test]
    fn a_claim_holds_only_for_the_nickname_it_derives() {
        use warren_proto::relay::RelayClaim;
        let k = warren_proto::Keypair::from_seed(&[3; 32]);
        let claim = RelayClaim {
            node: k.id(),
            fingerprint: [0x11; 20],
            secret: [9; 32],
            issued_at: 0,
            expires_at: 1,
        };
        let entry = |nick: &str, flags: &str| {
            format!(
                "r {nick} ERERERERERERERERERERERERERE x 2026-12-02 12:00:00 127.0.0.1 9001 0\ns {flags}"
            )
        };
        let ours = claim.nickname();
        assert_eq!(
            check_claim(Some(&entry(&ours, "Running Valid")), &claim).unwrap(),
            ["Running", "Valid"]
        );
        assert!(matches!(
            check_claim(Some(&entry("relay0", "Running Valid")), &claim),
            Err(ClaimRefused::OtherNickname { .. })
        ));
        assert!(matches!(
            check_claim(Some(&entry(&ours, "Valid")), &claim),
            Err(ClaimRefused::NotRunning(_))
        ));
        assert!(matches!(
            check_claim(None, &claim),
            Err(ClaimRefused::NotListed(_))
        ));
    }

    #[test]
    fn flags_come_from_the_s_line() {
        let entry = "r box AAAA BBBB 2026-12-02 12:00:00 127.0.0.1 9101 0\n\
                     s Fast Running Stable Valid\nw Bandwidth=20";
        assert_eq!(flags_of(entry), ["Fast", "Running", "Stable", "Valid"]);
        assert!(flags_of("r only").is_empty());
    }
}
