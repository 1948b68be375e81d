//! The arti configuration a node uses.

use std::path::Path;

use arti_client::TorClientConfig;
use arti_client::config::TorClientConfigBuilder;

use crate::tor::TorNetwork;
use crate::{Error, Result};

/// Builds arti's configuration: state and cache under `arti_dir`, the real
/// Tor network or `network`, no preemptive exit circuits (Warren only ever
/// talks to onion services), and a memory quota of `memory_max` bytes
/// (tor-memquota's `system.memory.max`; its low-water mark stays arti's
/// "auto", three quarters of it). Arti logs both when it starts ("Memory
/// quota tracking initialised").
///
/// # Errors
/// [`Error::ConfigValue`] when arti refuses a value (a path that is not
/// UTF-8, a quota under tor-memquota's minimum of 160 KiB).
pub fn client_config(
    arti_dir: &Path,
    network: Option<&TorNetwork>,
    memory_max: u64,
) -> Result<TorClientConfig> {
    let mut root = toml::Table::new();
    let mut memory = toml::Table::new();
    memory.insert("max".into(), toml::Value::String(format!("{memory_max} B")));
    let mut system = toml::Table::new();
    system.insert("memory".into(), toml::Value::Table(memory));
    root.insert("system".into(), toml::Value::Table(system));
    let mut storage = toml::Table::new();
    storage.insert("state_dir".into(), path_value(&arti_dir.join("state"))?);
    storage.insert("cache_dir".into(), path_value(&arti_dir.join("cache"))?);
    root.insert("storage".into(), toml::Value::Table(storage));

    let mut preemptive = toml::Table::new();
    preemptive.insert(
        "initial_predicted_ports".into(),
        toml::Value::Array(Vec::new()),
    );
    root.insert("preemptive_circuits".into(), toml::Value::Table(preemptive));

    if let Some(net) = network {
        root.insert(
            "tor_network".into(),
            toml::Value::Table(net.arti_tor_network()),
        );
        // Every relay of a private test network is on one address.
        let mut rules = toml::Table::new();
        rules.insert("ipv4_subnet_family_prefix".into(), toml::Value::Integer(33));
        rules.insert(
            "ipv6_subnet_family_prefix".into(),
            toml::Value::Integer(129),
        );
        root.insert("path_rules".into(), toml::Value::Table(rules));
        let mut filter = toml::Table::new();
        filter.insert("allow_local_addrs".into(), toml::Value::Boolean(true));
        root.insert("address_filter".into(), toml::Value::Table(filter));
    }
    let builder: TorClientConfigBuilder = toml::Value::Table(root)
        .try_into()
        .map_err(|e: toml::de::Error| Error::ConfigValue(format!("arti configuration: {e}")))?;
    builder
        .build()
        .map_err(|e| Error::ConfigValue(format!("arti configuration: {e}")))
}

fn path_value(p: &Path) -> Result<toml::Value> {
    p.to_str()
        .map(|s| toml::Value::String(s.to_string()))
        .ok_or_else(|| Error::ConfigValue(format!("{} is not valid UTF-8", p.display())))
}
