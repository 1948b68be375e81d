//! Configuration: typed, with documented defaults.
//!
//! A node reads `DIR/warren.toml` when present. Every key is optional; a
//! missing key takes its default, and the `[limits]` defaults come from the
//! memory profile named by `limits.profile`. `node/warren.example.toml`
//! lists every key with its default and is checked by a test.
//! Unknown keys are refused, so a typo is an error, not a silent default.

mod board;
mod relay;

pub use board::{BoardConfig, BoardKind};
pub use relay::{RelayConfig, Schedule};
pub use warren_files::config::{FilesConfig, GatewayConfig};
pub use warren_peers::config::{
    CommunityConfig, DiscoveryConfig, Limits, PeersConfig, Profile, RoleName, StoreConfig,
};

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use warren_proto::PeerAddr;

use crate::ConfigError as Error;

type Result<T, E = Error> = std::result::Result<T, E>;

/// The whole configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Identity, transport, where to start.
    pub node: NodeConfig,
    /// Rules every member of the community must follow.
    pub community: CommunityConfig,
    /// How peers are found and kept.
    pub discovery: DiscoveryConfig,
    /// Capacities of every queue and table.
    pub limits: Limits,
    /// Tor: which network, the onion service, the C tor daemon.
    pub tor: TorConfig,
    /// Sharing and downloading.
    pub files: FilesConfig,
    /// The web gateway: share links in a browser.
    pub gateway: GatewayConfig,
    /// The owner's web panel.
    pub panel: PanelConfig,
    /// Board support: LED, button, watchdog, thermal limits.
    pub board: BoardConfig,
    /// Messages: boxes used, and the mailboxes a box holds.
    pub mail: warren_mail::MailConfig,
    /// The box's tor as a capped middle relay (C tor only).
    pub relay: RelayConfig,
    /// Persistence.
    pub store: StoreConfig,
    /// Logging.
    pub log: LogConfig,
}

/// Which transport carries peer connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Embedded Tor (arti): the default.
    Arti,
    /// A running C tor daemon, through its control and SOCKS ports.
    Ctor,
    /// Plain TCP: development and tests only; it hides nothing.
    Tcp,
}

impl TransportKind {
    /// The name used in config, flags and `status`.
    pub fn name(self) -> &'static str {
        match self {
            TransportKind::Arti => "arti",
            TransportKind::Ctor => "ctor",
            TransportKind::Tcp => "tcp",
        }
    }
}

/// `[node]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// `"member"` (comes and goes) or `"box"` (always on).
    pub role: RoleName,
    /// Transport for peer connections.
    pub transport: TransportKind,
    /// Address the TCP transport listens on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Nodes to contact first (peer addresses, as `status` prints them).
    pub bootstrap: Vec<String>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            role: RoleName::Member,
            transport: TransportKind::Arti,
            listen: SocketAddr::from(([127, 0, 0, 1], 7447)),
            bootstrap: Vec::new(),
        }
    }
}

/// `[tor]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TorConfig {
    /// A private Tor network to join (`tor-network.toml`, as written by
    /// `warren-localnet up`); empty: the real Tor network.
    pub network: String,
    /// Virtual port of the node's onion service.
    pub onion_port: u16,
    /// Seconds between checks that the node's own onion service can be
    /// reached, while it can.
    pub check_interval_secs: u64,
    /// Seconds between checks until the first success, and after a failure.
    pub retry_interval_secs: u64,
    /// Seconds one check may take.
    pub check_timeout_secs: u64,
    /// Failed checks in a row before the onion service is relaunched.
    pub relaunch_after: u32,
    /// `ctor` transport: the control port of the running tor.
    pub control_port: SocketAddr,
    /// `ctor` transport: the control cookie file; empty: the file tor names.
    pub control_cookie: String,
}

impl Default for TorConfig {
    fn default() -> Self {
        TorConfig {
            network: String::new(),
            onion_port: warren_proto::DEFAULT_ONION_PORT,
            check_interval_secs: 300,
            retry_interval_secs: 20,
            check_timeout_secs: 120,
            relaunch_after: 3,
            control_port: SocketAddr::from(([127, 0, 0, 1], 9051)),
            control_cookie: String::new(),
        }
    }
}

impl TorConfig {
    /// The control cookie file; none: the file tor names.
    pub fn cookie(&self) -> Option<std::path::PathBuf> {
        match self.control_cookie.as_str() {
            "" => None,
            p => Some(std::path::PathBuf::from(p)),
        }
    }

