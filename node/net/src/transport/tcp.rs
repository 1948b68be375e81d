//! Plain TCP, for development and tests. It hides nothing about where a
//! node is; the onion transports are the ones for real use.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use async_trait::async_trait;
use tokio::net::{TcpListener, TcpStream};
use warren_proto::record::IpAddress;
use warren_proto::{PeerAddr, TransportHint};

use super::{BoxStream, ExtraListeners, Host, Listener, Transport, TransportError};

/// TCP transport listening on one socket address for peers and one for
/// browsers.
#[derive(Debug, Clone)]
pub struct TcpTransport {
    listen: SocketAddr,
    web: SocketAddr,
}

impl TcpTransport {
    /// A transport that will listen on `listen` for peers and on `web` for
    /// browsers (`gateway.listen`; port 0 picks one).
    pub fn new(listen: SocketAddr, web: SocketAddr) -> Self {
        TcpTransport { listen, web }
    }
}

/// Binds `at`; the address to advertise. A wildcard bind is advertised as
/// loopback: TCP is for local development, and advertising a LAN address
/// would be a leak.
async fn bind(at: SocketAddr) -> Result<(TcpListener, SocketAddr), TransportError> {
    let listener = TcpListener::bind(at)
        .await
        .map_err(|source| TransportError::Listen {
            addr: at.to_string(),
            source,
        })?;
    let local = listener.local_addr()?;
    let ip = if local.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        local.ip()
    };
    Ok((listener, SocketAddr::new(ip, local.port())))
}

/// Inbound streams of a bound TCP socket (the panel's local listener uses
/// it too).
pub struct TcpIncoming(TcpListener);

impl TcpIncoming {
    /// Serves `l`'s connections as a [`Listener`].
    pub fn new(l: TcpListener) -> TcpIncoming {
        TcpIncoming(l)
    }
}

#[async_trait]
impl Listener for TcpIncoming {
    async fn accept(&mut self) -> Result<(BoxStream, String), TransportError> {
        let (stream, from) = self.0.accept().await?;
        stream.set_nodelay(true)?;
        Ok((Box::new(stream), from.to_string()))
    }
}

#[async_trait]
impl Transport for TcpTransport {
    fn name(&self) -> &'static str {
        "tcp"
    }

    async fn listen(&self) -> Result<(Box<dyn Listener>, Vec<TransportHint>), TransportError> {
        let (listener, local) = bind(self.listen).await?;
        let hint = TransportHint::Tcp {
            ip: IpAddress::from(local.ip()),
            port: local.port(),
        };
        Ok((Box::new(TcpIncoming(listener)), vec![hint]))
    }

    fn can_dial(&self, hint: &TransportHint) -> bool {
        matches!(hint, TransportHint::Tcp { .. })
    }

    fn host(&self) -> Option<&dyn Host> {
        Some(self)
    }

    async fn dial(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError> {
        let TransportHint::Tcp { ip, port } = addr.hint else {
            return Err(TransportError::Unreachable(addr.to_string()));
        };
        let sa = SocketAddr::new(IpAddr::from(ip), port);
        let stream = TcpStream::connect(sa).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => TransportError::Refused(sa.to_string()),
            _ => TransportError::Io(e),
        })?;
        stream.set_nodelay(true)?;
        Ok(Box::new(stream))
    }
}

#[async_trait]
impl Host for TcpTransport {
    async fn listen_web(&self) -> Result<(Box<dyn Listener>, String), TransportError> {
        let (listener, local) = bind(self.web).await?;
        let base = format!("http://{local}");
        Ok((Box::new(TcpIncoming(listener)), base))
    }

    async fn listen_as(
        &self,
        _keypair: &std::sync::Arc<warren_proto::Keypair>,
    ) -> Result<ExtraListeners, TransportError> {
        let (listener, local) = bind(SocketAddr::new(self.listen.ip(), 0)).await?;
        let (web, web_local) = bind(SocketAddr::new(self.web.ip(), 0)).await?;
        Ok(ExtraListeners {
            listener: Box::new(TcpIncoming(listener)),
            hints: vec![TransportHint::Tcp {
                ip: IpAddress::from(local.ip()),
                port: local.port(),
            }],
            web: Some((Box::new(TcpIncoming(web)), format!("http://{web_local}"))),
        })
    }
}
