//! `warren run`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use clap::Args;
use warren_node::board::reset::{self, ResetRequest};
use warren_node::clock::{Clock, SystemClock};
use warren_node::config::{Config, TransportKind};
use warren_node::control::{ControlServer, SOCKET_NAME};
use warren_node::daemon::{Daemon, DaemonOptions, NodeOptions};
use warren_node::identity::Identity;
use warren_node::panel::PAIRING_FILE;
use warren_node::store::{Db, keep};
use warren_node::tor::TorNetwork;
use warren_node::transport::{
    ArtiOptions, ArtiTransport, CTorOptions, CTorTransport, TcpTransport, Transport,
};
use warren_node::{Error, Result};

use super::offline::{CONFIG_NAME, MAIL_STORE_NAME, MIRROR_DIR, STORE_NAME, open_data_dir};

/// Prints what `warren run` tells the person who started it; a stdout
/// that cannot be written to (closed, full) does not stop the node.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

#[derive(Debug, Clone, Args)]
pub(crate) struct RunArgs {
    /// Address to listen on (TCP transport); port 0 picks a free port.
    #[arg(long, value_name = "IP:PORT")]
    listen: Option<SocketAddr>,
    /// Transport for peer connections (default: arti).
    #[arg(long, value_enum)]
    transport: Option<TransportArg>,
    /// A private Tor network to join (tor-network.toml from `warren-localnet up`).
    #[arg(long, value_name = "FILE")]
    tor_network: Option<std::path::PathBuf>,
    /// ctor transport: the tor control port.
    #[arg(long, value_name = "IP:PORT")]
    control_port: Option<SocketAddr>,
    /// ctor transport: the tor control cookie file.
    #[arg(long, value_name = "FILE")]
    control_cookie: Option<std::path::PathBuf>,
    /// A node to contact first (repeatable); replaces node.bootstrap from the config.
    #[arg(long, value_name = "ADDR")]
    bootstrap: Vec<String>,
    /// Where the owner's panel listens on this machine; port 0 picks a free port.
    #[arg(long, value_name = "IP:PORT")]
    panel_listen: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TransportArg {
    /// Embedded Tor (arti).
    Arti,
    /// A running C tor, through its control port.
    Ctor,
    /// Plain TCP (development and tests only).
    Tcp,
}

pub(crate) async fn run(dir: &Path, args: RunArgs) -> Result<()> {
    let mut first = true;
    loop {
        let reset = ResetRequest::default();
        run_once(dir, &args, first, &reset).await?;
        if !reset.requested() {
            return Ok(());
        }
        // Every task has ended and every handle on the store is dropped.
        let removed = reset::wipe(dir, &[CONFIG_NAME])?;
        // The boot partition's pairing file describes the wiped identity.
        let boot = Config::load(&dir.join(CONFIG_NAME))?.board.boot_partition;
        if !boot.is_empty() {
            let _ = std::fs::remove_file(Path::new(&boot).join(warren_node::panel::BOOT_FILE));
        }
        tracing::warn!(
            removed,
            "factory reset: the data folder was wiped; starting as a new node"
        );
        say!("\nfactory reset: the data folder was wiped; starting again as a new node\n");
        first = false;
    }
}

async fn run_once(dir: &Path, args: &RunArgs, first: bool, reset: &ResetRequest) -> Result<()> {
    let args = args.clone();
    open_data_dir(dir)?;
    let mut config = Config::load(&dir.join(CONFIG_NAME))?;
    if let Some(l) = args.listen {
        config.node.listen = l;
    }
    if let Some(t) = args.transport {
        config.node.transport = match t {
            TransportArg::Arti => TransportKind::Arti,
            TransportArg::Ctor => TransportKind::Ctor,
            TransportArg::Tcp => TransportKind::Tcp,
        };
    }
    if let Some(n) = args.tor_network {
        config.tor.network = n.to_string_lossy().into_owned();
    }
    if let Some(c) = args.control_port {
        config.tor.control_port = c;
    }
    if let Some(c) = args.control_cookie {
        config.tor.control_cookie = c.to_string_lossy().into_owned();
    }
    if !args.bootstrap.is_empty() {
        config.node.bootstrap = args.bootstrap;
    }
    if let Some(p) = args.panel_listen {
        config.panel.listen = p;
    }
    config.validate()?;
    let mut level = config.log.level.clone();
    if !config.tor.network.is_empty() {
        // A private network of a handful of relays makes arti's relay
        // selection complain every second about relays it cannot have.
        level.push_str(",tor_netdir=error,tor_guardmgr=error,tor_circmgr=error");
    }
    if first {
        warren_node::logging::init(&level);
    }

    let db = Db::open(&dir.join(STORE_NAME))?;
    let difficulty = config.community.policy()?.difficulty;
    let db2 = db.clone();
    let dir2 = dir.to_path_buf();
    let (identity, created) = tokio::task::spawn_blocking(move || {
        if Identity::load(&db2)?.is_none() {
            super::offline::no_kept_identity(&dir2)?;
            tracing::info!(
                bits = difficulty.bits(),
                "creating identity: mining proof of work"
            );
        }
        Ok::<_, Error>(Identity::load_or_create(&db2, difficulty)?)
    })
    .await??;
    if created {
        tracing::info!(id = %identity.keypair.id(), "identity ready");
    }

    keep(&db, dir).await;
    let keep_task = {
        let (db, dir) = (db.clone(), dir.to_path_buf());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(keep::KEEP_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                keep(&db, &dir).await;
            }
        })
    };
    let keep_db = db.clone();
    let transport = make_transport(dir, &config, &identity)?;
    let control = ControlServer::bind(&dir.join(SOCKET_NAME)).await?;
    let daemon = Daemon::start(DaemonOptions {
        node: NodeOptions {
            config,
            identity,
            db,
            transport,
            clock: Arc::new(SystemClock),
            mirror_dir: Some(dir.join(MIRROR_DIR)),
            mail_db: Some(dir.join(MAIL_STORE_NAME)),
            services: Vec::new(),
        },
        config_path: Some(dir.join(CONFIG_NAME)),
        data_dir: dir.to_path_buf(),
        control,
        reset: reset.clone(),
    })
    .await?;
    let handle = daemon.handle();
    let status = handle.status().await?;
    tracing::info!(address = %status.address, "node running");
    say!(
        "warren node running\n  id       {}\n  address  {}\n  data     {}",
        status.id,
        status.address,
        dir.display()
    );
    if let Some(b) = &status.extra.board {
        say!("  board    {} (LED {})", b.model, b.led);
    }
    if let Some(p) = daemon.panel() {
        if let Some(url) = &p.url {
            say!("  panel    {url}");
        }
        if let Some(code) = &p.pairing_code {
            say!(
                "\nPair with the panel using this one-time code: {code}\n(also in {})",
                dir.join(PAIRING_FILE).display()
            );
        }
    }

    tokio::select! {
        () = signal() => tracing::info!("signal received, stopping"),
        () = daemon.stopped() => tracing::info!("stop requested"),
    }
    daemon.shutdown().await;
    keep_task.abort();
    keep(&keep_db, dir).await;
    Ok(())
}

