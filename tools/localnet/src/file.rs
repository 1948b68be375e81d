//! `tor-network.toml`: what a client needs to join the network.
//!
//! ```toml
//! name = "warren-localnet"
//! [[authorities]]
//! nickname = "auth0"
//! v3ident = "…"            # authority certificate fingerprint (40 hex)
//! rsa_identity = "…"       # relay identity fingerprint (40 hex)
//! ed25519_identity = "…"   # relay ed25519 identity (base64)
//! address = "127.0.0.1"
//! or_port = 40001
//! dir_port = 40002
//! [[relays]]
//! nickname = "relay0"
//! …same identity and port fields…
//! exit = true
//! # Lines a C tor client adds to its torrc to use this network.
//! client_torrc = ["TestingTorNetwork 1", "DirAuthority …", …]
//! ```
//!
//! Warren's node reads this file (`--tor-network`); its parser is in
//! `warren-node` (`tor::network`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// File name inside the network directory.
pub const NETWORK_FILE: &str = "tor-network.toml";

/// A directory authority.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorityEntry {
    /// Nickname.
    pub nickname: String,
    /// v3 identity (authority certificate fingerprint), 40 hex digits.
    pub v3ident: String,
    /// Relay RSA identity fingerprint, 40 hex digits.
    pub rsa_identity: String,
    /// Relay ed25519 identity, base64.
    pub ed25519_identity: String,
    /// IP address.
    pub address: String,
    /// OR port.
    pub or_port: u16,
    /// Directory port.
    pub dir_port: u16,
}

/// A relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayEntry {
    /// Nickname.
    pub nickname: String,
    /// RSA identity fingerprint, 40 hex digits.
    pub rsa_identity: String,
    /// ed25519 identity, base64.
    pub ed25519_identity: String,
    /// IP address.
    pub address: String,
    /// OR port.
    pub or_port: u16,
    /// Directory port.
    pub dir_port: u16,
    /// Whether it exits (to 127.0.0.0/8 only).
    pub exit: bool,
}

/// The contents of `tor-network.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkFile {
    /// A name for logs.
    pub name: String,
    /// The directory authorities.
    pub authorities: Vec<AuthorityEntry>,
    /// The relays.
    pub relays: Vec<RelayEntry>,
    /// torrc lines for a C tor client on this network.
    pub client_torrc: Vec<String>,
}

impl NetworkFile {
    /// Reads the file at `path`.
    pub fn read(path: &Path) -> Result<NetworkFile> {
        let text = std::fs::read_to_string(path)
            .map_err(Error::io(format!("reading {}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::File(format!("{}: {e}", path.display())))
    }

    /// Writes the file to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        let body = toml::to_string(self).map_err(|e| Error::File(e.to_string()))?;
        let text = format!(
            "# A private Tor network on 127.0.0.1, written by warren-localnet.\n\
             # Join it with: warren run --transport arti --tor-network {}\n\n{body}",
            path.display()
        );
        std::fs::write(path, text).map_err(Error::io(format!("writing {}", path.display())))
    }
}
