//! The `ctor` transport: a running C tor daemon, through its control port
//! (to host the node's onion service with the node's key) and its SOCKS
//! port (to dial). This is what a box that already runs tor as a relay uses.
//!
//! Inbound streams arrive from tor on a loopback TCP port this transport
//! opens; anything reaching that port directly still has to pass the
//! handshake, which proves the dialer's key. The onion service lives as long
//! as the control connection: if tor restarts, the transport reconnects and
//! adds the service again.

mod control;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha512};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use warren_proto::{Keypair, PeerAddr, TransportHint};

use super::{
    BoxStream, ExtraListeners, Guarded, Host, Listener, OnionHost, Transport, TransportError,
    onion_extra,
};
use crate::clock::SharedClock;
use crate::tor::{BootstrapInfo, PROBE_PORT, ReachPolicy, Reachability, TorStatus, WEB_PORT};
pub use control::{Control, ControlError, Reply};

/// Longest pause between attempts to reach tor.
const MAX_RETRY: Duration = Duration::from_secs(300);

/// What a ctor transport needs.
pub struct CTorOptions<'a> {
    /// The node's data directory.
    pub data_dir: &'a Path,
    /// tor's control port.
    pub control_port: SocketAddr,
    /// The control cookie file; `None`: the file tor names.
    pub cookie: Option<PathBuf>,
    /// The node's key: the onion service's identity.
    pub keypair: Arc<Keypair>,
    /// Virtual port of the service.
    pub onion_port: u16,
    /// When to check reachability and when to relaunch.
    pub reach: ReachPolicy,
    /// Wall time, for the status.
    pub clock: SharedClock,
}

/// A running C tor, driven over its control port.
#[derive(Clone)]
pub struct CTorTransport {
    inner: Arc<Inner>,
}

struct Inner {
    control_port: SocketAddr,
    cookie: Option<PathBuf>,
    keypair: Arc<Keypair>,
    onion_port: u16,
    reach: Reachability,
    reach_policy: ReachPolicy,
    /// tor's SOCKS listener, once learned from the control port.
    socks: Mutex<Option<SocketAddr>>,
    /// Asks the supervisor to re-add the service.
    relaunch: tokio::sync::Notify,
    shutdown: CancellationToken,
    /// Where tor sends browsers' streams (port 80), once the gateway listens.
    web_target: Mutex<Option<SocketAddr>>,
}

impl CTorTransport {
    /// Prepares the transport (nothing is contacted until `listen` or `dial`).
    pub fn new(opts: CTorOptions<'_>) -> CTorTransport {
        let _ = opts.data_dir;
        CTorTransport {
            inner: Arc::new(Inner {
                control_port: opts.control_port,
                cookie: opts.cookie,
                keypair: opts.keypair,
                onion_port: opts.onion_port,
                reach: Reachability::new(opts.clock),
                reach_policy: opts.reach,
                socks: Mutex::new(None),
                relaunch: tokio::sync::Notify::new(),
                shutdown: CancellationToken::new(),
                web_target: Mutex::new(None),
            }),
        }
    }
}

/// tor's 64-byte expanded secret key for a 32-byte ed25519 seed:
/// SHA-512 of the seed, its first half clamped (as tor's ed25519 code does).
pub fn expanded_secret_key(seed: &[u8; 32]) -> [u8; 64] {
    let mut h: [u8; 64] = Sha512::digest(seed).into();
    h[0] &= 248;
    h[31] &= 63;
    h[31] |= 64;
    h
}

impl Inner {
    /// A new, authenticated control connection.
    async fn control(&self) -> Result<Control, String> {
        let mut ctl = Control::connect(self.control_port)
            .await
            .map_err(|e| e.to_string())?;
        ctl.authenticate(self.cookie.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        Ok(ctl)
    }
}

/// A loopback listener for tor to send `what` to.
async fn bind(what: &'static str) -> Result<TcpListener, TransportError> {
    TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| TransportError::Listen {
            addr: format!("127.0.0.1:0 ({what})"),
            source,
        })
}

