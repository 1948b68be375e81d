//! The accept loop: inbound streams, capped by semaphores.
//!
//! Three caps, all non-blocking (`try_acquire`), so the loop never stalls:
//! * `max_inbound` connections (held for the connection's life);
//! * `max_pending_handshakes` (held only during the handshake), so slow or
//!   silent dialers cannot tie up more than that;
//! * `max_busy_redirects`: when inbound slots are full, this many dialers at
//!   once get a handshake, some peer records and `Busy`. Beyond that a stream
//!   is dropped at once and counted.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use crate::conn::{ConnCtx, busy_redirect, serve_inbound};
use crate::metrics::Metrics;
use crate::transport::Listener;

pub(crate) async fn accept_loop(mut listener: Box<dyn Listener>, ctx: Arc<ConnCtx>, tasks: TaskTracker) {
    let l = &ctx.limits;
    let inbound = Arc::new(Semaphore::new(l.max_inbound));
    let handshakes = Arc::new(Semaphore::new(l.max_pending_handshakes));
    let busy = Arc::new(Semaphore::new(l.max_busy_redirects));
    let mut pause = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok((stream, _from)) => {
                pause = Duration::from_millis(10);
                stream
            }
            Err(e) => {
                // Out of file descriptors and the like: back off, never spin.
                tracing::warn!(error = %e, pause_ms = pause.as_millis() as u64, "accept failed");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        Metrics::inc(&ctx.metrics.streams_accepted);
        let hs = handshakes.clone().try_acquire_owned();
        match (inbound.clone().try_acquire_owned(), hs) {
            (Ok(slot), Ok(hs)) => {
                let ctx = ctx.clone();
                tasks.spawn(async move {
                    let _slot = slot;
                    serve_inbound(stream, ctx, hs).await;
                });
            }
            (Err(_), Ok(hs)) => match busy.clone().try_acquire_owned() {
                Ok(b) => {
                    let ctx = ctx.clone();
                    tasks.spawn(async move {
                        let (_b, _hs) = (b, hs);
                        busy_redirect(stream, ctx).await;
                    });
                }
                Err(_) => Metrics::inc(&ctx.metrics.streams_dropped_overload),
            },
            _ => Metrics::inc(&ctx.metrics.streams_dropped_overload),
        }
    }
}
