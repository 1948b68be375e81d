//! The files service's counters, shown in `status` beside the network's
//! and the store's.

warren_net::counters! {
    /// What moved on transfer connections, and what was refused there.
    TransferCounters,
    /// A point-in-time copy of [`TransferCounters`].
    TransferCounts {
        /// Piece bytes received on transfer connections.
        bytes_downloaded,
        /// Piece bytes sent on transfer connections.
        bytes_uploaded,
        /// Pieces verified against their hash.
        pieces_verified,
        /// Pieces that failed verification (their provider is dropped).
        pieces_bad,
        /// Block requests refused because a downloader had too many queued.
        upload_busy,
        /// Upload sessions closed to make room for a newcomer (the one silent
        /// the longest, or the same identity's own past its share).
        uploads_evicted,
    }
}

warren_net::counters! {
    /// What the tracker learned.
    TrackerCounters,
    /// A point-in-time copy of [`TrackerCounters`].
    TrackerCounts {
        /// Providers learned from trusted nodes' trackers (sync), new or newer.
        tracker_synced_providers,
    }
}

/// Every counter of the files service, shared by its tasks.
#[derive(Debug, Default)]
pub struct FilesCounters {
    /// Transfers.
    pub transfers: TransferCounters,
    /// The tracker.
    pub tracker: TrackerCounters,
}
