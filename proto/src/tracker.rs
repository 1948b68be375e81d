//! The tracker channel (on peer connections): who has what, the catalogue
//! of public shares, and incremental mirroring between trusted nodes.

use serde::{Deserialize, Serialize};

use crate::bytes::{BoundedString, BoundedVec, Bytes64};
use crate::codec::encode;
use crate::content::{ContentId, SwarmId};
use crate::record::SignedNodeRecord;
use crate::{Error, Keypair, NodeId, Result};

/// Most swarms in one announcement.
pub const MAX_ANNOUNCE: usize = 64;
/// Most providers in one answer.
pub const MAX_PROVIDERS: usize = 16;
/// Most items in one sync page.
pub const MAX_SYNC_ITEMS: usize = 16;

/// A public share as its publisher describes it, signed by the publisher:
/// `signature` over `"warren/catalogue/v1\0" ‖ postcard(body)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// The content.
    pub content: ContentId,
    /// Display name.
    pub name: BoundedString<255>,
    /// Total size in bytes.
    pub size: u64,
    /// Number of files.
    pub files: u32,
    /// Description.
    pub description: Option<BoundedString<1024>>,
    /// Tags.
    pub tags: BoundedVec<BoundedString<32>, 16>,
    /// Who published it.
    pub publisher: NodeId,
    /// When (unix seconds).
    pub published_at: u64,
}

/// A catalogue entry and its publisher's signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEntry {
    /// The entry.
    pub entry: CatalogueEntry,
    /// The publisher's signature.
    pub signature: Bytes64,
}

fn entry_message(e: &CatalogueEntry) -> Vec<u8> {
    let mut m = b"warren/catalogue/v1\0".to_vec();
    m.extend_from_slice(&encode(e));
    m
}

impl SignedEntry {
    /// Signs an entry; `keypair` must be the publisher.
    pub fn sign(entry: CatalogueEntry, keypair: &Keypair) -> Result<SignedEntry> {
        if entry.publisher != keypair.id() {
            return Err(Error::Unexpected(
                "catalogue entry publisher is not the signer",
            ));
        }
        let signature = keypair.sign(&entry_message(&entry));
        Ok(SignedEntry { entry, signature })
    }

    /// Checks the publisher's signature.
    pub fn verify(&self) -> Result<()> {
        self.entry
            .publisher
            .verify(&entry_message(&self.entry), &self.signature)
    }
}

/// One change in a node's tracker, for mirroring. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncItem {
    /// A public share.
    Entry(SignedEntry),
    /// `node` provides `swarm`, as last heard at `seen_at` (unix seconds).
    Provider {
        /// The swarm.
        swarm: SwarmId,
        /// The provider.
        node: NodeId,
        /// When it was last heard of.
        seen_at: u64,
    },
}

/// Messages on the tracker channel. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackerMsg {
    /// The sender provides these swarms. Private swarms are announced only
    /// to trusted nodes.
    Announce {
        /// The swarms.
        swarms: BoundedVec<SwarmId, MAX_ANNOUNCE>,
    },
    /// Who provides this swarm?
    WhoHas {
        /// The swarm.
        swarm: SwarmId,
    },
    /// Providers of a swarm, as records the asker can check and dial.
    Providers {
        /// The swarm.
        swarm: SwarmId,
        /// Their records.
        providers: BoundedVec<SignedNodeRecord, MAX_PROVIDERS>,
    },
    /// A public share, for catalogues.
    Publish {
        /// The entry.
        entry: SignedEntry,
    },
    /// Changes since `since` in the answering node's tracker (trusted
    /// peers only).
    SyncGet {
        /// The last sequence number the asker has seen.
        since: u64,
    },
    /// A page of changes.
    SyncPage {
        /// The changes.
        items: BoundedVec<SyncItem, MAX_SYNC_ITEMS>,
        /// Ask from here next time.
        next: u64,
        /// Whether more pages follow right away.
        more: bool,
    },
    /// Please store and seed this swarm (to a box that trusts the sender).
    Mirror {
        /// The swarm.
        swarm: SwarmId,
        /// Its size, so the box can check its quota first.
        size: u64,
    },
}