    /// The reachability policy these settings describe.
    pub fn reach_policy(&self) -> warren_net::tor::ReachPolicy {
        warren_net::tor::ReachPolicy {
            retry_every: Duration::from_secs(self.retry_interval_secs),
            check_every: Duration::from_secs(self.check_interval_secs),
            timeout: Duration::from_secs(self.check_timeout_secs),
            relaunch_after: self.relaunch_after,
        }
    }
}

/// `[panel]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PanelConfig {
    /// Serve the owner's panel.
    pub enabled: bool,
    /// Where the panel listens on this machine (port 0 picks one; `status`
    /// reports it as `panel_url`). Keep it on a loopback address.
    pub listen: SocketAddr,
    /// Also serve it on an onion address of its own (onion transports),
    /// with restricted discovery: only the owner's client key can reach it.
    pub onion: bool,
    /// Folders the panel may share from and download into. Empty: the
    /// home folder of the node's user and `files.download_dir`.
    pub share_roots: Vec<String>,
    /// Browser connections served at once, at most half from one address;
    /// when full, the one silent the longest is closed for a new one.
    pub max_connections: usize,
    /// Seconds a browser may take to send a request's headers.
    pub header_timeout_secs: u64,
    /// Hours a login lasts.
    pub session_hours: u64,
    /// Logins kept at once; a new one pushes out the oldest.
    pub max_sessions: usize,
    /// Login and pairing attempts allowed per minute from one client (see
    /// `panel::session::Attempts`: after failures it also waits longer).
    pub login_attempts_per_minute: u32,
}

impl Default for PanelConfig {
    fn default() -> Self {
        PanelConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 7450)),
            onion: true,
            share_roots: Vec::new(),
            max_connections: 16,
            header_timeout_secs: 30,
            session_hours: 12,
            max_sessions: 8,
            login_attempts_per_minute: 5,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `error`, `warn`, `info`, `debug` or `trace`, or a tracing filter
    /// such as `warren_node=debug`. `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
        }
    }
}

