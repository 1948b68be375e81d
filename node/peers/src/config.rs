//! The peer layer's configuration sections: `[community]`, `[discovery]`,
//! `[limits]` and `[store]` (the daemon's `warren.toml` holds them under
//! those names; `warren.example.toml` documents every key), and the role.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use warren_proto::{Difficulty, RecordPolicy, Role};

use crate::{Error, Result};

/// What the peer layer is configured with: the sections it reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PeersConfig {
    /// `[community]`.
    pub community: CommunityConfig,
    /// `[discovery]`.
    pub discovery: DiscoveryConfig,
    /// `[limits]`.
    pub limits: Limits,
    /// `[store]`.
    pub store: StoreConfig,
}

/// A node role, as written in config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    /// A member's node.
    Member,
    /// An always-on box.
    Box,
}

impl From<RoleName> for Role {
    fn from(r: RoleName) -> Role {
        match r {
            RoleName::Member => Role::Member,
            RoleName::Box => Role::Box,
        }
    }
}

/// `[community]`: must be the same on every node of a community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CommunityConfig {
    /// Proof of work every identity must carry, in leading zero bits.
    pub pow_difficulty: u8,
    /// How long this node's own record is valid, seconds.
    pub record_validity_secs: u64,
    /// Longest validity accepted in others' records, seconds.
    pub max_record_validity_secs: u64,
    /// How far in the future a record's issue time may be, seconds.
    pub max_clock_skew_secs: u64,
}

impl Default for CommunityConfig {
    fn default() -> Self {
        CommunityConfig {
            pow_difficulty: 20,
            record_validity_secs: 24 * 3600,
            max_record_validity_secs: 7 * 24 * 3600,
            max_clock_skew_secs: 600,
        }
    }
}

impl CommunityConfig {
    /// The record policy these settings describe.
    pub fn policy(&self) -> Result<RecordPolicy> {
        Ok(RecordPolicy {
            difficulty: Difficulty::new(self.pow_difficulty)
                .map_err(|e| Error::ConfigValue(format!("community.pow_difficulty: {e}")))?,
            max_validity: self.max_record_validity_secs,
            max_clock_skew: self.max_clock_skew_secs,
        })
    }
}

/// `[discovery]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// Outbound connections the node tries to keep.
    pub target_outbound: usize,
    /// Seconds between peer-exchange requests to each connected peer.
    pub pex_interval_secs: u64,
    /// First reconnect delay after a failure, seconds (doubles per failure).
    pub reconnect_base_secs: u64,
    /// Longest reconnect delay, seconds.
    pub reconnect_max_secs: u64,
    /// Seconds a handshake may take.
    pub handshake_timeout_secs: u64,
    /// Seconds a dial may take before the handshake starts.
    pub dial_timeout_secs: u64,
    /// Seconds of silence before a keepalive ping.
    pub ping_interval_secs: u64,
    /// Seconds of silence before the connection is closed.
    pub idle_timeout_secs: u64,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            target_outbound: 8,
            pex_interval_secs: 60,
            reconnect_base_secs: 2,
            reconnect_max_secs: 300,
            handshake_timeout_secs: 30,
            dial_timeout_secs: 60,
            ping_interval_secs: 30,
            idle_timeout_secs: 120,
        }
    }
}

impl DiscoveryConfig {
    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }
    /// `pex_interval_secs`.
    pub fn pex_interval(&self) -> Duration {
        Self::secs(self.pex_interval_secs)
    }
    /// `handshake_timeout_secs`.
    pub fn handshake_timeout(&self) -> Duration {
        Self::secs(self.handshake_timeout_secs)
    }
    /// `dial_timeout_secs`.
    pub fn dial_timeout(&self) -> Duration {
        Self::secs(self.dial_timeout_secs)
    }
    /// `ping_interval_secs`.
    pub fn ping_interval(&self) -> Duration {
        Self::secs(self.ping_interval_secs)
    }
    /// `idle_timeout_secs`.
    pub fn idle_timeout(&self) -> Duration {
        Self::secs(self.idle_timeout_secs)
    }
}

