//! The files service's configuration sections: `[files]` and `[gateway]`
//! (the daemon's `warren.toml` holds them under those names;
//! `warren.example.toml` documents every key).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `[files]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Where downloads started from the panel go; empty: `DATA_DIR/downloads`.
    /// (`warren get` downloads into the current folder unless `--out`.)
    pub download_dir: String,
    /// Downloads running at once; more wait.
    pub max_downloads: usize,
    /// Shares kept.
    pub max_shares: usize,
    /// Transfer connections of one download, all providers together.
    pub max_connections_per_download: usize,
    /// Transfer connections to one provider on the onion transports, each
    /// on its own circuit (on TCP: one).
    pub circuits_per_provider: usize,
    /// Block requests in flight per transfer connection (32 KiB each).
    pub max_inflight_blocks: usize,
    /// Seconds a provider may take to answer a request before the
    /// connection is dropped and its pieces fetched elsewhere.
    pub request_timeout_secs: u64,
    /// Inbound transfer connections served at once; more are turned away.
    pub max_upload_sessions: usize,
    /// Requests queued per inbound transfer connection; more are refused
    /// with `Busy`.
    pub max_queued_requests: usize,
    /// Bytes this node gives to mirrors, content it keeps for others
    /// (asked by a trusted node, or with `warren mirror`); downloads do not
    /// count. 0: no mirrors.
    pub seeding_quota_bytes: u64,
    /// Upload cap for all transfers together, bytes per second; 0: none.
    pub upload_rate_limit: u64,
    /// Bytes of verified pieces held in memory at once while they are
    /// sent (to peers and browsers together); readers wait for room. Every
    /// piece is read whole and checked against its hash before any byte
    /// of it is sent.
    pub read_buffer_bytes: u64,
    /// Seconds between checks that shared and downloaded files are still
    /// there with the size and modification time they had when last
    /// verified; a file that differs is checked against its pieces again.
    /// 0: only when read.
    pub check_interval_secs: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            download_dir: String::new(),
            max_downloads: 8,
            max_shares: 1024,
            max_connections_per_download: 12,
            circuits_per_provider: 3,
            max_inflight_blocks: 32,
            request_timeout_secs: 60,
            max_upload_sessions: 32,
            max_queued_requests: 64,
            seeding_quota_bytes: 8 << 30,
            upload_rate_limit: 0,
            read_buffer_bytes: 32 << 20,
            check_interval_secs: 60,
        }
    }
}

/// `[gateway]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Serve share links to browsers (on Tor: port 80 of the node's onion
    /// address).
    pub enabled: bool,
    /// On the TCP transport: where the gateway listens (port 0 picks one).
    /// The onion transports ignore it: browsers reach the gateway through
    /// the node's onion address.
    pub listen: SocketAddr,
    /// Browser connections served at once, at most half from one address;
    /// when full, the one silent the longest is closed for a new one.
    pub max_connections: usize,
    /// Seconds a browser may take to send a request's headers.
    pub header_timeout_secs: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_connections: 32,
            header_timeout_secs: 30,
        }
    }
}