impl Config {
    /// Parses TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Config> {
        let err = |reason: String| Error::File {
            path: origin.to_path_buf(),
            reason,
        };
        let mut given: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        // Fill [limits] from its profile, then let the given keys win.
        let profile = match given.get("limits").and_then(|l| l.get("profile")) {
            Some(p) => {
                Profile::deserialize(p.clone()).map_err(|e| err(format!("limits.profile: {e}")))?
            }
            None => Profile::Desktop,
        };
        let defaults =
            toml::Table::try_from(Limits::for_profile(profile)).map_err(|e| err(e.to_string()))?;
        let limits = given
            .entry("limits")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(limits) = limits else {
            return Err(err("limits must be a table".into()));
        };
        for (k, v) in defaults {
            limits.entry(k).or_insert(v);
        }
        let config: Config = toml::Value::Table(given)
            .try_into()
            .map_err(|e: toml::de::Error| err(e.to_string()))?;
        config.validate_values().map_err(|e| match e {
            Error::Value(reason) => err(reason),
            other => err(other.to_string()),
        })?;
        Ok(config)
    }

    /// Reads `path`; a missing file gives the defaults.
    pub fn load(path: &Path) -> Result<Config> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::from_toml(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::File {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        }
    }

    /// Checks values that parse but make no sense, and settings that
    /// need another (the relay needs the `ctor` transport). A file is
    /// checked without the second: flags of `warren run` may still change
    /// the transport.
    pub fn validate(&self) -> Result<()> {
        self.validate_values()?;
        if self.relay.enabled {
            match self.node.transport {
                TransportKind::Ctor => Ok(()),
                TransportKind::Arti => Err(Error::Value(format!(
                    "relay.enabled: {}",
                    warren_net::tor::relay::ARTI_CANNOT_RELAY
                ))),
                TransportKind::Tcp => Err(Error::Value(
                    "relay.enabled: the tcp transport has no tor to relay with".into(),
                )),
            }?;
        }
        Ok(())
    }

    /// Checks each value on its own.
    fn validate_values(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Value(what.to_string()));
        // The peer layer's sections: its own words, as this file's.
        self.peers().validate().map_err(|e| match e {
            warren_peers::Error::ConfigValue(reason) => Error::Value(reason),
            other => other.into(),
        })?;
        self.board.check().map_err(Error::Value)?;
        self.mail.validate().map_err(Error::Value)?;
        self.relay.check().map_err(Error::Value)?;
        for b in &self.node.bootstrap {
            b.parse::<PeerAddr>()
                .map_err(|e| Error::Value(format!("node.bootstrap {b:?}: {e}")))?;
        }
        let f = &self.files;
        let files = [
            ("max_downloads", f.max_downloads),
            ("max_shares", f.max_shares),
            (
                "max_connections_per_download",
                f.max_connections_per_download,
            ),
            ("circuits_per_provider", f.circuits_per_provider),
            ("max_inflight_blocks", f.max_inflight_blocks),
            ("max_upload_sessions", f.max_upload_sessions),
            ("max_queued_requests", f.max_queued_requests),
        ];
        for (name, v) in files {
            if v == 0 || v > 100_000 {
                return Err(Error::Value(format!("files.{name} must be 1..=100000")));
            }
        }
        if f.upload_rate_limit > u64::from(u32::MAX) {
            return bad("files.upload_rate_limit must be at most 4294967295 (0: no cap)");
        }
        if f.request_timeout_secs == 0 {
            return bad("files.request_timeout_secs must be at least 1");
        }
        let p = &self.panel;
        if p.max_connections == 0 || p.max_connections > 10_000 {
            return bad("panel.max_connections must be 1..=10000");
        }
        if p.max_sessions == 0 || p.max_sessions > 1_000 {
            return bad("panel.max_sessions must be 1..=1000");
        }
        if p.session_hours == 0 || p.header_timeout_secs == 0 {
            return bad("panel.session_hours and panel.header_timeout_secs must be at least 1");
        }
        if p.login_attempts_per_minute == 0 || p.login_attempts_per_minute > 1_000 {
            return bad("panel.login_attempts_per_minute must be 1..=1000");
        }
        let g = &self.gateway;
        if g.max_connections == 0 || g.max_connections > 100_000 {
            return bad("gateway.max_connections must be 1..=100000");
        }
        if g.header_timeout_secs == 0 {
            return bad("gateway.header_timeout_secs must be at least 1");
        }
        let t = &self.tor;
        if t.onion_port == 0
            || t.onion_port == warren_net::tor::PROBE_PORT
            || t.onion_port == warren_net::tor::WEB_PORT
        {
            return bad(
                "tor.onion_port must be 2..=65535 and not 80 (port 1 answers reachability probes, port 80 is the web gateway)",
            );
        }
        if t.check_interval_secs == 0
            || t.retry_interval_secs == 0
            || t.check_timeout_secs == 0
            || t.relaunch_after == 0
        {
            return bad("tor check intervals, timeout and relaunch_after must be at least 1");
        }
        if self.store.commit_interval_secs == 0 {
            return bad("store.commit_interval_secs must be at least 1");
        }
        Ok(())
    }

    /// The bootstrap addresses, parsed (validated on load).
    pub fn bootstrap_addrs(&self) -> Result<Vec<PeerAddr>> {
        self.node
            .bootstrap
            .iter()
            .map(|b| {
                b.parse::<PeerAddr>()
                    .map_err(|e| Error::Value(format!("node.bootstrap {b:?}: {e}")))
            })
            .collect()
    }

    /// The peer layer's sections.
    pub fn peers(&self) -> PeersConfig {
        PeersConfig {
            community: self.community.clone(),
            discovery: self.discovery.clone(),
            limits: self.limits.clone(),
            store: self.store.clone(),
        }
    }
}

/// Changes keys of a configuration file in place, keeping its comments and
/// every other key: `edit` changes the parsed document, which must still
/// load as a valid configuration that `check` accepts before it replaces
/// the file (a new file, then renamed). Returns the configuration the file
/// now holds.
///
/// # Errors
/// The file cannot be read or written, does not parse, or would not load
/// after the change; in words.
pub fn edit_file(
    path: &Path,
    edit: impl FnOnce(&mut toml_edit::DocumentMut),
    check: impl FnOnce(&Config) -> Result<(), String>,
) -> Result<Config, String> {
    // One edit at a time in this process: the panel's settings and `relay
    // on|off` must not lose each other's change.
    static EDITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = EDITING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let old = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    let mut doc: toml_edit::DocumentMut = old
        .parse()
        .map_err(|e| format!("{} does not parse: {e}", path.display()))?;
    edit(&mut doc);
    let text = doc.to_string();
    let config = Config::from_toml(&text, path).map_err(|e| e.to_string())?;
    check(&config)?;
    let tmp = path.with_extension("toml.new");
    std::fs::write(&tmp, text).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    // The new file keeps the old one's permissions (0600 on the image).
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions())
            .map_err(|e| format!("setting the mode of {}: {e}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path).map_err(|e| format!("replacing {}: {e}", path.display()))?;
    Ok(config)
}
