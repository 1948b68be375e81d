//! Upload slots: the inbound transfer connections served at once
//! (`files.max_upload_sessions`), fair to strangers. One identity holds at
//! most a quarter of them (an identity costs proof of work; BitTorrent's
//! choking gives each peer a few upload slots for the same reason), and a
//! full pool never turns a newcomer away: the session silent the longest
//! (no request received, no block sent — a connection that never named a
//! swarm is silent from the start) is closed with `Busy` for it.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use warren_proto::NodeId;

use crate::fair::{Pool, Progress, Taken};

/// The pool of upload slots.
pub(crate) struct UploadSlots(Mutex<Pool<NodeId>>);

/// One upload session's slot, released when dropped.
pub(crate) struct UploadSlot {
    id: Option<u64>,
    pool: Arc<UploadSlots>,
    progress: Progress,
    stop: CancellationToken,
}

impl UploadSlots {
    /// `max` sessions, at most a quarter (at least 1) per identity.
    pub(crate) fn new(max: usize) -> Arc<UploadSlots> {
        Arc::new(UploadSlots(Mutex::new(Pool::new(max, max / 4))))
    }

    /// A slot for `peer`, closing the stalest session (of `peer`'s own, at
    /// its cap) if the pool is full; says whether one was closed.
    pub(crate) fn take(self: &Arc<Self>, peer: NodeId) -> (UploadSlot, bool) {
        let (progress, stop) = (Progress::new(), CancellationToken::new());
        let taken =
            self.0
                .lock()
                .expect(crate::HELD)
                .take(peer, true, progress.clone(), stop.clone());
        let evicted = matches!(taken, Taken::Evicted(_));
        let slot = UploadSlot {
            id: Some(taken.id()),
            pool: self.clone(),
            progress,
            stop,
        };
        (slot, evicted)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.lock().expect(crate::HELD).len()
    }
}

impl UploadSlot {
    /// The session did something useful now.
    pub(crate) fn touch(&self) {
        self.progress.moved();
    }

    /// Ends when the session was closed for a newcomer.
    pub(crate) fn evicted(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.stop.cancelled()
    }
}

impl Drop for UploadSlot {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            self.pool.0.lock().expect(crate::HELD).release(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warren_proto::Keypair;

    fn peer(n: u8) -> NodeId {
        Keypair::from_seed(&[n; 32]).id()
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_pool_closes_the_stalest_session_for_a_newcomer() {
        let pool = UploadSlots::new(8);
        let mut slots = Vec::new();
        for n in 0..8u8 {
            slots.push(pool.take(peer(n)).0);
            tokio::time::advance(std::time::Duration::from_secs(1)).await;
        }
        // All but the second keep working.
        for (i, s) in slots.iter().enumerate() {
            if i != 1 {
                s.touch();
            }
        }
        let (_new, evicted) = pool.take(peer(100));
        assert!(evicted);
        assert!(slots[1].stop.is_cancelled());
        assert!(
            slots
                .iter()
                .enumerate()
                .all(|(i, s)| i == 1 || !s.stop.is_cancelled())
        );
        assert_eq!(pool.len(), 8);
        drop(slots);
        assert_eq!(pool.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn one_identity_holds_at_most_a_quarter() {
        let pool = UploadSlots::new(32);
        let honest = pool.take(peer(1)).0;
        let mut attacker = Vec::new();
        for _ in 0..40 {
            attacker.push(pool.take(peer(2)));
            tokio::time::advance(std::time::Duration::from_millis(10)).await;
        }
        let alive = attacker
            .iter()
            .filter(|(s, _)| !s.stop.is_cancelled())
            .count();
        assert_eq!(alive, 8);
        assert!(
            !honest.stop.is_cancelled(),
            "another identity is never closed for it"
        );
        assert_eq!(pool.len(), 9);
    }
}
