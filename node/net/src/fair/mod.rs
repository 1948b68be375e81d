//! Pools of slots fair to strangers, shared by the web listeners (a
//! connection per slot, told apart by source address or onion circuit),
//! the upload service (a transfer session per slot, told apart by
//! identity) and the control socket (a client per slot, told apart by
//! process).
//!
//! A full pool does not turn newcomers away (one stranger could then hold
//! every slot: idle connections reopened at each timeout, bodies never
//! sent, answers never read, transfer connections that never ask for
//! anything): the holder that has made no [`Progress`] for the longest is
//! closed for the new one, as the peer handshake queue evicts its oldest.
//! A key (an address, an identity) holds at most `per_key` slots; its own
//! stalest makes room for its next. One being served makes progress, so
//! the owner's stays while silent ones go.

mod tracked;

pub use tracked::Tracked;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// When a slot's holder last did something useful (moved a byte, asked
/// for something), shared between the holder and the pool (tokio's clock,
/// so tests can pause it).
#[derive(Clone, Debug)]
pub struct Progress(Arc<Mutex<Instant>>);

impl Default for Progress {
    fn default() -> Progress {
        Progress::new()
    }
}

impl Progress {
    /// Progress made now.
    pub fn new() -> Progress {
        Progress(Arc::new(Mutex::new(Instant::now())))
    }

    /// Something useful happened now.
    pub fn moved(&self) {
        *self.0.lock().expect(crate::HELD) = Instant::now();
    }

    /// When something useful last happened.
    pub fn last(&self) -> Instant {
        *self.0.lock().expect(crate::HELD)
    }
}

/// One slot's holder.
struct Held<K> {
    key: K,
    progress: Progress,
    stop: CancellationToken,
}

/// A pool of slots.
pub struct Pool<K> {
    held: HashMap<u64, Held<K>>,
    next: u64,
    max: usize,
    per_key: usize,
}

/// What taking a slot did.
#[derive(Debug, PartialEq, Eq)]
pub enum Taken {
    /// A free slot.
    Free(u64),
    /// The stalest holder (of the key's own, at its cap) was closed for
    /// this one.
    Evicted(u64),
}

impl Taken {
    /// The new slot's id, for [`Pool::release`].
    pub fn id(&self) -> u64 {
        match self {
            Taken::Free(id) | Taken::Evicted(id) => *id,
        }
    }
}

impl<K: PartialEq> Pool<K> {
    /// A pool of `max` slots, at most `per_key` of them for one key (both
    /// at least 1).
    pub fn new(max: usize, per_key: usize) -> Pool<K> {
        Pool {
            held: HashMap::with_capacity(max),
            next: 0,
            max: max.max(1),
            per_key: per_key.max(1),
        }
    }

    /// Takes a slot for `key`, closing another holder if need be (its
    /// `stop` is cancelled); `stop` ends this one when it is evicted in
    /// turn. `capped`: whether `key`'s share is limited (a whole class of
    /// clients that cannot be told apart, every onion client, is not).
    pub fn take(
        &mut self,
        key: K,
        capped: bool,
        progress: Progress,
        stop: CancellationToken,
    ) -> Taken {
        let victim = self.victim(&key, capped, Duration::ZERO);
        self.insert(key, progress, stop, victim.flatten())
    }

    /// As [`Pool::take`], but when the pool is full a holder that made
    /// progress within `grace` is never closed: `None` when a slot would
    /// need one of those (the caller waits for a [`Pool::release`] and
    /// asks again). A key at its share still closes its own stalest.
    pub fn try_take(
        &mut self,
        key: K,
        capped: bool,
        progress: Progress,
        stop: CancellationToken,
        grace: Duration,
    ) -> Option<Taken> {
        let victim = self.victim(&key, capped, grace)?;
        Some(self.insert(key, progress, stop, victim))
    }

    /// Whom a newcomer with `key` would close: `Some(None)` nobody (a free
    /// slot), `Some(Some(id))` that holder, `None` nobody silent for
    /// `grace` although one is needed.
    fn victim(&self, key: &K, capped: bool, grace: Duration) -> Option<Option<u64>> {
        let own = if capped {
            self.held.values().filter(|h| h.key == *key).count()
        } else {
            0
        };
        let silent = |h: &Held<K>| h.progress.last() + grace <= Instant::now();
        // A key past its share has no claim on the grace: its own stalest
        // goes at once.
        if own >= self.per_key {
            self.stalest(|h| h.key == *key).map(Some)
        } else if self.held.len() >= self.max {
            self.stalest(silent).map(Some)
        } else {
            Some(None)
        }
    }

