//! The HTTP/1.1 connection loop shared by the web gateway and the panel:
//! one task per connection, a bounded number at once (more are closed at
//! once), a header timeout, and an end at shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::transport::{Listener, TransportError};

/// How a server takes its connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServeLimits {
    /// Connections served at once; more are closed.
    pub(crate) max_connections: usize,
    /// Time a client has to send a request's headers.
    pub(crate) header_timeout: Duration,
    /// A name for logs.
    pub(crate) name: &'static str,
}

/// Serves `listener` with `handler` until `shutdown`.
pub(crate) async fn serve<H, F, B>(
    mut listener: Box<dyn Listener>,
    limits: ServeLimits,
    handler: H,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let name = limits.name;
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, from) = match accepted {
            Ok(a) => a,
            Err(TransportError::Closed) => return,
            Err(e) => {
                tracing::debug!(error = %e, "{name}: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::debug!(from, "{name} busy: connection closed");
            continue;
        };
        let handler = handler.clone();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                () = shutdown.cancelled() => {}
                r = conn => if let Err(e) = r {
                    tracing::debug!(error = %e, "{name} connection ended");
                },
            }
        });
    }
}
