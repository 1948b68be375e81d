//! Which piece to fetch next: rarest first, with an endgame.
//!
//! Normal mode hands each missing piece to one connection, choosing among
//! the pieces the connection's provider has the one the fewest providers
//! have (ties at random, so downloaders spread out). When every missing
//! piece is already being fetched, a connection with nothing to do may take
//! a piece another connection is working on (at most two at once): the
//! first to finish wins and the other is told to cancel.

use crate::bitmap::Bitmap;

/// Past this many pieces, a pick looks at a random sample instead of every
/// piece (rarest first becomes approximate, picks stay cheap).
const SCAN_ALL_UP_TO: u32 = 32_768;
/// Pieces looked at when sampling.
const SAMPLE: u32 = 512;
/// Most connections working on one piece (endgame).
const MAX_DUPLICATES: u8 = 2;

/// Piece-selection state of one download.
#[derive(Debug)]
pub(crate) struct Picker {
    /// Verified pieces (written or being written).
    done: Bitmap,
    /// Providers (connections) that have each piece.
    avail: Vec<u16>,
    /// Connections working on each piece.
    assigned: Vec<u8>,
    rng: fastrand::Rng,
}

impl Picker {
    /// A download of `done.len()` pieces, `done` already here.
    pub(crate) fn new(done: Bitmap) -> Picker {
        let n = done.len() as usize;
        Picker {
            done,
            avail: vec![0; n],
            assigned: vec![0; n],
            rng: fastrand::Rng::new(),
        }
    }

    pub(crate) fn len(&self) -> u32 {
        self.done.len()
    }

    #[cfg(test)]
    pub(crate) fn complete(&self) -> bool {
        self.done.complete()
    }

    /// A connection's provider has these pieces.
    pub(crate) fn add_provider(&mut self, has: &Bitmap) {
        for i in 0..self.len().min(has.len()) {
            if has.get(i) {
                self.avail[i as usize] = self.avail[i as usize].saturating_add(1);
            }
        }
    }

    /// A connection's provider went away.
    pub(crate) fn remove_provider(&mut self, has: &Bitmap) {
        for i in 0..self.len().min(has.len()) {
            if has.get(i) {
                self.avail[i as usize] = self.avail[i as usize].saturating_sub(1);
            }
        }
    }

    /// A connection's provider now also has piece `i`.
    pub(crate) fn provider_gained(&mut self, i: u32) {
        if let Some(a) = self.avail.get_mut(i as usize) {
            *a = a.saturating_add(1);
        }
    }

    fn candidate(&self, i: u32, has: &Bitmap, max_assigned: u8) -> bool {
        !self.done.get(i) && has.get(i) && self.assigned[i as usize] <= max_assigned
    }