/// A memory profile: the defaults for `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A desktop, laptop or Pi 4-class box (≥ 2 GB).
    Desktop,
    /// A Pi Zero 2 W or Pi 3-class box (512 MB – 1 GB).
    Small,
}

/// `[limits]`: the capacity of every queue, table and rate in the node.
///
/// For each queue the comment says what happens when it is full.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Memory profile whose values fill in the keys not given.
    pub profile: Profile,
    /// Inbound peer connections at once (one per identity: a second is a
    /// duplicate). A quarter of them (at least one) is kept for trusted
    /// nodes, so strangers, each holding one slot per identity they mined,
    /// never keep the community's own nodes out. Beyond: a busy redirect or
    /// a drop.
    pub max_inbound: usize,
    /// Handshakes in progress at once (inbound). Beyond: the oldest is cut off.
    pub max_pending_handshakes: usize,
    /// Busy redirects in progress at once. Beyond: the stream is dropped.
    pub max_busy_redirects: usize,
    /// Outbound dials in progress at once. Beyond: dials wait their turn.
    pub max_concurrent_dials: usize,
    /// Records held in the peer table. Beyond: the least useful is evicted.
    pub max_known_peers: usize,
    /// Trusted nodes. Beyond: `trust add` is refused.
    pub max_trusted: usize,
    /// Banned identities remembered. Beyond: the oldest ban is forgotten.
    pub max_bans: usize,
    /// Control frames queued per peer. Full: dropped and counted.
    pub outbox_control: usize,
    /// Service frames queued per peer. Full: dropped and counted.
    pub outbox_normal: usize,
    /// Events queued for the node task. Full: lifecycle events wait, data drops.
    pub node_inbox: usize,
    /// Writes queued for the store task. Full: the writer waits.
    pub store_queue: usize,
    /// Distinct keys held before a commit is forced.
    pub store_max_pending: usize,
    /// Control-socket clients served at once, at most half of them one
    /// process's. Beyond: the client silent the longest (for 5 s at least)
    /// is closed for the newcomer; until one is, the newcomer waits.
    pub control_clients: usize,
    /// Inbound connections each named service (chat, …) holds at once, at
    /// most a quarter of them (at least one) one identity's. Beyond: the
    /// connection silent the longest (of that identity's, at its quarter)
    /// is closed with `Busy` for the newcomer.
    pub service_connections: usize,
    /// Frames per second a peer may send (token bucket rate).
    pub peer_frames_per_sec: u32,
    /// Frames a peer may send in a burst (token bucket depth).
    pub peer_frame_burst: u32,
    /// Seconds between `GetPeers` a peer may send; more are ignored.
    pub get_peers_min_interval_secs: u64,
    /// Invalid records a peer may send before it is dropped and banned.
    pub misbehavior_limit: u32,
    /// How long a ban lasts, seconds.
    pub ban_secs: u64,
    /// Swarms whose providers the tracker (the files service's) remembers.
    pub tracker_swarms: usize,
    /// Public shares the tracker's catalogue (the files service's) holds.
    pub catalogue_entries: usize,
    /// Memory arti may hold in queued cells and stream data, MiB (its
    /// memory quota, `system.memory.max` in tor-memquota): above it arti
    /// reclaims by closing the circuits and streams with the oldest data
    /// until it is back under three quarters. Without it arti takes
    /// three quarters of the machine's memory (at least 256 MiB). Only the
    /// arti transport uses it; C tor has its own `MaxMemInQueues`.
    pub tor_memory_mib: u64,
}

impl Limits {
    /// The values of a memory profile.
    pub fn for_profile(profile: Profile) -> Limits {
        let small = profile == Profile::Small;
        let pick = |desktop: usize, small_v: usize| if small { small_v } else { desktop };
        Limits {
            profile,
            max_inbound: pick(32, 16),
            max_pending_handshakes: pick(64, 32),
            max_busy_redirects: pick(4, 2),
            max_concurrent_dials: pick(4, 2),
            max_known_peers: pick(1024, 256),
            max_trusted: pick(256, 64),
            max_bans: pick(1024, 256),
            outbox_control: pick(32, 16),
            outbox_normal: pick(64, 32),
            node_inbox: pick(1024, 256),
            store_queue: pick(256, 128),
            store_max_pending: pick(1024, 256),
            control_clients: pick(8, 4),
            service_connections: pick(64, 16),
            peer_frames_per_sec: 200,
            peer_frame_burst: 400,
            get_peers_min_interval_secs: 5,
            misbehavior_limit: 32,
            ban_secs: 3600,
            tracker_swarms: pick(4096, 1024),
            catalogue_entries: pick(4096, 1024),
            tor_memory_mib: if small { 64 } else { 256 },
        }
    }
}

