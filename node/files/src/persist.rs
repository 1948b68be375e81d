//! What the files service keeps in the store.

use serde::{Deserialize, Serialize};
use warren_proto::NodeId;
use warren_proto::content::Ticket;

use super::download::Signer;
use super::hashing::SourceFile;

/// A share (`shares` table, key: the 16-byte token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredShare {
    pub(crate) token: [u8; 16],
    pub(crate) content: [u8; 32],
    pub(crate) public: bool,
    pub(crate) sources: Vec<SourceFile>,
    pub(crate) seal: Option<[u8; 32]>,
    pub(crate) ticket: Ticket,
    pub(crate) created_at: u64,
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) files: u32,
}

/// A download (`downloads` table, key: the 32-byte swarm).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredDownload {
    pub(crate) link: String,
    pub(crate) out: String,
    pub(crate) content: Option<[u8; 32]>,
    pub(crate) ticket: Option<Ticket>,
    /// Pieces durable on disk (`Bitmap::to_bytes`).
    pub(crate) have: Vec<u8>,
    /// Stored by its name ([`StoredState::as_str`]), as it always was.
    pub(crate) state: StoredState,
    pub(crate) error: Option<String>,
    pub(crate) added_at: u64,
    pub(crate) name: Option<String>,
}

/// A mirror kept for others (`mirrors` table, key: the 32-byte swarm).
/// `dl.out` is the file holding the content as it travels; `dl.link` is
/// the link it was asked for by (without its key), or empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredMirror {
    /// The peer address asked first.
    pub(crate) at: String,
    /// How tickets are checked.
    pub(crate) signer: Signer,
    /// Bytes counted against the seeding quota.
    pub(crate) reserved: u64,
    /// The trusted node that asked (none: this node's owner).
    pub(crate) asked_by: Option<NodeId>,
    /// The download's own record.
    pub(crate) dl: StoredDownload,
}

/// A download's state as the store keeps it: by name (postcard writes the
/// name as a string, byte for byte what the `String` field it replaced
/// wrote), so that records written before a state existed still decode;
/// an unknown name reads as [`StoredState::Active`] (it resumes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StoredState {
    /// Running, or to resume at the next start.
    Active,
    /// Paused by its owner (or by a full disk); `warren get` resumes it.
    Paused,
    /// Every piece verified and on disk.
    Complete,
    /// Stopped for good; `error` says why.
    Failed,
    /// Its files changed after they were downloaded.
    Changed,
    /// Its files are gone.
    Missing,
}

impl StoredState {
    /// The stored name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StoredState::Active => "active",
            StoredState::Paused => "paused",
            StoredState::Complete => "complete",
            StoredState::Failed => "failed",
            StoredState::Changed => "changed",
            StoredState::Missing => "missing",
        }
    }

    /// What `warren downloads` shows for a download in this state that is
    /// not running.
    pub(crate) fn shown(self) -> crate::DownloadState {
        use crate::DownloadState;
        match self {
            StoredState::Active => DownloadState::Waiting,
            StoredState::Paused => DownloadState::Paused,
            StoredState::Complete => DownloadState::Complete,
            StoredState::Failed => DownloadState::Failed,
            StoredState::Changed => DownloadState::Changed,
            StoredState::Missing => DownloadState::Missing,
        }
    }

    /// The state of a stored name (an unknown one resumes).
    pub(crate) fn parse(s: &str) -> StoredState {
        [
            StoredState::Paused,
            StoredState::Complete,
            StoredState::Failed,
            StoredState::Changed,
            StoredState::Missing,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(StoredState::Active)
    }
}

impl Serialize for StoredState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StoredState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StoredState, D::Error> {
        let name = String::deserialize(d)?;
        Ok(StoredState::parse(&name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record as it was stored while its state was a `String`.
    #[derive(Serialize, Deserialize)]
    struct Before {
        link: String,
        out: String,
        content: Option<[u8; 32]>,
        ticket: Option<Ticket>,
        have: Vec<u8>,
        state: String,
        error: Option<String>,
        added_at: u64,
        name: Option<String>,
    }

    #[test]
    fn a_typed_state_is_stored_byte_for_byte_as_its_name_was() {
        for (name, state) in [
            ("active", StoredState::Active),
            ("paused", StoredState::Paused),
            ("complete", StoredState::Complete),
            ("failed", StoredState::Failed),
            ("changed", StoredState::Changed),
            ("missing", StoredState::Missing),
            ("a state from a later release", StoredState::Active),
        ] {
            let before = Before {
                link: "warren:x".into(),
                out: "/tmp/out".into(),
                content: Some([7; 32]),
                ticket: None,
                have: vec![0xff, 0x01],
                state: name.into(),
                error: Some("why".into()),
                added_at: 1_795_000_000,
                name: Some("film.mkv".into()),
            };
            let old = postcard::to_allocvec(&before).unwrap();
            let now: StoredDownload = postcard::from_bytes(&old).unwrap();
            assert_eq!(now.state, state, "{name}");
            assert_eq!(now.link, "warren:x");
            assert_eq!(now.added_at, 1_795_000_000);
            if state.as_str() == name {
                assert_eq!(postcard::to_allocvec(&now).unwrap(), old, "{name}");
            }
        }
    }
}
