//! Extra onion services with their own keys and restricted discovery, and
//! the client side: keys for reaching such services.

use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tor_hsservice::{HsIdKeypairSpecifier, HsNickname};
use tor_keymgr::KeystoreSelector;
use warren_proto::{Keypair, NodeId};

use super::{ArtiTransport, INCOMING_QUEUE, Incoming, service};
use crate::tor::ClientAuthKey;
use crate::transport::{Listener, TransportError};

/// An onion service only the listed clients can reach.
pub struct RestrictedService {
    /// Local name for arti's keystore and state (letters, digits, `-`, `_`).
    pub nickname: String,
    /// The service's own key (not the node's: its address must not be linkable).
    pub keypair: Arc<Keypair>,
    /// Virtual port streams are accepted on.
    pub port: u16,
    /// Authorized clients: a name and their public key.
    pub clients: Vec<(String, ClientAuthKey)>,
}

/// A running restricted service: its address and its inbound streams. The
/// service stops when this is dropped.
pub struct HostedService {
    /// `<name>.onion`.
    pub onion: String,
    /// Inbound streams on the service's port.
    pub listener: Box<dyn Listener>,
    stop: CancellationToken,
}

#[async_trait::async_trait]
impl Listener for HostedService {
    async fn accept(&mut self) -> Result<(crate::transport::BoxStream, String), TransportError> {
        self.listener.accept().await
    }
}

impl Drop for HostedService {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl ArtiTransport {
    /// Launches `spec` (bootstrapping Tor first if needed).
    pub async fn host_restricted(
        &self,
        spec: RestrictedService,
    ) -> Result<HostedService, TransportError> {
        let inner = &self.inner;
        let tor = |e: String| TransportError::Tor(e);
        inner
            .client
            .bootstrap()
            .await
            .map_err(|e| tor(e.to_string()))?;
        let nickname: HsNickname = spec
            .nickname
            .parse()
            .map_err(|e| tor(format!("nickname: {e}")))?;
        let keymgr = inner.client.keymgr().map_err(|e| tor(e.to_string()))?;
        keymgr
            .insert(
                service::hs_id(&spec.keypair),
                &HsIdKeypairSpecifier::new(nickname.clone()),
                KeystoreSelector::Primary,
                true,
            )
            .map_err(|e| tor(format!("storing the service key: {e}")))?;
        let mut keys = toml::Table::new();
        for (name, key) in &spec.clients {
            keys.insert(name.clone(), toml::Value::String(key.public_descriptor()));
        }
        let mut rd = toml::Table::new();
        rd.insert("enabled".into(), toml::Value::Boolean(true));
        rd.insert("static_keys".into(), toml::Value::Table(keys));
        let mut cfg = toml::Table::new();
        cfg.insert(
            "nickname".into(),
            toml::Value::String(spec.nickname.clone()),
        );
        cfg.insert("restricted_discovery".into(), toml::Value::Table(rd));
        cfg.insert(
            "max_concurrent_streams_per_circuit".into(),
            toml::Value::Integer(i64::from(crate::transport::MAX_STREAMS_PER_CIRCUIT)),
        );
        let builder: tor_hsservice::config::OnionServiceConfigBuilder = toml::Value::Table(cfg)
            .try_into()
            .map_err(|e: toml::de::Error| tor(e.to_string()))?;
        let config = builder.build().map_err(|e| tor(e.to_string()))?;
        let (running, requests) = inner
            .client
            .launch_onion_service(config)
            .map_err(|e| tor(e.to_string()))?
            .ok_or_else(|| tor("service disabled".into()))?;
        let onion = spec.keypair.id().to_string();
        match running.onion_address() {
            Some(h) if h.as_ref() == spec.keypair.id().as_bytes() => {}
            _ => return Err(tor("arti launched the service under another key".into())),
        }
        let (tx, rx) = mpsc::channel(INCOMING_QUEUE);
        let stop = inner.shutdown.child_token();
        let run = stop.clone();
        tokio::spawn(async move {
            // Holding `running` keeps the service up until stopped.
            let _running = running;
            let routes = service::Routes {
                peers: tx,
                web: None,
            };
            service::accept(requests.boxed(), routes, spec.port, run).await;
        });
        Ok(HostedService {
            onion,
            listener: Box::new(Incoming(rx, "onion")),
            stop,
        })
    }

    /// Lets this node reach the restricted service `service` with `key`.
    pub fn add_client_key(
        &self,
        service: &NodeId,
        key: &ClientAuthKey,
    ) -> Result<(), TransportError> {
        let keymgr = self
            .inner
            .client
            .keymgr()
            .map_err(|e| TransportError::Tor(e.to_string()))?;
        let hsid = tor_hscrypto::pk::HsId::from(*service.as_bytes());
        let spec = tor_hsclient::HsClientDescEncKeypairSpecifier::new(hsid);
        keymgr
            .insert(key.keypair(), &spec, KeystoreSelector::Primary, true)
            .map(drop)
            .map_err(|e| TransportError::Tor(format!("storing the client key: {e}")))
    }
}
