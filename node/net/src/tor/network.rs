//! A private Tor network described by `tor-network.toml` (as written by
//! `warren-localnet up`), and the arti configuration that joins it.

use std::path::Path;

use serde::Deserialize;

use crate::{Error, Result};

/// A directory authority of the network.
#[derive(Debug, Clone, Deserialize)]
pub struct Authority {
    /// v3 identity (authority certificate fingerprint), 40 hex digits.
    pub v3ident: String,
    /// Relay RSA identity, 40 hex digits.
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

/// A relay of the network.
#[derive(Debug, Clone, Deserialize)]
pub struct Relay {
    /// RSA identity, 40 hex digits.
    pub rsa_identity: String,
    /// ed25519 identity, base64.
    pub ed25519_identity: String,
    /// IP address.
    pub address: String,
    /// OR port.
    pub or_port: u16,
}

/// The parts of `tor-network.toml` a node needs. Other keys are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct TorNetwork {
    /// Directory authorities (at least one).
    pub authorities: Vec<Authority>,
    /// Relays; with the authorities, the first directory caches to ask.
    #[serde(default)]
    pub relays: Vec<Relay>,
}

impl TorNetwork {
    /// Reads and checks the file at `path`.
    pub fn load(path: &Path) -> Result<TorNetwork> {
        let err = |reason: String| Error::Config {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let net: TorNetwork = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        if net.authorities.is_empty() {
            return Err(err("no authorities listed".into()));
        }
        Ok(net)
    }

    /// The `[tor_network]` part of an arti configuration for this network.
    pub(crate) fn arti_tor_network(&self) -> toml::Table {
        let orport =
            |a: &str, p: u16| toml::Value::Array(vec![toml::Value::String(format!("{a}:{p}"))]);
        let mut fallbacks = Vec::new();
        for a in &self.authorities {
            fallbacks.push(fallback(
                &a.rsa_identity,
                &a.ed25519_identity,
                orport(&a.address, a.or_port),
            ));
        }
        for r in &self.relays {
            fallbacks.push(fallback(
                &r.rsa_identity,
                &r.ed25519_identity,
                orport(&r.address, r.or_port),
            ));
        }
        let dir_addrs = || -> toml::Value {
            toml::Value::Array(
                self.authorities
                    .iter()
                    .map(|a| orport(&a.address, a.dir_port))
                    .collect(),
            )
        };
        let mut auth = toml::Table::new();
        auth.insert(
            "v3idents".into(),
            toml::Value::Array(
                self.authorities
                    .iter()
                    .map(|a| toml::Value::String(a.v3ident.clone()))
                    .collect(),
            ),
        );
        auth.insert("uploads".into(), dir_addrs());
        auth.insert("downloads".into(), dir_addrs());
        auth.insert("votes".into(), dir_addrs());
        let mut net = toml::Table::new();
        net.insert("fallback_caches".into(), toml::Value::Array(fallbacks));
        net.insert("authorities".into(), toml::Value::Table(auth));
        net
    }
}

fn fallback(rsa: &str, ed: &str, orports: toml::Value) -> toml::Value {
    let mut t = toml::Table::new();
    t.insert("rsa_identity".into(), toml::Value::String(rsa.to_string()));
    t.insert("ed_identity".into(), toml::Value::String(ed.to_string()));
    t.insert("orports".into(), orports);
    toml::Value::Table(t)
}
