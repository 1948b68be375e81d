//! What the relay carried: the month's allowance and the bytes relayed per
//! hour and per day, from tor's `traffic/read` and `traffic/written`.
//!
//! tor's counters run from tor's start and do not tell relayed bytes from
//! the node's own; they are counted only while the ORPort is open, so the
//! figures include the node's own Tor traffic during those times. A
//! sample's bytes are the larger of read and written, as tor's
//! `AccountingRule max` counts.
//!
//! Kept in `relay.json` in the data directory, written whole (to a new file,
//! then renamed) at most every [`SAVE_EVERY`] seconds and when the node
//! stops: a crash loses at most that much of the count.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::{Date, Month, OffsetDateTime};

/// File name inside the data directory.
pub(crate) const LEDGER_FILE: &str = "relay.json";
/// Seconds between writes of the ledger while counts change.
pub(crate) const SAVE_EVERY: u64 = 300;
/// Hours kept for the hourly chart.
pub(crate) const HOURS: usize = 24;
/// Days kept for the daily chart.
pub(crate) const DAYS: usize = 30;

/// The ledger, as kept on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Ledger {
    /// Start of the allowance period these counts belong to (unix s).
    pub(crate) period_start: u64,
    /// Bytes read in the period while relaying.
    pub(crate) read: u64,
    /// Bytes written in the period while relaying.
    pub(crate) written: u64,
    /// (hour start, bytes), oldest first, at most [`HOURS`].
    pub(crate) hours: VecDeque<(u64, u64)>,
    /// (day start, bytes), oldest first, at most [`DAYS`].
    pub(crate) days: VecDeque<(u64, u64)>,
    /// This node opened tor's ORPort (so it is the one to close it).
    pub(crate) opened: bool,
    /// The secret the relay's nickname is derived from (SPEC.md §16);
    /// made at the first load.
    pub(crate) secret: [u8; 32],
}

/// The allowance period holding `now`: from `day` 00:00 UTC of a month to
/// the same of the next (tor's `AccountingStart month DAY 00:00`).
pub(crate) fn period(now: u64, day: u8) -> (u64, u64) {
    let t = OffsetDateTime::from_unix_timestamp(now as i64).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let start_in = |year: i32, month: Month| -> u64 {
        Date::from_calendar_date(year, month, day.clamp(1, 28))
            .map(|d| d.midnight().assume_utc().unix_timestamp().max(0) as u64)
            .unwrap_or(0)
    };
    let this = start_in(t.year(), t.month());
    let (prev_year, prev) = match t.month() {
        Month::January => (t.year() - 1, Month::December),
        m => (t.year(), m.previous()),
    };
    let (next_year, next) = match t.month() {
        Month::December => (t.year() + 1, Month::January),
        m => (t.year(), m.next()),
    };
    if now >= this {
        (this, start_in(next_year, next))
    } else {
        (start_in(prev_year, prev), this)
    }
}

/// Minutes since 00:00 UTC of `now`'s day.
pub(crate) fn minute_of_day(now: u64) -> u16 {
    ((now % 86_400) / 60) as u16
}

fn push(buckets: &mut VecDeque<(u64, u64)>, start: u64, bytes: u64, keep: usize) {
    match buckets.back_mut() {
        Some((s, b)) if *s == start => *b += bytes,
        _ => {
            buckets.push_back((start, bytes));
            while buckets.len() > keep {
                buckets.pop_front();
            }
        }
    }
}

/// The last `n` buckets ending with the one holding `now`, oldest first
/// (buckets of `len` seconds; missing ones are 0).
fn series(buckets: &VecDeque<(u64, u64)>, now: u64, len: u64, n: usize) -> Vec<u64> {
    let last = now - now % len;
    (0..n as u64)
        .rev()
        .map(|i| {
            let start = last.saturating_sub(i * len);
            buckets
                .iter()
                .find(|(s, _)| *s == start)
                .map_or(0, |(_, b)| *b)
        })
        .collect()
}

impl Ledger {
    /// Moves to the period holding `now` (counts start again in a new one).
    pub(crate) fn roll(&mut self, now: u64, day: u8) {
        let (start, _) = period(now, day);
        if self.period_start != start {
            self.period_start = start;
            self.read = 0;
            self.written = 0;
        }
    }