struct Incoming(TcpListener, &'static str);

#[async_trait]
impl Listener for Incoming {
    async fn accept(&mut self) -> Result<(BoxStream, String), TransportError> {
        let (s, _) = self.0.accept().await?;
        s.set_nodelay(true)?;
        Ok((Box::new(s), self.1.into()))
    }
}

#[async_trait]
impl Transport for CTorTransport {
    fn name(&self) -> &'static str {
        "ctor"
    }

    async fn listen(&self) -> Result<(Box<dyn Listener>, Vec<TransportHint>), TransportError> {
        let peers = bind("onion streams").await?;
        let probes = bind("reachability probes").await?;
        let targets = (peers.local_addr()?, probes.local_addr()?);
        tokio::spawn(supervise(self.inner.clone(), targets, probes));
        Ok((
            Box::new(Incoming(peers, "onion (ctor)")),
            vec![TransportHint::Onion {
                port: self.inner.onion_port,
            }],
        ))
    }

    fn can_dial(&self, hint: &TransportHint) -> bool {
        matches!(hint, TransportHint::Onion { .. })
    }

    async fn dial(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError> {
        // One SOCKS identity per peer: tor keeps streams to different peers
        // on different circuits.
        self.socks_dial(addr, addr.id.short()).await
    }

    async fn dial_isolated(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError> {
        let mut n = [0u8; 8];
        let _ = getrandom::fill(&mut n);
        let user: String = n.iter().map(|b| format!("{b:02x}")).collect();
        self.socks_dial(addr, user).await
    }

    fn host(&self) -> Option<&dyn Host> {
        Some(self)
    }

    fn onion(&self) -> Option<&dyn OnionHost> {
        Some(self)
    }

    fn shutdown(&self) {
        self.inner.shutdown.cancel();
    }
}

#[async_trait]
impl Host for CTorTransport {
    async fn listen_web(&self) -> Result<(Box<dyn Listener>, String), TransportError> {
        let web = bind("web gateway").await?;
        let local = web.local_addr()?;
        *self.inner.web_target.lock().expect(crate::HELD) = Some(local);
        let base = format!("http://{}", self.inner.keypair.id());
        Ok((Box::new(Incoming(web, "onion (ctor web)")), base))
    }

    async fn listen_as(&self, keypair: &Arc<Keypair>) -> Result<ExtraListeners, TransportError> {
        let peers = bind("a share's onion streams").await?;
        let web = bind("a share's web gateway").await?;
        let ports = vec![
            (self.inner.onion_port, peers.local_addr()?),
            (WEB_PORT, web.local_addr()?),
        ];
        // The service lives as long as its control connection: the task
        // holds it until both listeners are dropped.
        let cancel = self.inner.shutdown.child_token();
        tokio::spawn(extra_service(
            self.inner.clone(),
            keypair.clone(),
            ports,
            Vec::new(),
            cancel.clone(),
        ));
        Ok(onion_extra(
            Incoming(peers, "onion (ctor share)"),
            Incoming(web, "onion (ctor share web)"),
            Arc::new(cancel.drop_guard()),
            self.inner.onion_port,
            keypair.id(),
        ))
    }
}

#[async_trait]
impl OnionHost for CTorTransport {
    async fn listen_admin(
        &self,
        keypair: &Arc<Keypair>,
        clients: &[crate::tor::ClientAuthKey],
    ) -> Result<(Box<dyn Listener>, String), TransportError> {
        let web = bind("the admin panel").await?;
        let ports = vec![(super::ADMIN_PORT, web.local_addr()?)];
        let cancel = self.inner.shutdown.child_token();
        tokio::spawn(extra_service(
            self.inner.clone(),
            keypair.clone(),
            ports,
            clients.iter().map(|c| c.public_base32()).collect(),
            cancel.clone(),
        ));
        let guard = Arc::new(cancel.drop_guard());
        Ok((
            Box::new(Guarded::new(Incoming(web, "onion (ctor admin)"), guard)),
            keypair.id().to_string(),
        ))
    }

    fn tor_status(&self) -> TorStatus {
        self.inner.reach.snapshot()
    }

    fn relaunch(&self) {
        self.inner.relaunch.notify_one();
    }
}

impl CTorTransport {
    async fn socks_dial(&self, addr: &PeerAddr, user: String) -> Result<BoxStream, TransportError> {
        let TransportHint::Onion { port } = addr.hint else {
            return Err(TransportError::Unreachable(addr.to_string()));
        };
        let socks = *self.inner.socks.lock().expect(crate::HELD);
        let socks = socks.ok_or_else(|| TransportError::Tor("tor is not ready yet".into()))?;
        let s = tokio_socks::tcp::Socks5Stream::connect_with_password(
            socks,
            (addr.id.to_string().as_str(), port),
            &user,
            "warren",
        )
        .await
        .map_err(|e| TransportError::Tor(format!("SOCKS: {e}")))?;
        Ok(Box::new(s.into_inner()))
    }
}

/// Keeps the onion service up on tor, whatever happens to tor.
async fn supervise(inner: Arc<Inner>, targets: (SocketAddr, SocketAddr), probes: TcpListener) {
    let cancel = inner.shutdown.clone();
    // Probe streams are accepted and closed here; the node never sees them.
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    r = probes.accept() => drop(r),
                }
            }
        }
    });
    let mut delay = Duration::from_secs(2);
    loop {
        let mut hosted = false;
        match run_once(&inner, targets, &mut hosted).await {
            Ok(()) => return,
            Err(e) => {
                // A new outage after a good run starts the backoff over.
                if hosted {
                    delay = Duration::from_secs(2);
                }
                inner
                    .reach
                    .failure(&format!("tor control port {}", inner.control_port), &e);
                tracing::warn!(error = %e, retry_in_secs = delay.as_secs(), "tor not usable; will retry");
            }
        }
        *inner.socks.lock().expect(crate::HELD) = None;
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(MAX_RETRY);
    }
}

