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

use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::GatewayConfig;
use crate::files::FilesHandle;
use crate::transport::Listener;

/// Serves browsers until `shutdown`.
pub(crate) async fn serve(
    mut listener: Box<dyn Listener>,
    files: FilesHandle,
    cfg: GatewayConfig,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) {
    let slots = Arc::new(Semaphore::new(cfg.max_connections));
    let header_timeout = Duration::from_secs(cfg.header_timeout_secs);
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, from) = match accepted {
            Ok(a) => a,
            Err(crate::transport::TransportError::Closed) => return,
            Err(e) => {
                tracing::debug!(error = %e, "gateway accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(from, "gateway busy: connection closed");
            continue;
        };
        let files = files.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| {
                let files = files.clone();
                async move { Ok::<_, std::convert::Infallible>(routes::handle(req, files).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                () = shutdown.cancelled() => {}
                r = conn => if let Err(e) = r {
                    tracing::debug!(error = %e, "gateway connection ended");
                },
            }
        });
    }
}
