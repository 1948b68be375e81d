//! Many nodes in one process, on the in-memory transport, under a clock the
//! caller controls.
//!
//! Run it on a paused tokio runtime (`#[tokio::test(start_paused = true)]`
//! or `Builder::start_paused(true)`): timers then fire in simulated time and
//! an hour of node life takes a moment. Every node is the real node code —
//! handshakes, records, proof of work, peer exchange, dialing, store — only
//! the bytes travel through memory.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use warren_node::clock::TokioClock;
use warren_node::config::Config;
use warren_node::daemon::{Node, NodeHandle, NodeOptions, Status};
use warren_node::identity::Identity;
use warren_node::store::Db;
use warren_node::transport::{MemoryTransport, Switchboard};
use warren_proto::{Difficulty, PeerAddr, TransportHint};

/// Wall time the simulated clocks start at (2026-11-21T00:00:00Z).
pub const SIM_EPOCH: u64 = 1_795_219_200;

/// A simulation failed to start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A node failed.
    #[error(transparent)]
    Node(#[from] warren_node::Error),
}

/// One simulated node.
pub struct SimNode {
    node: Option<Node>,
    /// Its handle (replaced on restart).
    pub handle: NodeHandle,
    /// Its address on the switchboard.
    pub addr: PeerAddr,
    port: u32,
    identity: Identity,
    db: Db,
    config: Config,
    transport: MemoryTransport,
}

/// A set of simulated nodes on one switchboard.
pub struct Sim {
    /// Connects the nodes.
    pub switchboard: Switchboard,
    /// The nodes, in start order.
    pub nodes: Vec<SimNode>,
}

/// The configuration simulations use unless told otherwise: defaults, with
/// a cheap proof of work so that making 50 identities is quick.
pub fn sim_config() -> Config {
    let mut c = Config::default();
    c.community.pow_difficulty = 8;
    c
}

/// A star: every node but the first bootstraps from the first, starting
/// from [`sim_config`]; `tweak(i, config)` adjusts node `i`.
pub fn star(tweak: impl Fn(usize, &mut Config)) -> impl Fn(usize, &[PeerAddr]) -> Config {
    move |i, addrs| {
        let mut c = sim_config();
        if i > 0 {
            c.node.bootstrap = vec![addrs[0].to_string()];
        }
        tweak(i, &mut c);
        c
    }
}

impl Sim {
    /// Starts `n` nodes. `config(i, addrs)` gives node `i` its config; `addrs`
    /// holds the addresses of nodes `0..i` (already started).
    pub async fn start(
        n: usize,
        config: impl Fn(usize, &[PeerAddr]) -> Config,
    ) -> Result<Sim, SimError> {
        let switchboard = Switchboard::new();
        let mut nodes: Vec<SimNode> = Vec::with_capacity(n);
        for i in 0..n {
            let addrs: Vec<PeerAddr> = nodes.iter().map(|s| s.addr).collect();
            let cfg = config(i, &addrs);
            let node = Self::spawn(&switchboard, cfg).await?;
            nodes.push(node);
        }
        Ok(Sim { switchboard, nodes })
    }

    async fn spawn(switchboard: &Switchboard, config: Config) -> Result<SimNode, SimError> {
        let bits =
            Difficulty::new(config.community.pow_difficulty).map_err(warren_node::Error::from)?;
        let identity = Identity::generate(bits).map_err(warren_node::Error::from)?;
        let transport = switchboard.transport();
        let port = transport.port();
        let addr = PeerAddr::new(identity.keypair.id(), TransportHint::Memory { port });
        let db = Db::in_memory().map_err(warren_node::Error::from)?;
        let node = Self::boot(&identity, &db, &config, &transport).await?;
        let handle = node.handle();
        Ok(SimNode {
            node: Some(node),
            handle,
            addr,
            port,
            identity,
            db,
            config,
            transport,
        })
    }

    async fn boot(
        identity: &Identity,
        db: &Db,
        config: &Config,
        transport: &MemoryTransport,
    ) -> Result<Node, SimError> {
        Ok(Node::start(NodeOptions {
            config: config.clone(),
            identity: identity.clone(),
            db: db.clone(),
            transport: Arc::new(transport.clone()),
            clock: Arc::new(TokioClock::starting_at(SIM_EPOCH)),
            mirror_dir: None,
            mail_db: None,
            services: Vec::new(),
        })
        .await?)
    }

    /// Starts node `i` again after [`stop`](Self::stop): same identity, same
    /// store, same place on the switchboard.
    pub async fn restart(&mut self, i: usize) -> Result<(), SimError> {
        self.stop(i).await;
        let n = &mut self.nodes[i];
        let node = Self::boot(&n.identity, &n.db, &n.config, &n.transport).await?;
        n.handle = node.handle();
        n.node = Some(node);
        Ok(())
    }

    /// Every node's status, in order.
    pub async fn statuses(&self) -> Vec<Status> {
        let mut out = Vec::with_capacity(self.nodes.len());
        for n in &self.nodes {
            if let Ok(s) = n.handle.status().await {
                out.push(s);
            }
        }
        out
    }

    /// Lets simulated time pass in `step`s until `done` holds for the
    /// statuses or `max` has passed; returns the simulated time it took.
    pub async fn run_until(
        &self,
        step: Duration,
        max: Duration,
        done: impl Fn(&[Status]) -> bool,
    ) -> Option<Duration> {
        let start = Instant::now();
        loop {
            if done(&self.statuses().await) {
                return Some(start.elapsed());
            }
            if start.elapsed() >= max {
                return None;
            }
            tokio::time::sleep(step).await;
        }
    }

    /// Takes node `i` off the network (its listener disappears; existing
    /// connections stay until they fail).
    pub fn unplug(&self, i: usize) {
        self.switchboard.unplug(self.nodes[i].port);
    }

    /// Stops node `i`.
    pub async fn stop(&mut self, i: usize) {
        if let Some(n) = self.nodes[i].node.take() {
            n.shutdown().await;
        }
    }

    /// Stops every node.
    pub async fn shutdown(mut self) {
        for i in 0..self.nodes.len() {
            self.stop(i).await;
        }
    }
}

/// The fraction of the other nodes that each node knows, lowest first.
pub fn knowledge(statuses: &[Status]) -> Vec<f64> {
    let others = statuses.len().saturating_sub(1).max(1) as f64;
    let mut k: Vec<f64> = statuses
        .iter()
        .map(|s| s.known_peers as f64 / others)
        .collect();
    k.sort_by(f64::total_cmp);
    k
}