/// One control connection's life: authenticate, wait for bootstrap, add the
/// service, watch it. `Ok` means shutdown; `Err` means start over.
async fn run_once(
    inner: &Arc<Inner>,
    (peer_target, probe_target): (SocketAddr, SocketAddr),
    hosted: &mut bool,
) -> Result<(), String> {
    let cancel = &inner.shutdown;
    let mut ctl = inner.control().await?;
    loop {
        let phase = ctl
            .getinfo("status/bootstrap-phase")
            .await
            .map_err(|e| e.to_string())?;
        let info = parse_bootstrap(&phase);
        let done = info.percent >= 100;
        inner.reach.bootstrap(info);
        if done {
            break;
        }
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
    let socks = ctl
        .getinfo("net/listeners/socks")
        .await
        .map_err(|e| e.to_string())?;
    let socks: SocketAddr = socks
        .split_whitespace()
        .next()
        .map(|s| s.trim_matches('"'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            format!("tor has no usable SOCKS listener ({socks:?}); configure SocksPort")
        })?;
    *inner.socks.lock().expect(crate::HELD) = Some(socks);
    loop {
        let key = expanded_secret_key(inner.keypair.seed());
        let mut ports = vec![(inner.onion_port, peer_target), (PROBE_PORT, probe_target)];
        let web_target = *inner.web_target.lock().expect(crate::HELD);
        if let Some(web) = web_target {
            ports.push((WEB_PORT, web));
        }
        let id = ctl
            .add_onion(&key, &ports, &[])
            .await
            .map_err(|e| format!("ADD_ONION: {e}"))?;
        let onion = inner.keypair.id().to_string();
        if format!("{id}.onion") != onion {
            return Err(format!("tor created {id}.onion, not the node's {onion}"));
        }
        tracing::info!(address = %onion, "onion service added to tor");
        *hosted = true;
        inner.reach.launched(onion.clone());
        let probe = || probe(socks, onion.clone());
        let relaunch = tokio::select! {
            r = inner.reach.watch(&inner.reach_policy, cancel, probe) => r,
            () = inner.relaunch.notified() => true,
            () = ctl.closed() => return Err("tor closed the control connection".into()),
        };
        if !relaunch {
            return Ok(());
        }
        tracing::warn!("re-adding the onion service after failed reachability checks");
        ctl.command(&format!("DEL_ONION {id}"))
            .await
            .map_err(|e| e.to_string())?;
    }
}

/// Hosts another identity's onion service (a share's own address) on its
/// own control connection until `cancel`; re-adds it if tor drops it.
async fn extra_service(
    inner: Arc<Inner>,
    keypair: Arc<Keypair>,
    ports: Vec<(u16, SocketAddr)>,
    client_auth: Vec<String>,
    cancel: CancellationToken,
) {
    let onion = keypair.id().to_string();
    let mut delay = Duration::from_secs(2);
    loop {
        let attempt = async {
            let mut ctl = inner.control().await?;
            let key = expanded_secret_key(keypair.seed());
            let id = ctl
                .add_onion(&key, &ports, &client_auth)
                .await
                .map_err(|e| format!("ADD_ONION: {e}"))?;
            if format!("{id}.onion") != onion {
                return Err(format!("tor created {id}.onion, not {onion}"));
            }
            tracing::info!(address = %onion, "an onion service of another identity added to tor");
            tokio::select! {
                () = cancel.cancelled() => Ok(()),
                () = ctl.closed() => Err("tor closed the control connection".to_string()),
            }
        };
        match attempt.await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(address = %onion, error = %e, "an onion service of another identity is down; retrying")
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(120));
    }
}

