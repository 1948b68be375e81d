//! `warren run`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use clap::Args;
use tokio_util::sync::CancellationToken;
use warren_node::clock::SystemClock;
use warren_node::config::{Config, TransportKind};
use warren_node::control::{ControlServer, SOCKET_NAME};
use warren_node::identity::Identity;
use warren_node::node::{Node, NodeOptions};
use warren_node::store::Db;
use warren_node::transport::{TcpTransport, Transport};
use warren_node::{Error, Result};

use super::offline::{CONFIG_NAME, STORE_NAME, open_data_dir};

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Address to listen on (TCP transport); port 0 picks a free port.
    #[arg(long, value_name = "IP:PORT")]
    listen: Option<SocketAddr>,
    /// Transport for peer connections.
    #[arg(long, value_enum)]
    transport: Option<TransportArg>,
    /// A node to contact first (repeatable); replaces node.bootstrap from the config.
    #[arg(long, value_name = "ADDR")]
    bootstrap: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TransportArg {
    /// Plain TCP (development and tests only).
    Tcp,
}

pub(crate) async fn run(dir: &Path, args: RunArgs) -> Result<()> {
    open_data_dir(dir)?;
    let mut config = Config::load(&dir.join(CONFIG_NAME))?;
    if let Some(l) = args.listen {
        config.node.listen = l;
    }
    if let Some(TransportArg::Tcp) = args.transport {
        config.node.transport = TransportKind::Tcp;
    }
    if !args.bootstrap.is_empty() {
        config.node.bootstrap = args.bootstrap;
    }
    config.validate()?;
    warren_node::logging::init(&config.log.level);

    let db = Db::open(&dir.join(STORE_NAME))?;
    let difficulty = config.community.policy()?.difficulty;
    let db2 = db.clone();
    let (identity, created) = tokio::task::spawn_blocking(move || {
        if Identity::load(&db2)?.is_none() {
            tracing::info!(
                bits = difficulty.bits(),
                "creating identity: mining proof of work"
            );
        }
        Identity::load_or_create(&db2, difficulty)
    })
    .await
    .map_err(|e| Error::Store(format!("identity task failed: {e}")))??;
    if created {
        tracing::info!(id = %identity.keypair.id(), "identity ready");
    }

    let transport: Arc<dyn Transport> = match config.node.transport {
        TransportKind::Tcp => Arc::new(TcpTransport::new(config.node.listen)),
    };
    let control = ControlServer::bind(&dir.join(SOCKET_NAME)).await?;
    let max_clients = config.limits.control_clients;
    let node = Node::start(NodeOptions {
        config,
        identity,
        db,
        transport,
        clock: Arc::new(SystemClock),
    })
    .await?;
    let handle = node.handle();
    let status = handle.status().await?;
    tracing::info!(address = %status.address, "node running");
    println!(
        "warren node running\n  id       {}\n  address  {}\n  data     {}",
        status.id,
        status.address,
        dir.display()
    );
    let control_stop = CancellationToken::new();
    let control_task =
        tokio::spawn(control.serve(handle.clone(), max_clients, control_stop.clone()));

    tokio::select! {
        () = signal() => tracing::info!("signal received, stopping"),
        () = node.stopped() => tracing::info!("stop requested"),
    }
    control_stop.cancel();
    node.shutdown().await;
    let _ = control_task.await;
    Ok(())
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
