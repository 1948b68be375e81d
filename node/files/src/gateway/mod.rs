//! The web gateway: share links in a browser.
//!
//! `http://<onion>.onion/s/<token>` in Tor Browser (port 80 of the node's
//! onion service), or the loopback address `status --json` reports as
//! `gateway_url` on the TCP transport, shows a share's files; each file
//! downloads with HTTP `Range` support, so interrupted downloads resume
//! (`curl -C -`, `wget -c`, a browser's resume button).
//!
//! ```text
//!  transport.listen_web ──► serve: one task per connection (at most
//!                           gateway.max_connections; more are closed)
//!                             │  hyper HTTP/1.1, header timeout
//!                             ▼
//!                           routes ──► files handle: lookup(swarm)
//!                             │
//!                             ▼
//!                           body: 64 KiB chunks from the share's plaintext,
//!                                 4 chunks ahead at most
//! ```
//!
//! Only what this node can read is shown: a box that seeds a sealed share
//! answers with a page saying so. Pages carry no script and a strict
//! content security policy; files are always sent as attachments.

mod body;
mod page;
mod range;
mod routes;

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::FilesHandle;
use crate::config::GatewayConfig;
use crate::transport::Listener;
use crate::web::{ServeLimits, serve as serve_http};

/// Serves browsers until `shutdown`.
pub async fn serve(
    listener: Box<dyn Listener>,
    files: FilesHandle,
    cfg: GatewayConfig,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    let limits = ServeLimits {
        max_connections: cfg.max_connections,
        header_timeout: Duration::from_secs(cfg.header_timeout_secs),
        name: "gateway",
    };
    let handler = move |req| routes::handle(req, files.clone());
    serve_http(listener, limits, handler, shutdown, tasks.clone()).await;
}