/// Reaches our own service through a fresh circuit (a SOCKS identity of its own).
async fn probe(socks: SocketAddr, onion: String) -> Result<(), String> {
    let mut nonce = [0u8; 8];
    let _ = getrandom::fill(&mut nonce);
    let user: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    tokio_socks::tcp::Socks5Stream::connect_with_password(
        socks,
        (onion.as_str(), PROBE_PORT),
        &user,
        "probe",
    )
    .await
    .map(drop)
    .map_err(|e| e.to_string())
}

/// Parses `NOTICE BOOTSTRAP PROGRESS=80 TAG=… SUMMARY="…"` (and WARN lines
/// with a `REASON`).
fn parse_bootstrap(line: &str) -> BootstrapInfo {
    let field = |k: &str| -> Option<String> {
        let start = line.find(&format!("{k}="))? + k.len() + 1;
        let rest = &line[start..];
        if let Some(q) = rest.strip_prefix('"') {
            q.find('"').map(|e| q[..e].to_string())
        } else {
            rest.split_whitespace().next().map(str::to_string)
        }
    };
    BootstrapInfo {
        percent: field("PROGRESS").and_then(|p| p.parse().ok()).unwrap_or(0),
        phase: field("SUMMARY").unwrap_or_else(|| line.to_string()),
        blocked: field("WARNING").or_else(|| field("REASON")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_lines() {
        let b = parse_bootstrap(r#"NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done""#);
        assert_eq!(
            (b.percent, b.phase.as_str(), b.blocked),
            (100, "Done", None)
        );
        let b = parse_bootstrap(
            r#"WARN BOOTSTRAP PROGRESS=5 TAG=conn SUMMARY="Connecting to a relay" WARNING="Connection refused" REASON=CONNECTREFUSED"#,
        );
        assert_eq!(
            (b.percent, b.blocked.as_deref()),
            (5, Some("Connection refused"))
        );
    }

    #[test]
    fn expanded_key_matches_the_public_key() {
        // The scalar of tor's expanded key times the base point is the
        // public key; checked with arti's implementation of the same format.
        let seed = [9u8; 32];
        let ours = expanded_secret_key(&seed);
        let theirs =
            tor_llcrypto::pk::ed25519::ExpandedKeypair::from_secret_key_bytes(ours).unwrap();
        assert_eq!(
            theirs.public().as_bytes(),
            Keypair::from_seed(&seed).id().as_bytes()
        );
    }
}
