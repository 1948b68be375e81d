//! Peer addresses: the text a person types to name a node and where to find it.
//!
//! | form                                   | meaning                          |
//! |----------------------------------------|----------------------------------|
//! | `<name>.onion`                         | onion service, default port      |
//! | `<name>.onion:<port>`                  | onion service, that virtual port |
//! | `<name>.onion@<ipv4>:<port>`           | TCP (development and tests)      |
//! | `<name>.onion@[<ipv6>]:<port>`         | TCP over IPv6                    |
//! | `<name>.onion@memory:<port>`           | in-process simulation transport  |
//!
//! `<name>` is the node's 56-character v3 onion name, so every address
//! carries the key that the handshake must prove, whatever the transport.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use crate::record::{IpAddress, TransportHint};
use crate::{Error, NodeId, Result};

/// The onion virtual port Warren listens on unless told otherwise.
pub const DEFAULT_ONION_PORT: u16 = 7447;
/// Longest accepted text form.
pub const MAX_PEER_ADDR_LEN: usize = 128;

/// A node's identity plus one way to reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr {
    /// Who must answer.
    pub id: NodeId,
    /// Where to ask.
    pub hint: TransportHint,
}

impl PeerAddr {
    /// Builds an address from its parts.
    pub fn new(id: NodeId, hint: TransportHint) -> Self {
        PeerAddr { id, hint }
    }
}

impl FromStr for PeerAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        if s.len() > MAX_PEER_ADDR_LEN {
            return Err(Error::PeerAddress("longer than 128 characters"));
        }
        let s = s.trim();
        if let Some((onion, location)) = s.split_once('@') {
            let id = NodeId::from_onion(onion)?;
            let hint = parse_location(location)?;
            return Ok(PeerAddr { id, hint });
        }
        let (onion, port) = match s.rsplit_once(':') {
            Some((onion, port)) => (onion, parse_port(port)?),
            None => (s, DEFAULT_ONION_PORT),
        };
        let id = NodeId::from_onion(onion)?;
        Ok(PeerAddr {
            id,
            hint: TransportHint::Onion { port },
        })
    }
}

fn parse_port(s: &str) -> Result<u16> {
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(Error::PeerAddress("port must be 1..=65535")),
        Ok(p) => Ok(p),
    }
}

fn parse_location(s: &str) -> Result<TransportHint> {
    if let Some(port) = s.strip_prefix("memory:") {
        let port = port
            .parse::<u32>()
            .map_err(|_| Error::PeerAddress("memory port must be a number"))?;
        return Ok(TransportHint::Memory { port });
    }
    let sa: SocketAddr = s
        .parse()
        .map_err(|_| Error::PeerAddress("location must be IP:PORT, [IPv6]:PORT or memory:N"))?;
    if sa.port() == 0 {
        return Err(Error::PeerAddress("port must be 1..=65535"));
    }
    Ok(TransportHint::Tcp {
        ip: IpAddress::from(sa.ip()),
        port: sa.port(),
    })
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hint {
            TransportHint::Onion { port } if port == DEFAULT_ONION_PORT => write!(f, "{}", self.id),
            TransportHint::Onion { port } => write!(f, "{}:{port}", self.id),
            TransportHint::Tcp { ip, port } => {
                write!(f, "{}@{}", self.id, SocketAddr::new(IpAddr::from(ip), port))
            }
            TransportHint::Memory { port } => write!(f, "{}@memory:{port}", self.id),
        }
    }
}
