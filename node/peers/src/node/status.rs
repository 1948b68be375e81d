//! What `status`, `peers` and `trust` report. Serialized as the JSON the
//! CLI prints and the control socket returns.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::metrics::NetCounts;
use crate::store::StoreCounts;

/// The node at a glance (`warren status --json`). `X` is what the daemon
/// adds about its other services (the gateway, the panel, the board),
/// written between `listen` and `online`; `M` the counters, the peer
/// layer's own ([`PeerMetrics`]) or with the services' beside them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status<X = NoExtras, M = PeerMetrics> {
    /// The node's identity: its onion address.
    pub id: String,
    /// The peer address others use to reach this node; what `--bootstrap`
    /// and `trust add` accept.
    pub address: String,
    /// Every advertised address, preferred first.
    pub addresses: Vec<String>,
    /// Transport name (`tcp`, `memory`).
    pub transport: String,
    /// The socket address the TCP transport listens on (the real port when
    /// `--listen` asked for port 0).
    pub listen: Option<String>,
    /// What the daemon adds about its other services.
    #[serde(flatten)]
    pub extra: X,
    /// Whether the node can be reached by its peers: on Tor, once its own
    /// onion service passed a reachability check; on TCP, always.
    pub online: bool,
    /// Why the node is not online yet, in words (none when online).
    pub not_online_because: Option<String>,
    /// Tor's bootstrap progress (onion transports).
    pub tor_bootstrap: Option<crate::tor::BootstrapInfo>,
    /// The node's onion service address, once launched (onion transports).
    pub onion_address: Option<String>,
    /// Whether the last reachability check of the onion service succeeded;
    /// none before the first check (onion transports).
    pub onion_reachable: Option<bool>,
    /// When the last reachability check ended (unix seconds).
    pub onion_last_check: Option<u64>,
    /// The last Tor-side failure, in words.
    pub onion_last_failure: Option<String>,
    /// The last few Tor-side failures, oldest first (at most eight).
    #[serde(default)]
    pub onion_recent_failures: Vec<String>,
    /// How many times the onion service was launched or relaunched.
    pub onion_launches: u32,
    /// `member` or `box`.
    pub role: String,
    /// Software version.
    pub version: String,
    /// Protocol version spoken.
    pub protocol_version: u16,
    /// Seconds since the node started.
    pub uptime_secs: u64,
    /// Peers with a live connection.
    pub connected_peers: usize,
    /// Peers with a checked record in the table.
    pub known_peers: usize,
    /// Nodes added by hand as trusted.
    pub trusted_peers: usize,
    /// Connections the peer opened.
    pub inbound: usize,
    /// Connections we opened.
    pub outbound: usize,
    /// Dials in progress.
    pub dialing: usize,
    /// Proof of work the community requires (bits).
    pub pow_difficulty: u8,
    /// Bootstrap addresses and how reaching them goes.
    pub bootstrap: Vec<SeedStatus>,
    /// Counters.
    pub metrics: M,
}

/// A peer with a live connection, as services see it
/// ([`crate::NodeHandle::connected`]). Two are equal when they describe
/// the same connection (its `conn_id`) the same way.
#[derive(Debug, Clone)]
pub struct ConnectedPeer {
    /// Its identity.
    pub id: warren_proto::NodeId,
    /// Who opened the connection.
    pub direction: crate::conn::Direction,
    /// Whether this node trusts it.
    pub trusted: bool,
    /// `member` or `box`, from its record.
    pub role: warren_proto::Role,
    /// The connection: a service writes its peer-channel messages (the
    /// tracker's) with [`crate::conn::ConnHandle::send`].
    pub conn: crate::conn::ConnHandle,
}

impl PartialEq for ConnectedPeer {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.conn.conn_id == other.conn.conn_id
            && self.direction == other.direction
            && self.trusted == other.trusted
            && self.role == other.role
    }
}

impl Eq for ConnectedPeer {}

/// Nothing added: the peer layer's own status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoExtras {}

/// The peer layer's counters: the network's and the store's, and the
/// refused input by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerMetrics {
    /// The network layer's.
    #[serde(flatten)]
    pub net: NetCounts,
    /// The store writer's.
    #[serde(flatten)]
    pub store: StoreCounts,
    /// Refused input by reason (see `warren_proto::Error::label`).
    pub rejected: BTreeMap<String, u64>,
}

impl<X, M> Status<X, M> {
    /// The same status with `extra` in place of what it had, and the
    /// counters as `metrics` makes them of these.
    pub fn with_extra<Y, N>(self, extra: Y, metrics: impl FnOnce(M) -> N) -> Status<Y, N> {
        Status {
            id: self.id,
            address: self.address,
            addresses: self.addresses,
            transport: self.transport,
            listen: self.listen,
            extra,
            online: self.online,
            not_online_because: self.not_online_because,
            tor_bootstrap: self.tor_bootstrap,
            onion_address: self.onion_address,
            onion_reachable: self.onion_reachable,
            onion_last_check: self.onion_last_check,
            onion_last_failure: self.onion_last_failure,
            onion_recent_failures: self.onion_recent_failures,
            onion_launches: self.onion_launches,
            role: self.role,
            version: self.version,
            protocol_version: self.protocol_version,
            uptime_secs: self.uptime_secs,
            connected_peers: self.connected_peers,
            known_peers: self.known_peers,
            trusted_peers: self.trusted_peers,
            inbound: self.inbound,
            outbound: self.outbound,
            dialing: self.dialing,
            pow_difficulty: self.pow_difficulty,
            bootstrap: self.bootstrap,
            metrics: metrics(self.metrics),
        }
    }
}

/// A bootstrap or trusted address and its dial state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedStatus {
    /// The address as given.
    pub address: String,
    /// Whether a connection to it is up.
    pub connected: bool,
    /// Failed attempts in a row.
    pub failures: u32,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// Seconds until the next attempt (0 when due or connected).
    pub retry_in_secs: u64,
}

/// One known node (`warren peers --json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its onion address.
    pub id: String,
    /// The address we would dial.
    pub address: Option<String>,
    /// `member` or `box`.
    pub role: Option<String>,
    /// Whether a connection is up, and who opened it.
    pub connected: Option<crate::conn::Direction>,
    /// Added by hand as trusted.
    pub trusted: bool,
    /// Last completed handshake (unix seconds).
    pub last_connected: Option<u64>,
    /// When its record was issued and when it expires (unix seconds).
    pub record_issued_at: Option<u64>,
    /// Record expiry.
    pub record_expires_at: Option<u64>,
    /// Failed attempts in a row.
    pub failures: u32,
    /// The last failure.
    pub last_error: Option<String>,
}

/// A trusted node (`warren trust list --json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TrustInfo {
    /// Its onion address.
    pub id: String,
    /// The address given when it was trusted.
    pub address: String,
    /// When it was trusted (unix seconds).
    pub added_at: u64,
}
