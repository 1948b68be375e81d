//! Who holds the server's connections, and whom a newcomer pushes out.
//!
//! A full pool does not turn newcomers away (one stranger could then hold
//! every slot: idle connections reopened at each timeout, bodies never
//! sent, answers never read): the connection that has moved no byte for
//! the longest is closed for the new one, as the peer handshake queue
//! evicts its oldest. A client told apart by its address holds at most
//! `per_client` connections; its own stalest makes room for its next. A
//! connection being served moves bytes, so the owner's stays while
//! silent ones go.

use std::collections::HashMap;

use tokio_util::sync::CancellationToken;

use super::Client;
use super::tracked::Progress;

/// One connection in the pool.
struct Held {
    client: Client,
    progress: Progress,
    stop: CancellationToken,
}

/// The connections being served.
pub(super) struct Pool {
    held: HashMap<u64, Held>,
    next: u64,
    max: usize,
    per_client: usize,
}

/// What taking a slot did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Taken {
    /// A free slot.
    Free(u64),
    /// The stalest connection (of the client's own, at its cap) was
    /// closed for this one.
    Evicted(u64),
}

impl Taken {
    pub(super) fn id(&self) -> u64 {
        match self {
            Taken::Free(id) | Taken::Evicted(id) => *id,
        }
    }
}

impl Pool {
    /// A pool of `max` connections, at most `per_client` of them from one
    /// address (both at least 1).
    pub(super) fn new(max: usize, per_client: usize) -> Pool {
        Pool {
            held: HashMap::with_capacity(max),
            next: 0,
            max: max.max(1),
            per_client: per_client.max(1),
        }
    }

    /// Takes a slot for a connection from `client`, closing another if
    /// need be; `stop` ends the new one when it is evicted in turn.
    pub(super) fn take(
        &mut self,
        client: Client,
        progress: Progress,
        stop: CancellationToken,
    ) -> Taken {
        let own = if client.is_address() {
            self.held.values().filter(|h| h.client == client).count()
        } else {
            0
        };
        let victim = if own >= self.per_client {
            self.stalest(|h| h.client == client)
        } else if self.held.len() >= self.max {
            self.stalest(|_| true)
        } else {
            None
        };
        if let Some(v) = victim {
            if let Some(h) = self.held.remove(&v) {
                h.stop.cancel();
            }
        }
        let id = self.next;
        self.next += 1;
        self.held.insert(
            id,
            Held {
                client,
                progress,
                stop,
            },
        );
        match victim {
            Some(_) => Taken::Evicted(id),
            None => Taken::Free(id),
        }
    }

    /// The connection `id` ended.
    pub(super) fn release(&mut self, id: u64) {
        self.held.remove(&id);
    }

    /// Connections held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.held.len()
    }

    fn stalest(&self, of: impl Fn(&Held) -> bool) -> Option<u64> {
        self.held
            .iter()
            .filter(|(_, h)| of(h))
            .min_by_key(|(id, h)| (h.progress.last(), **id))
            .map(|(id, _)| *id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(s: &str) -> Client {
        Client(s.to_string())
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_pool_closes_the_stalest_for_a_newcomer() {
        let mut pool = Pool::new(3, 3);
        let conns: Vec<(Progress, CancellationToken)> = (0..3)
            .map(|_| (Progress::new(), CancellationToken::new()))
            .collect();
        for (i, (p, stop)) in conns.iter().enumerate() {
            let t = pool.take(client(&format!("10.0.0.{i}")), p.clone(), stop.clone());
            assert_eq!(t, Taken::Free(i as u64));
            tokio::time::advance(std::time::Duration::from_millis(10)).await;
        }
        // The first two move bytes later; the third stays silent.
        conns[0].0.moved();
        tokio::time::advance(std::time::Duration::from_millis(10)).await;
        conns[1].0.moved();
        let t = pool.take(
            client("10.0.0.9"),
            Progress::new(),
            CancellationToken::new(),
        );
        assert_eq!(t, Taken::Evicted(3));
        assert!(conns[2].1.is_cancelled());
        assert!(!conns[0].1.is_cancelled() && !conns[1].1.is_cancelled());
        assert_eq!(pool.len(), 3);
        pool.release(0);
        assert_eq!(pool.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn one_address_holds_at_most_its_share() {
        let mut pool = Pool::new(8, 2);
        let a: Vec<CancellationToken> = (0..2).map(|_| CancellationToken::new()).collect();
        for stop in &a {
            pool.take(client("10.0.0.1"), Progress::new(), stop.clone());
            tokio::time::advance(std::time::Duration::from_millis(10)).await;
        }
        let other = CancellationToken::new();
        pool.take(client("10.0.0.2"), Progress::new(), other.clone());
        // Its third closes its own oldest, never another client's.
        let t = pool.take(
            client("10.0.0.1"),
            Progress::new(),
            CancellationToken::new(),
        );
        assert!(matches!(t, Taken::Evicted(_)));
        assert!(a[0].is_cancelled() && !a[1].is_cancelled() && !other.is_cancelled());
        // Onion clients cannot be told apart: no cap of their own.
        for _ in 0..5 {
            let t = pool.take(client("onion"), Progress::new(), CancellationToken::new());
            assert!(matches!(t, Taken::Free(_)), "{t:?}");
        }
    }
}