impl PeersConfig {
    /// Checks every value of the four sections.
    ///
    /// # Errors
    /// [`Error::ConfigValue`] naming the key and its allowed range.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::ConfigValue(what.to_string()));
        self.community.policy()?;
        let c = &self.community;
        if c.record_validity_secs < 60 || c.record_validity_secs > c.max_record_validity_secs {
            return bad("community.record_validity_secs must be 60..=max_record_validity_secs");
        }
        let d = &self.discovery;
        if d.pex_interval_secs == 0 || d.ping_interval_secs == 0 || d.reconnect_base_secs == 0 {
            return bad("discovery intervals must be at least 1 second");
        }
        if d.idle_timeout_secs <= d.ping_interval_secs {
            return bad("discovery.idle_timeout_secs must exceed ping_interval_secs");
        }
        if d.reconnect_max_secs < d.reconnect_base_secs {
            return bad("discovery.reconnect_max_secs must be at least reconnect_base_secs");
        }
        let l = &self.limits;
        let capacities = [
            ("max_inbound", l.max_inbound),
            ("max_pending_handshakes", l.max_pending_handshakes),
            ("max_busy_redirects", l.max_busy_redirects),
            ("max_concurrent_dials", l.max_concurrent_dials),
            ("max_known_peers", l.max_known_peers),
            ("max_trusted", l.max_trusted),
            ("max_bans", l.max_bans),
            ("outbox_control", l.outbox_control),
            ("outbox_normal", l.outbox_normal),
            ("node_inbox", l.node_inbox),
            ("store_queue", l.store_queue),
            ("store_max_pending", l.store_max_pending),
            ("control_clients", l.control_clients),
            ("service_connections", l.service_connections),
            ("tracker_swarms", l.tracker_swarms),
            ("catalogue_entries", l.catalogue_entries),
        ];
        for (name, v) in capacities {
            if v == 0 || v > 1_000_000 {
                return Err(Error::ConfigValue(format!(
                    "limits.{name} must be 1..=1000000"
                )));
            }
        }
        if !(4..=65_536).contains(&l.tor_memory_mib) {
            return bad("limits.tor_memory_mib must be 4..=65536");
        }
        if l.peer_frames_per_sec == 0 || l.peer_frame_burst == 0 {
            return bad("limits.peer_frames_per_sec and peer_frame_burst must be at least 1");
        }
        Ok(())
    }

    /// The connection layer's share of `[discovery]` and `[limits]`.
    pub fn conn_config(&self) -> warren_net::conn::ConnConfig {
        let (d, l) = (&self.discovery, &self.limits);
        warren_net::conn::ConnConfig {
            handshake_timeout: d.handshake_timeout(),
            dial_timeout: d.dial_timeout(),
            ping_interval: d.ping_interval(),
            idle_timeout: d.idle_timeout(),
            max_inbound: l.max_inbound,
            max_pending_handshakes: l.max_pending_handshakes,
            max_busy_redirects: l.max_busy_redirects,
            outbox_control: l.outbox_control,
            outbox_normal: l.outbox_normal,
            peer_frames_per_sec: l.peer_frames_per_sec,
            peer_frame_burst: l.peer_frame_burst,
            get_peers_min_interval: Duration::from_secs(l.get_peers_min_interval_secs),
            misbehavior_limit: l.misbehavior_limit,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::for_profile(Profile::Desktop)
    }
}

/// `[store]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Seconds between commits of pending writes (when there are any).
    pub commit_interval_secs: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            commit_interval_secs: 30,
        }
    }
}
