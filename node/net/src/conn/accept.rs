//! The accept loop: inbound streams, under caps that a flood cannot wedge.
//!
//! * `max_pending_handshakes` handshakes in progress. When all are taken the
//!   *oldest* pending handshake is cut off to make room, so connections that
//!   open and then say nothing can delay honest dialers but never lock them
//!   out (an honest handshake takes well under a second);
//! * `max_inbound` connections at once: a slot is taken only once the
//!   handshake has proven who is dialing (an identity costs proof of work,
//!   and holds one connection: a second is a duplicate), and held for the
//!   connection's life. A quarter of the slots (at least one) only trusted
//!   nodes may take, so strangers filling the rest never keep the
//!   community's own nodes out;
//! * `max_busy_redirects`: when inbound slots are full, this many proven
//!   dialers at once get some peer records and `Busy`; beyond that the
//!   stream is closed and counted.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{ConnCtx, serve_inbound};
use crate::metrics::Metrics;
use crate::transport::Listener;

/// A place among the pending handshakes. Dropping it frees the place.
#[derive(Debug)]
pub(super) struct HandshakeSlot {
    /// Fires when the slot is taken back to make room for a newer one.
    pub(super) evicted: CancellationToken,
    done: Arc<AtomicBool>,
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}

/// The pending handshakes, oldest first; at most `cap`.
struct Pending {
    queue: VecDeque<(CancellationToken, Arc<AtomicBool>)>,
    cap: usize,
}

impl Pending {
    fn take(&mut self, metrics: &Metrics) -> HandshakeSlot {
        self.queue.retain(|(_, done)| !done.load(Ordering::Relaxed));
        if self.queue.len() >= self.cap {
            if let Some((oldest, _)) = self.queue.pop_front() {
                oldest.cancel();
                Metrics::inc(&metrics.net.handshakes_evicted);
            }
        }
        let slot = HandshakeSlot {
            evicted: CancellationToken::new(),
            done: Arc::new(AtomicBool::new(false)),
        };
        self.queue
            .push_back((slot.evicted.clone(), slot.done.clone()));
        slot
    }
}

/// The inbound caps, shared by every inbound task.
#[derive(Debug, Clone)]
pub(super) struct InboundSlots {
    /// Admitted inbound connections, anyone's.
    pub(super) conns: Arc<Semaphore>,
    /// Admitted inbound connections of trusted nodes, once `conns` is full.
    pub(super) reserved: Arc<Semaphore>,
    /// Busy redirects in progress.
    pub(super) busy: Arc<Semaphore>,
}

/// Inbound slots of `max_inbound` kept for trusted nodes: a quarter, at
/// least one (none when there is a single slot).
pub(super) fn reserved_for_trusted(max_inbound: usize) -> usize {
    if max_inbound < 2 {
        0
    } else {
        (max_inbound / 4).max(1)
    }
}

/// Serves a listener until `ctx.shutdown`: each inbound stream gets a
/// handshake place (the oldest pending one is cut off when all are taken)
/// and a task of its own in `tasks`, under the caps above.
pub async fn accept_loop(mut listener: Box<dyn Listener>, ctx: Arc<ConnCtx>, tasks: TaskTracker) {
    let l = &ctx.config;
    let reserved = reserved_for_trusted(l.max_inbound);
    let slots = InboundSlots {
        conns: Arc::new(Semaphore::new(l.max_inbound - reserved)),
        reserved: Arc::new(Semaphore::new(reserved)),
        busy: Arc::new(Semaphore::new(l.max_busy_redirects)),
    };
    let mut pending = Pending {
        queue: VecDeque::with_capacity(l.max_pending_handshakes),
        cap: l.max_pending_handshakes,
    };
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
        Metrics::inc(&ctx.metrics.net.streams_accepted);
        let hs = pending.take(&ctx.metrics);
        tasks.spawn(serve_inbound(stream, ctx.clone(), hs, slots.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::reserved_for_trusted;

    #[test]
    fn a_quarter_of_the_inbound_slots_is_kept_for_trusted_nodes() {
        assert_eq!(reserved_for_trusted(0), 0);
        assert_eq!(reserved_for_trusted(1), 0);
        assert_eq!(reserved_for_trusted(2), 1);
        assert_eq!(reserved_for_trusted(16), 4);
        assert_eq!(reserved_for_trusted(32), 8);
    }
}
