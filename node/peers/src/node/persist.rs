//! What the node keeps in the store, and reading it back at start.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use warren_proto::{NodeId, PeerAddr, RecordPolicy, SignedNodeRecord, decode_exact, encode};

use super::peers::PeerTable;
use crate::store::{Db, Table};
use crate::{Error, Result};

/// A peer as stored (`peers` table, postcard).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredPeer {
    /// Its newest record, as received.
    pub(crate) record: SignedNodeRecord,
    /// Last completed handshake (unix seconds).
    pub(crate) last_connected: Option<u64>,
}

/// A trusted node (`trust` table, postcard of [`StoredTrust`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrustEntry {
    /// The address given to `trust add`.
    pub(crate) addr: PeerAddr,
    /// When (unix seconds).
    pub(crate) added_at: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredTrust {
    addr: String,
    added_at: u64,
}

impl TrustEntry {
    pub(crate) fn encode(&self) -> Vec<u8> {
        encode(&StoredTrust {
            addr: self.addr.to_string(),
            added_at: self.added_at,
        })
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let s: StoredTrust = decode_exact(bytes)?;
        Ok(TrustEntry {
            addr: s.addr.parse()?,
            added_at: s.added_at,
        })
    }
}

/// Reads the trust list.
pub(crate) fn load_trust(db: &Db) -> Result<HashMap<NodeId, TrustEntry>> {
    let mut out = HashMap::new();
    for (key, value) in db.scan(Table::Trust)? {
        match TrustEntry::decode(&value) {
            Ok(t) => {
                out.insert(t.addr.id, t);
            }
            Err(e) => {
                tracing::warn!(key = %hex(&key), error = %e, "unreadable trust entry skipped")
            }
        }
    }
    Ok(out)
}

/// Reads the peer table, checking every record again at `now`. Returns the
/// table and the keys of entries that are no longer valid (to delete).
pub(crate) fn load_peers(
    db: &Db,
    now: u64,
    policy: &RecordPolicy,
    cap: usize,
) -> Result<(PeerTable, Vec<Vec<u8>>)> {
    let mut table = PeerTable::new(cap);
    let mut stale = Vec::new();
    for (key, value) in db.scan(Table::Peers)? {
        let restored = decode_exact::<StoredPeer>(&value)
            .map_err(Error::from)
            .and_then(|p| Ok((p.record.verify(now, policy)?, p.last_connected)));
        match restored {
            Ok((rec, last)) if rec.id().as_bytes().as_slice() == key.as_slice() => {
                if !table.restore(rec, last) {
                    stale.push(key);
                }
            }
            _ => stale.push(key),
        }
    }
    Ok((table, stale))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