    /// Keeps `i` in `best` when it is a candidate rarer (then less
    /// assigned) than what `best` holds.
    fn consider(&self, i: u32, has: &Bitmap, max_assigned: u8, best: &mut Option<(u16, u8, u32)>) {
        if self.candidate(i, has, max_assigned) {
            let key = (self.avail[i as usize], self.assigned[i as usize], i);
            if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
                *best = Some(key);
            }
        }
    }

    /// Scans without allocating: every piece from a random start, or a
    /// random sample of a large download (then every piece if the sample
    /// found nothing).
    fn best(&mut self, has: &Bitmap, max_assigned: u8) -> Option<u32> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let mut best: Option<(u16, u8, u32)> = None;
        if n <= SCAN_ALL_UP_TO {
            let start = self.rng.u32(..n);
            for i in (start..n).chain(0..start) {
                self.consider(i, has, max_assigned, &mut best);
            }
        } else {
            for _ in 0..SAMPLE {
                let i = self.rng.u32(..n);
                self.consider(i, has, max_assigned, &mut best);
            }
            if best.is_none() {
                for i in 0..n {
                    self.consider(i, has, max_assigned, &mut best);
                }
            }
        }
        best.map(|(_, _, i)| i)
    }

    /// The piece a connection whose provider has `has` should fetch next,
    /// or `None` if there is nothing for it. The piece counts as assigned
    /// until `release` or `finish`.
    pub(crate) fn pick(&mut self, has: &Bitmap) -> Option<u32> {
        let i = self
            .best(has, 0)
            .or_else(|| self.best(has, MAX_DUPLICATES - 1))?;
        self.assigned[i as usize] += 1;
        Some(i)
    }

    /// A connection stopped working on piece `i` without finishing it.
    pub(crate) fn release(&mut self, i: u32) {
        if let Some(a) = self.assigned.get_mut(i as usize) {
            *a = a.saturating_sub(1);
        }
    }

    /// Piece `i` was verified. True the first time (later duplicates are
    /// to be discarded).
    pub(crate) fn finish(&mut self, i: u32) -> bool {
        if self.done.get(i) {
            return false;
        }
        self.done.set(i);
        if let Some(a) = self.assigned.get_mut(i as usize) {
            *a = 0;
        }
        true
    }

    /// Whether no missing piece is left unassigned.
    #[cfg(test)]
    pub(crate) fn endgame(&self) -> bool {
        (0..self.len()).all(|i| self.done.get(i) || self.assigned[i as usize] > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(n: u32, set: &[u32]) -> Bitmap {
        let mut b = Bitmap::new(n);
        for i in set {
            b.set(*i);
        }
        b
    }

    #[test]
    fn rarest_piece_first() {
        let mut p = Picker::new(Bitmap::new(4));
        p.add_provider(&Bitmap::full(4));
        p.add_provider(&bits(4, &[0, 1, 3]));
        p.add_provider(&bits(4, &[0, 3]));
        // Availability: 0→3, 1→2, 2→1, 3→3. The rarest (2) goes first.
        assert_eq!(p.pick(&Bitmap::full(4)), Some(2));
        assert_eq!(p.pick(&Bitmap::full(4)), Some(1));
        // A provider without the rare pieces gets what it has.
        let next = p.pick(&bits(4, &[0, 3])).unwrap();
        assert!(next == 0 || next == 3);
    }

    #[test]
    fn only_pieces_the_provider_has() {
        let mut p = Picker::new(Bitmap::new(3));
        p.add_provider(&bits(3, &[1]));
        assert_eq!(p.pick(&bits(3, &[1])), Some(1));
        // Piece 1 is taken once; 0 and 2 are not available: endgame duplicate.
        assert_eq!(p.pick(&bits(3, &[1])), Some(1));
        assert_eq!(p.pick(&bits(3, &[1])), None, "never more than two at once");
        assert_eq!(p.pick(&Bitmap::new(3)), None);
    }

    #[test]
    fn endgame_and_first_finisher_wins() {
        let mut p = Picker::new(bits(2, &[0]));
        p.add_provider(&Bitmap::full(2));
        p.add_provider(&Bitmap::full(2));
        assert_eq!(p.pick(&Bitmap::full(2)), Some(1));
        assert!(p.endgame());
        assert_eq!(
            p.pick(&Bitmap::full(2)),
            Some(1),
            "a duplicate in the endgame"
        );
        assert!(p.finish(1));
        assert!(!p.finish(1), "the second copy is discarded");
        assert!(p.complete());
        assert_eq!(p.pick(&Bitmap::full(2)), None);
    }

    #[test]
    fn released_pieces_go_back_to_the_pool() {
        let mut p = Picker::new(Bitmap::new(1));
        p.add_provider(&Bitmap::full(1));
        assert_eq!(p.pick(&Bitmap::full(1)), Some(0));
        p.release(0);
        assert!(!p.endgame());
        assert_eq!(p.pick(&Bitmap::full(1)), Some(0));
    }

    #[test]
    fn large_downloads_sample_but_still_find_the_last_piece() {
        let n = 200_000;
        let mut done = Bitmap::new(n);
        for i in (0..n).filter(|i| *i != 123_456) {
            done.set(i);
        }
        let mut p = Picker::new(done);
        p.add_provider(&Bitmap::full(n));
        assert_eq!(p.pick(&Bitmap::full(n)), Some(123_456));
    }
}
