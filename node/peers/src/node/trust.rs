//! Trust changes, for the running node and for a stopped one.

use std::collections::HashMap;

use warren_proto::{NodeId, PeerAddr};

use super::persist::{self, TrustEntry};
use super::status::TrustInfo;
use crate::store::{Db, Table};
use crate::{Error, Result};

/// Checks that `addr` may be added to `trust` (not ourselves, room left).
pub(crate) fn check_add(
    own: NodeId,
    addr: &PeerAddr,
    trust: &HashMap<NodeId, TrustEntry>,
    max: usize,
) -> Result<()> {
    if addr.id == own {
        return Err(Error::TrustSelf);
    }
    if !trust.contains_key(&addr.id) && trust.len() >= max {
        return Err(Error::TrustFull { max });
    }
    Ok(())
}

pub(crate) fn info(t: &TrustEntry) -> TrustInfo {
    TrustInfo {
        id: t.addr.id.to_string(),
        address: t.addr.to_string(),
        added_at: t.added_at,
    }
}

pub(crate) fn sorted(trust: &HashMap<NodeId, TrustEntry>) -> Vec<TrustInfo> {
    let mut v: Vec<TrustInfo> = trust.values().map(info).collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v
}

/// Trusts `addr` in a store no node is running on (takes effect at start).
pub fn add_offline(
    db: &Db,
    own: NodeId,
    addr: PeerAddr,
    now: u64,
    max: usize,
) -> Result<TrustInfo> {
    let trust = persist::load_trust(db)?;
    check_add(own, &addr, &trust, max)?;
    let entry = TrustEntry {
        addr,
        added_at: now,
    };
    db.apply(&[(
        Table::Trust,
        addr.id.as_bytes().to_vec(),
        Some(entry.encode()),
    )])?;
    Ok(info(&entry))
}

/// Stops trusting `id` in a store no node is running on.
pub fn remove_offline(db: &Db, id: NodeId) -> Result<bool> {
    let was = db.get(Table::Trust, id.as_bytes())?.is_some();
    if was {
        db.apply(&[(Table::Trust, id.as_bytes().to_vec(), None)])?;
    }
    Ok(was)
}

/// The trusted nodes in a store no node is running on.
pub fn list_offline(db: &Db) -> Result<Vec<TrustInfo>> {
    Ok(sorted(&persist::load_trust(db)?))
}
