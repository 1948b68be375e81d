//! Opening the ORPort on the home router with UPnP-IGD (the `igd-next`
//! crate): a TCP port mapping from the router's external port to this
//! box's address on the router's network, leased and renewed while the
//! relay runs, removed when it stops.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use igd_next::PortMappingProtocol;
use igd_next::aio::tokio::{Tokio, search_gateway};

/// How long a search for the router waits for an answer.
const SEARCH: Duration = Duration::from_secs(3);
/// How long a request to the router may take.
const REQUEST: Duration = Duration::from_secs(10);
/// The lease asked for, seconds; renewed at half of it.
pub(crate) const LEASE_SECS: u32 = 3_600;
/// The mapping's description on the router.
const DESCRIPTION: &str = "warren tor relay";

/// A port mapping this node made.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    gateway: igd_next::aio::Gateway<Tokio>,
    /// The external port (the ORPort's).
    pub(crate) port: u16,
    /// Where the router sends it.
    pub(crate) local: SocketAddr,
    /// The router's external address, if it said.
    pub(crate) external: Option<IpAddr>,
}

impl Mapping {
    /// The router's address.
    pub(crate) fn router(&self) -> IpAddr {
        self.gateway.addr.ip()
    }

    /// In words, for the status.
    pub(crate) fn describe(&self) -> String {
        let ext = self
            .external
            .map(|ip| format!(" (external address {ip})"))
            .unwrap_or_default();
        format!(
            "the router at {} forwards TCP port {} to {}{ext}",
            self.gateway.addr.ip(),
            self.port,
            self.local
        )
    }
}

/// This machine's address toward `gateway` (the source address the
/// kernel picks for it; no packet is sent).
fn local_ip_toward(gateway: SocketAddr) -> std::io::Result<IpAddr> {
    let s = UdpSocket::bind(("0.0.0.0", 0))?;
    s.connect(gateway)?;
    Ok(s.local_addr()?.ip())
}

/// Finds the router and maps TCP `port` on it to this box's `port`.
///
/// # Errors
/// No router answered the search, or it refused the mapping; in words.
pub(crate) async fn map(port: u16) -> Result<Mapping, String> {
    let options = igd_next::SearchOptions {
        timeout: Some(SEARCH),
        ..Default::default()
    };
    let gateway = tokio::time::timeout(SEARCH + Duration::from_secs(1), search_gateway(options))
        .await
        .map_err(|_| "no UPnP router answered".to_string())?
        .map_err(|e| format!("no UPnP router answered ({e})"))?;
    let ip = local_ip_toward(gateway.addr)
        .map_err(|e| format!("no route to the router at {}: {e}", gateway.addr))?;
    let local = SocketAddr::new(ip, port);
    tokio::time::timeout(
        REQUEST,
        gateway.add_port(
            PortMappingProtocol::TCP,
            port,
            local,
            LEASE_SECS,
            DESCRIPTION,
        ),
    )
    .await
    .map_err(|_| format!("the router at {} did not answer", gateway.addr))?
    .map_err(|e| format!("the router at {} refused the mapping: {e}", gateway.addr))?;
    let external = tokio::time::timeout(REQUEST, gateway.get_external_ip())
        .await
        .ok()
        .and_then(Result::ok);
    Ok(Mapping {
        gateway,
        port,
        local,
        external,
    })
}

/// Removes a mapping this node made.
///
/// # Errors
/// The router did not answer or refused; in words.
pub(crate) async fn unmap(m: &Mapping) -> Result<(), String> {
    tokio::time::timeout(
        REQUEST,
        m.gateway.remove_port(PortMappingProtocol::TCP, m.port),
    )
    .await
    .map_err(|_| format!("the router at {} did not answer", m.gateway.addr))?
    .map_err(|e| format!("the router at {} kept the mapping: {e}", m.gateway.addr))
}