    fn insert(
        &mut self,
        key: K,
        progress: Progress,
        stop: CancellationToken,
        victim: Option<u64>,
    ) -> Taken {
        if let Some(h) = victim.and_then(|v| self.held.remove(&v)) {
            h.stop.cancel();
        }
        let id = self.next;
        self.next += 1;
        self.held.insert(
            id,
            Held {
                key,
                progress,
                stop,
            },
        );
        match victim {
            Some(_) => Taken::Evicted(id),
            None => Taken::Free(id),
        }
    }

    /// The slot `id` is free again.
    pub fn release(&mut self, id: u64) {
        self.held.remove(&id);
    }

    /// Slots held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether no slot is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    fn stalest(&self, of: impl Fn(&Held<K>) -> bool) -> Option<u64> {
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

    fn client(s: &str) -> String {
        s.to_string()
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_pool_closes_the_stalest_for_a_newcomer() {
        let mut pool: Pool<String> = Pool::new(3, 3);
        let conns: Vec<(Progress, CancellationToken)> = (0..3)
            .map(|_| (Progress::new(), CancellationToken::new()))
            .collect();
        for (i, (p, stop)) in conns.iter().enumerate() {
            let t = pool.take(
                client(&format!("10.0.0.{i}")),
                true,
                p.clone(),
                stop.clone(),
            );
            assert_eq!(t, Taken::Free(i as u64));
            tokio::time::advance(std::time::Duration::from_millis(10)).await;
        }
        // The first two move bytes later; the third stays silent.
        conns[0].0.moved();
        tokio::time::advance(std::time::Duration::from_millis(10)).await;
        conns[1].0.moved();
        let t = pool.take(
            client("10.0.0.9"),
            true,
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
    async fn with_a_grace_the_busy_are_never_closed() {
        let mut pool: Pool<u32> = Pool::new(2, 2);
        let stops: Vec<CancellationToken> = (0..2).map(|_| CancellationToken::new()).collect();
        let grace = Duration::from_secs(5);
        for (i, stop) in stops.iter().enumerate() {
            let t = pool.try_take(1, true, Progress::new(), stop.clone(), grace);
            assert_eq!(t, Some(Taken::Free(i as u64)));
        }
        // Both moved a byte just now: a newcomer waits.
        tokio::time::advance(Duration::from_secs(4)).await;
        let t = pool.try_take(2, true, Progress::new(), CancellationToken::new(), grace);
        assert_eq!(t, None);
        assert!(!stops[0].is_cancelled() && !stops[1].is_cancelled());
        // Silent past the grace: the stalest goes.
        tokio::time::advance(Duration::from_secs(2)).await;
        let t = pool.try_take(2, true, Progress::new(), CancellationToken::new(), grace);
        assert_eq!(t, Some(Taken::Evicted(2)));
        assert!(stops[0].is_cancelled() && !stops[1].is_cancelled());
    }

    #[tokio::test(start_paused = true)]
    async fn one_address_holds_at_most_its_share() {
        let mut pool: Pool<String> = Pool::new(8, 2);
        let a: Vec<CancellationToken> = (0..2).map(|_| CancellationToken::new()).collect();
        for stop in &a {
            pool.take(client("10.0.0.1"), true, Progress::new(), stop.clone());
            tokio::time::advance(std::time::Duration::from_millis(10)).await;
        }
        let other = CancellationToken::new();
        pool.take(client("10.0.0.2"), true, Progress::new(), other.clone());
        // Its third closes its own oldest, never another client's.
        let t = pool.take(
            client("10.0.0.1"),
            true,
            Progress::new(),
            CancellationToken::new(),
        );
        assert!(matches!(t, Taken::Evicted(_)));
        assert!(a[0].is_cancelled() && !a[1].is_cancelled() && !other.is_cancelled());
        // Onion clients cannot be told apart: no cap of their own.
        for _ in 0..5 {
            let t = pool.take(
                client("onion"),
                false,
                Progress::new(),
                CancellationToken::new(),
            );
            assert!(matches!(t, Taken::Free(_)), "{t:?}");
        }
    }
}
