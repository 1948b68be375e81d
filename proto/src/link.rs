//! Share links: what `warren get` takes, and the browser URLs.
//!
//! | form | meaning |
//! |---|---|
//! | `warren:<peer-address>/s/<token>` | a private share (26-char base32 token) |
//! | `warren:<peer-address>/s/<token>#<key>` | a sealed private share (52-char base32 key) |
//! | `warren:<peer-address>/c/<content-id>` | public content (52-char base32 id) |
//! | `http://<onion>.onion[:port]/s/<token>` | the browser form of a private share |
//! | `http://<onion>.onion[:port]/c/<content-id>` | the browser form of public content |
//!
//! The peer address names the node (or the share's own onion service) to
//! ask first; its key signs the ticket of a private share.

use std::fmt;
use std::str::FromStr;

use crate::addr::PeerAddr;
use crate::content::{ContentId, SwarmId, Token};
use crate::record::TransportHint;
use crate::seal::SealKey;
use crate::{Error, NodeId, Result};

/// Longest link accepted.
pub const MAX_LINK: usize = 512;

/// What a link points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A private share.
    Private {
        /// Its token.
        token: Token,
        /// Its key, when sealed.
        key: Option<SealKey>,
    },
    /// Public content.
    Public(ContentId),
}

/// A parsed link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Who to ask first (and who signs a private share's ticket).
    pub at: PeerAddr,
    /// What.
    pub target: Target,
}

impl Link {
    /// The swarm to ask for.
    pub fn swarm(&self) -> SwarmId {
        match &self.target {
            Target::Private { token, .. } => token.swarm(),
            Target::Public(c) => SwarmId::from(*c),
        }
    }

    /// The path part shared by both forms: `/s/<token>` or `/c/<id>`.
    pub fn path(&self) -> String {
        match &self.target {
            Target::Private { token, .. } => format!("/s/{}", token.to_base32()),
            Target::Public(c) => format!("/c/{c}"),
        }
    }

    /// The browser URL for an onion address (`None` for other transports).
    pub fn onion_url(&self) -> Option<String> {
        match self.at.hint {
            TransportHint::Onion { .. } => Some(format!("http://{}{}", self.at.id, self.path())),
            _ => None,
        }
    }
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "warren:{}{}", self.at, self.path())?;
        if let Target::Private { key: Some(k), .. } = &self.target {
            write!(
                f,
                "#{}",
                data_encoding::BASE32_NOPAD
                    .encode(&k.0)
                    .to_ascii_lowercase()
            )?;
        }
        Ok(())
    }
}

fn parse_target(path: &str, fragment: Option<&str>) -> Result<Target> {
    if let Some(t) = path.strip_prefix("/s/") {
        let token = Token::from_base32(t.trim_end_matches('/'))?;
        let key = match fragment {
            None | Some("") => None,
            Some(k) => {
                let raw = data_encoding::BASE32_NOPAD
                    .decode(k.to_ascii_uppercase().as_bytes())
                    .map_err(|_| Error::Link("key is not base32"))?;
                Some(SealKey(
                    raw.try_into()
                        .map_err(|_| Error::Link("key is not 256 bits"))?,
                ))
            }
        };
        return Ok(Target::Private { token, key });
    }
    if let Some(c) = path.strip_prefix("/c/") {
        if fragment.is_some() {
            return Err(Error::Link("public content links carry no key"));
        }
        return Ok(Target::Public(ContentId::from_base32(
            c.trim_end_matches('/'),
        )?));
    }
    Err(Error::Link("expected /s/<token> or /c/<content-id>"))
}

impl FromStr for Link {
    type Err = Error;

    fn from_str(s: &str) -> Result<Link> {
        let s = s.trim();
        if s.len() > MAX_LINK {
            return Err(Error::Link("longer than 512 characters"));
        }
        let (body, fragment) = match s.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (s, None),
        };
        if let Some(rest) = body.strip_prefix("warren:") {
            let slash = rest
                .find("/s/")
                .or_else(|| rest.find("/c/"))
                .ok_or(Error::Link("no /s/ or /c/ part"))?;
            let at: PeerAddr = rest[..slash].parse()?;
            return Ok(Link {
                at,
                target: parse_target(&rest[slash..], fragment)?,
            });
        }
        if let Some(rest) = body.strip_prefix("http://") {
            let slash = rest.find('/').ok_or(Error::Link("no path"))?;
            let host = &rest[..slash];
            let (name, port) = match host.rsplit_once(':') {
                Some((n, p)) => (n, p.parse::<u16>().map_err(|_| Error::Link("bad port"))?),
                None => (host, 80),
            };
            if !name.ends_with(".onion") {
                return Err(Error::Link("http links must name an .onion host"));
            }
            let id = NodeId::from_onion(name)?;
            let _ = port;
            // The browser port is the web gateway; peers are reached on the
            // default Warren port of the same onion service.
            let at = PeerAddr::new(
                id,
                TransportHint::Onion {
                    port: crate::addr::DEFAULT_ONION_PORT,
                },
            );
            return Ok(Link {
                at,
                target: parse_target(&rest[slash..], fragment)?,
            });
        }
        Err(Error::Link("expected warren:… or http://….onion/…"))
    }
}
