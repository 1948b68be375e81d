//! The node's onion service on arti: bootstrap, launch with the node's
//! key, accept peer streams, check reachability, relaunch.

use std::sync::Arc;
use std::time::Duration;

use arti_client::TorClient;
use futures::future::Either;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;
use tor_cell::relaycell::msg::{Connected, End, EndReason};
use tor_hsservice::config::OnionServiceConfigBuilder;
use tor_hsservice::{HsIdKeypairSpecifier, HsNickname, RendRequest, RunningOnionService};
use tor_keymgr::KeystoreSelector;
use tor_proto::stream::IncomingStreamRequest;
use tor_rtcompat::PreferredRuntime;

use super::{Arrival, Inner};
use crate::tor::{BootstrapInfo, PROBE_PORT, WEB_PORT};
use crate::transport::MAX_STREAMS_PER_CIRCUIT;

/// Nickname of the node's own service in arti's keystore and state.
const NICKNAME: &str = "warren";
/// How long one bootstrap attempt may take.
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(180);
/// Longest pause between failed bootstrap or launch attempts.
const MAX_RETRY: Duration = Duration::from_secs(600);

/// Runs until the transport shuts down.
pub(super) async fn supervise(inner: Arc<Inner>, incoming: mpsc::Sender<Arrival>) {
    let cancel = inner.shutdown.clone();
    tokio::spawn(report_bootstrap(inner.clone()));
    let mut delay = Duration::from_secs(5);
    loop {
        let attempt = tokio::select! {
            () = cancel.cancelled() => return,
            r = tokio::time::timeout(BOOTSTRAP_TIMEOUT, inner.client.bootstrap()) => r,
        };
        match attempt {
            Ok(Ok(())) => break,
            Ok(Err(e)) => inner.reach.failure("Tor bootstrap failed", &e.to_string()),
            Err(_) => inner.reach.failure(
                "Tor bootstrap",
                &format!("not finished after {} s", BOOTSTRAP_TIMEOUT.as_secs()),
            ),
        }
        tracing::warn!(
            retry_in_secs = delay.as_secs(),
            "Tor is not reachable yet; will retry"
        );
        if pause(&cancel, delay).await {
            return;
        }
        delay = (delay * 2).min(MAX_RETRY);
    }
    tracing::info!("Tor bootstrapped");

    let mut delay = Duration::from_secs(5);
    loop {
        let (service, requests) = match launch(&inner) {
            Ok(launched) => launched,
            Err(e) => {
                inner.reach.failure("launching the onion service", &e);
                tracing::warn!(error = %e, "cannot launch the onion service; will retry");
                if pause(&cancel, delay).await {
                    return;
                }
                delay = (delay * 2).min(MAX_RETRY);
                continue;
            }
        };
        delay = Duration::from_secs(5);
        let onion = inner.onion_name();
        tracing::info!(address = %onion, port = inner.onion_port, "onion service launched");
        inner.reach.launched(onion.clone());
        let this_service = cancel.child_token();
        let web = inner.web.lock().expect(crate::HELD).clone();
        tokio::spawn(accept(
            requests,
            Routes {
                peers: incoming.clone(),
                web,
            },
            inner.onion_port,
            this_service.clone(),
        ));
        let probe = || probe(inner.client.clone(), onion.clone());
        let relaunch = tokio::select! {
            r = inner.reach.watch(&inner.reach_policy, &cancel, probe) => r,
            () = inner.relaunch.notified() => {
                tracing::info!("onion service relaunch requested");
                true
            }
        };
        this_service.cancel();
        drop(service);
        if !relaunch {
            return;
        }
        tracing::warn!("relaunching the onion service");
    }
}

/// Sleeps `d` unless cancelled; true when cancelled.
async fn pause(cancel: &tokio_util::sync::CancellationToken, d: Duration) -> bool {
    tokio::select! {
        () = cancel.cancelled() => true,
        () = tokio::time::sleep(d) => false,
    }
}

/// Mirrors arti's bootstrap progress into the status.
async fn report_bootstrap(inner: Arc<Inner>) {
    let mut events = inner.client.bootstrap_events();
    let publish = |s: &arti_client::status::BootstrapStatus| {
        let percent = (s.as_frac() * 100.0).clamp(0.0, 100.0) as u8;
        inner.reach.bootstrap(BootstrapInfo {
            percent,
            phase: s.to_string(),
            blocked: s.blocked().map(|b| b.to_string()),
        });
    };
    publish(&inner.client.bootstrap_status());
    loop {
        tokio::select! {
            () = inner.shutdown.cancelled() => return,
            ev = events.next() => match ev {
                Some(s) => publish(&s),
                None => return,
            },
        }
    }
}

type Requests = futures::stream::BoxStream<'static, RendRequest>;

/// Puts the node's key in arti's keystore (replacing any other key kept
/// under our nickname) and launches the service.
fn launch(inner: &Inner) -> Result<(Arc<RunningOnionService>, Requests), String> {
    launch_key(&inner.client, &inner.keypair, NICKNAME)
}