/// Brings the known-good copy (`warren.keep`) up to date; a failure is
/// logged (the last good copy stays).
async fn keep(db: &Db, dir: &Path) {
    let (db, dir) = (db.clone(), dir.to_path_buf());
    let now = SystemClock.unix_now();
    match tokio::task::spawn_blocking(move || keep::write(&db, &dir, now)).await {
        Ok(Ok(true)) => {
            tracing::debug!("the known-good copy of identity, trust and owner is up to date")
        }
        Ok(Ok(false)) => {}
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the known-good copy could not be written; the last one stays")
        }
        Err(e) => tracing::warn!(error = %e, "the known-good copy task failed"),
    }
}

async fn signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

fn make_transport(dir: &Path, config: &Config, identity: &Identity) -> Result<Arc<dyn Transport>> {
    let network = match config.tor.network.as_str() {
        "" => None,
        path => Some(TorNetwork::load(Path::new(path))?),
    };
    Ok(match config.node.transport {
        TransportKind::Tcp => {
            Arc::new(TcpTransport::new(config.node.listen, config.gateway.listen))
        }
        TransportKind::Arti => Arc::new(ArtiTransport::new(ArtiOptions {
            data_dir: dir,
            network: network.as_ref(),
            keypair: identity.keypair.clone(),
            onion_port: config.tor.onion_port,
            reach: config.tor.reach_policy(),
            clock: Arc::new(SystemClock),
            memory_max: config.limits.tor_memory_mib * 1024 * 1024,
        })?),
        TransportKind::Ctor => Arc::new(CTorTransport::new(CTorOptions {
            data_dir: dir,
            control_port: config.tor.control_port,
            cookie: config.tor.cookie(),
            keypair: identity.keypair.clone(),
            onion_port: config.tor.onion_port,
            reach: config.tor.reach_policy(),
            clock: Arc::new(SystemClock),
        })),
    })
}