    /// Counts `read` and `written` bytes relayed up to `now`.
    pub(crate) fn add(&mut self, now: u64, day: u8, read: u64, written: u64) {
        self.roll(now, day);
        self.read = self.read.saturating_add(read);
        self.written = self.written.saturating_add(written);
        let bytes = read.max(written);
        push(&mut self.hours, now - now % 3_600, bytes, HOURS);
        push(&mut self.days, now - now % 86_400, bytes, DAYS);
    }

    /// Bytes relayed in each of the last 24 hours, oldest first.
    pub(crate) fn hourly(&self, now: u64) -> Vec<u64> {
        series(&self.hours, now, 3_600, HOURS)
    }

    /// Bytes relayed in each of the last 30 days, oldest first.
    pub(crate) fn daily(&self, now: u64) -> Vec<u64> {
        series(&self.days, now, 86_400, DAYS)
    }

    /// Reads the ledger; a missing file is an empty ledger, an unreadable
    /// one is logged and replaced by an empty one (it holds only counts).
    pub(crate) fn load(dir: &Path) -> Ledger {
        let mut ledger = Ledger::read(dir);
        if ledger.secret == [0; 32] {
            if let Err(e) = getrandom::fill(&mut ledger.secret) {
                tracing::error!(error = %e, "no randomness for the relay's nickname secret");
            }
        }
        ledger
    }

    fn read(dir: &Path) -> Ledger {
        let path = dir.join(LEDGER_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "the relay ledger does not parse; starting it again");
                Ledger::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ledger::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "the relay ledger cannot be read; starting it again");
                Ledger::default()
            }
        }
    }

    /// Writes the ledger whole: a new file, synced, then renamed over the
    /// old one.
    pub(crate) fn save(&self, dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let path: PathBuf = dir.join(LEDGER_FILE);
        let tmp = path.with_extension("json.new");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        f.sync_data()?;
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEC_2_2026_NOON: u64 = 1_796_212_800; // 2026-12-02 12:00:00 UTC
    const DEC_1_2026: u64 = 1_796_083_200; // 2026-12-01 00:00:00 UTC

    #[test]
    fn periods_run_from_the_start_day_to_the_next_month() {
        assert_eq!(
            period(DEC_2_2026_NOON, 1),
            (DEC_1_2026, 1_798_761_600) // 2027-01-01
        );
        // Before the 15th: the period began on November 15th.
        let (start, end) = period(DEC_2_2026_NOON, 15);
        assert_eq!(start, 1_794_700_800); // 2026-11-15
        assert_eq!(end, 1_797_292_800); // 2026-12-15
        assert_eq!(period(DEC_1_2026, 1).0, DEC_1_2026);
        // January's period before its start day began in December.
        let jan_3_2027 = 1_798_934_400;
        assert_eq!(period(jan_3_2027, 10).0, 1_796_860_800); // 2026-12-10
    }

    #[test]
    fn counts_fill_hours_days_and_the_period() {
        let mut l = Ledger::default();
        l.add(DEC_2_2026_NOON, 1, 100, 300);
        l.add(DEC_2_2026_NOON + 60, 1, 50, 10);
        l.add(DEC_2_2026_NOON + 3_600, 1, 7, 0);
        assert_eq!((l.read, l.written), (157, 310));
        let hours = l.hourly(DEC_2_2026_NOON + 3_600);
        assert_eq!(hours.len(), HOURS);
        assert_eq!(&hours[HOURS - 2..], &[350, 7]);
        assert_eq!(*l.daily(DEC_2_2026_NOON).last().unwrap(), 357);
        // A new period starts the allowance again, not the charts.
        l.add(1_798_761_600 + 10, 1, 1, 2);
        assert_eq!((l.read, l.written), (1, 2));
        assert_eq!(l.days.len(), 2);
    }

    #[test]
    fn it_survives_a_round_trip_and_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut l = Ledger::default();
        l.add(DEC_2_2026_NOON, 1, 5, 6);
        l.opened = true;
        l.save(dir.path()).unwrap();
        l.secret = [5; 32];
        l.save(dir.path()).unwrap();
        assert_eq!(Ledger::load(dir.path()), l);
        std::fs::write(dir.path().join(LEDGER_FILE), b"{not json").unwrap();
        let fresh = Ledger::load(dir.path());
        assert_eq!((fresh.read, fresh.opened), (0, false));
        assert_ne!(fresh.secret, [0; 32], "a new secret");
    }
}