/// Puts `keypair` in arti's keystore under `nickname` (replacing any other
/// key kept there) and launches a service with it.
fn launch_key(
    client: &TorClient<PreferredRuntime>,
    keypair: &warren_proto::Keypair,
    nickname: &str,
) -> Result<(Arc<RunningOnionService>, Requests), String> {
    let nickname: HsNickname = nickname.parse().map_err(|e| format!("{e}"))?;
    let keymgr = client.keymgr().map_err(|e| e.to_string())?;
    let spec = HsIdKeypairSpecifier::new(nickname.clone());
    keymgr
        .insert(hs_id(keypair), &spec, KeystoreSelector::Primary, true)
        .map_err(|e| format!("storing the onion key: {e}"))?;
    let config = OnionServiceConfigBuilder::default()
        .nickname(nickname)
        .max_concurrent_streams_per_circuit(u32::from(MAX_STREAMS_PER_CIRCUIT))
        .build()
        .map_err(|e| e.to_string())?;
    let (service, requests) = client
        .launch_onion_service(config)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the onion service is disabled".to_string())?;
    // The binding that matters: the service's address is the identity.
    match service.onion_address() {
        Some(hsid) if hsid.as_ref() == keypair.id().as_bytes() => {}
        _ => return Err("arti launched the service under another key".into()),
    }
    Ok((service, requests.boxed()))
}

/// Runs another identity's onion service (a share's own address) once Tor
/// is bootstrapped, until `cancel`: its streams go to `routes`.
pub(super) async fn extra(
    inner: Arc<Inner>,
    keypair: Arc<warren_proto::Keypair>,
    routes: Routes,
    cancel: tokio_util::sync::CancellationToken,
) {
    let id = keypair.id().to_string();
    let nickname = format!("share-{}", id.get(..16).unwrap_or("x"));
    let mut delay = Duration::from_secs(5);
    loop {
        let ready = tokio::select! {
            () = cancel.cancelled() => return,
            r = inner.client.bootstrap() => r.is_ok(),
        };
        if ready {
            match launch_key(&inner.client, &keypair, &nickname) {
                Ok((service, requests)) => {
                    tracing::info!(address = %id, "a share's onion service launched");
                    accept(requests, routes, inner.onion_port, cancel).await;
                    drop(service);
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot launch a share's onion service; will retry")
                }
            }
        }
        if pause(&cancel, delay).await {
            return;
        }
        delay = (delay * 2).min(MAX_RETRY);
    }
}

/// arti's form of a node key: the expanded ed25519 key pair.
pub(super) fn hs_id(keypair: &warren_proto::Keypair) -> tor_hscrypto::pk::HsIdKeypair {
    let kp = tor_llcrypto::pk::ed25519::Keypair::from_bytes(keypair.seed());
    tor_hscrypto::pk::HsIdKeypair::from(tor_llcrypto::pk::ed25519::ExpandedKeypair::from(&kp))
}

/// Where accepted streams go.
pub(super) struct Routes {
    /// Peer streams (the onion port).
    pub(super) peers: mpsc::Sender<Arrival>,
    /// Browser streams (port 80), when the gateway listens.
    pub(super) web: Option<mpsc::Sender<Arrival>>,
}

/// Turns rendezvous requests into streams: peer streams go to the node,
/// browser streams to the gateway, probe streams are accepted and closed
/// here, anything else is refused. Each stream carries the number of its
/// rendezvous circuit (as `tor_hsservice::handle_rend_requests` does,
/// but keeping which circuit each stream came on).
pub(super) async fn accept(
    requests: Requests,
    routes: Routes,
    port: u16,
    cancel: tokio_util::sync::CancellationToken,
) {
    let mut circuits = 0u64;
    let mut streams = requests.flat_map_unordered(None, move |rend| {
        circuits += 1;
        let circuit = circuits;
        Box::pin(rend.accept())
            .map(move |outcome| match outcome {
                Ok(requests) => Either::Left(requests.map(move |r| (circuit, r))),
                Err(e) => {
                    tracing::debug!(error = %e, "accepting a rendezvous request failed");
                    Either::Right(futures::stream::empty())
                }
            })
            .flatten_stream()
    });
    loop {
        let (circuit, req) = tokio::select! {
            () = cancel.cancelled() => return,
            r = streams.next() => match r {
                Some(r) => r,
                None => return,
            },
        };
        let wanted = match req.request() {
            IncomingStreamRequest::Begin(b) => b.port(),
            _ => 0,
        };
        let route = if wanted == port {
            Some(&routes.peers)
        } else if wanted == WEB_PORT {
            routes.web.as_ref()
        } else {
            None
        };
        if let Some(to) = route {
            match req.accept(Connected::new_empty()).await {
                // Full: the node is not taking streams fast enough; this
                // one is dropped (the other side sees its stream close).
                Ok(s) => {
                    if to.try_send((Box::new(s), circuit)).is_err() {
                        tracing::debug!(port = wanted, "inbound stream dropped: accept queue full");
                    }
                }
                Err(e) => tracing::debug!(error = %e, "accepting a stream failed"),
            }
        } else if wanted == PROBE_PORT {
            let _ = req.accept(Connected::new_empty()).await;
        } else {
            let _ = req
                .reject(End::new_with_reason(EndReason::CONNECTREFUSED))
                .await;
        }
    }
}

/// Reaches our own service through separate circuits.
async fn probe(client: Arc<TorClient<PreferredRuntime>>, onion: String) -> Result<(), String> {
    let isolated = client.isolated_client();
    isolated
        .connect((onion.as_str(), PROBE_PORT))
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
