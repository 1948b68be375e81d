//! The known-good copy of what the node cannot make again, or only with
//! its owner's work: its identity, whom it trusts, the panel's owner
//! (admin onion key, client key, passphrase hash), its settings, and its
//! shares and downloads (their tokens and keys, manifests, piece tables,
//! progress, mirrors and the file stamps last verified — a restored share
//! keeps its link; a restored download resumes, its files checked as
//! after a crash). Only the peer table is left out: it is learnt again. A node writes it beside the store (`warren.keep`,
//! mode 0600) when it starts, every [`KEEP_INTERVAL`] while it runs if
//! anything changed, and when it stops — only after reading those rows
//! back from a store that opened cleanly and whose identity checked out.
//! `warren store restore` rebuilds a store from it.
//!
//! Format (little-endian where it matters, postcard for the rows):
//!
//! ```text
//! "WARREN-KEEP" 0x01          12 bytes: magic and version
//! postcard Kept               written_at (unix seconds), rows
//! SHA-256 of all the above    32 bytes
//! ```

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Db, Table};
use crate::{Error, Result};

/// The file's name, beside the store.
pub const KEEP_FILE: &str = "warren.keep";
/// How often a running node brings the copy up to date.
pub const KEEP_INTERVAL: Duration = Duration::from_secs(3600);
/// The tables kept: every one but [`Table::Peers`].
pub const KEPT: [Table; 11] = [
    Table::Identity,
    Table::Trust,
    Table::Panel,
    Table::ShareKeys,
    Table::Settings,
    Table::Shares,
    Table::Manifests,
    Table::PieceTables,
    Table::Downloads,
    Table::Mirrors,
    Table::Stamps,
];
const MAGIC: &[u8; 12] = b"WARREN-KEEP\x01";

/// A kept row: (table name, key, value).
pub type Row = (String, Vec<u8>, Vec<u8>);

/// The copy's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    /// When it was written, unix seconds.
    pub written_at: u64,
    /// Every kept row.
    pub rows: Vec<Row>,
}

fn rows(db: &Db) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for t in KEPT {
        for (k, v) in db.scan(t)? {
            out.push((t.name().to_string(), k, v));
        }
    }
    Ok(out)
}

/// Brings `dir/warren.keep` up to date with `db` (the identity must load
/// and check out first); says whether it wrote. Blocking.
pub fn write(db: &Db, dir: &Path, now: u64) -> Result<bool> {
    if crate::identity::Identity::load(db)?.is_none() {
        return Ok(false);
    }
    let rows = rows(db)?;
    let path = dir.join(KEEP_FILE);
    if let Ok(old) = read(&path) {
        if old.rows == rows {
            return Ok(false);
        }
    }
    let body = postcard::to_allocvec(&Kept {
        written_at: now,
        rows,
    })
    .map_err(|e| Error::Keep(format!("encoding {}: {e}", path.display())))?;
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&body);
    let sum = Sha256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    let tmp = dir.join(format!(".{KEEP_FILE}.tmp"));
    let io = |what: &str| Error::io(format!("{what} {}", path.display()));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io("writing"))?;
    f.write_all(&bytes).map_err(io("writing"))?;
    f.sync_all().map_err(io("syncing"))?;
    std::fs::rename(&tmp, &path).map_err(io("replacing"))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(true)
}

/// Reads and verifies a keep file.
pub fn read(path: &Path) -> Result<Kept> {
    let bytes = std::fs::read(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let bad = |why: &str| Error::Keep(format!("{}: {why}", path.display()));
    if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("not a Warren keep file (or another version)"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return Err(bad("damaged: its checksum does not match"));
    }
    postcard::from_bytes(&body[MAGIC.len()..]).map_err(|e| bad(&format!("unreadable rows: {e}")))
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    /// The node's address, as the copy holds it.
    pub identity: String,
    /// Rows put back, per table name.
    pub rows: Vec<(String, u64)>,
    /// When the copy was written, unix seconds.
    pub written_at: u64,
    /// Where the store it replaced was moved (kept, not deleted).
    pub set_aside: Option<PathBuf>,
}

/// Rebuilds the store at `store` from `dir/warren.keep`: the old file (if
/// any) is renamed to `warren.redb.damaged-UNIXTIME` (never deleted) and a
/// new store holds the kept rows; the peer table starts empty. The node
/// must be stopped. Blocking.
pub fn restore(store: &Path, dir: &Path, now: u64) -> Result<Restored> {
    let kept = read(&dir.join(KEEP_FILE))?;
    let mut changes = Vec::new();
    let mut counts: Vec<(String, u64)> = Vec::new();
    for (name, k, v) in kept.rows {
        let table = KEPT
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| Error::Keep(format!("the keep file names an unknown table {name}")))?;
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some((_, c)) => *c += 1,
            None => counts.push((name, 1)),
        }
        changes.push((table, k, Some(v)));
    }
    // The kept identity must check out before anything is moved.
    let probe = Db::in_memory()?;
    probe.apply(&changes)?;
    let identity = crate::identity::Identity::load(&probe)?
        .ok_or_else(|| Error::Keep("the keep file holds no identity".into()))?;
    let set_aside = if store.exists() {
        let aside = store.with_file_name(format!(
            "{}.damaged-{now}",
            store
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("warren.redb")
        ));
        std::fs::rename(store, &aside)
            .map_err(Error::io(format!("moving {} aside", store.display())))?;
        Some(aside)
    } else {
        None
    };
    let db = Db::open(store)?;
    db.apply(&changes)?;
    Ok(Restored {
        identity: identity.keypair.id().to_string(),
        rows: counts,
        written_at: kept.written_at,
        set_aside,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use warren_proto::Difficulty;

    #[test]
    fn kept_rows_come_back_and_damage_to_the_copy_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let store = tmp.path().join("warren.redb");
        let id = {
            let db = Db::open(&store).unwrap();
            let (id, _) = Identity::load_or_create(&db, Difficulty::new(4).unwrap()).unwrap();
            db.apply(&[
                (Table::Trust, vec![1; 32], Some(b"trusted".to_vec())),
                (Table::Peers, vec![2; 32], Some(b"a peer".to_vec())),
            ])
            .unwrap();
            assert!(write(&db, tmp.path(), 100).unwrap());
            // Unchanged: not written again.
            assert!(!write(&db, tmp.path(), 200).unwrap());
            id.keypair.id()
        };
        let r = restore(&store, tmp.path(), 300).unwrap();
        assert_eq!(r.identity, id.to_string());
        assert_eq!(r.written_at, 100);
        assert!(
            r.set_aside.as_ref().unwrap().exists(),
            "the old store is kept"
        );
        let db = Db::open(&store).unwrap();
        assert_eq!(Identity::load(&db).unwrap().unwrap().keypair.id(), id);
        assert_eq!(db.get(Table::Trust, &[1; 32]).unwrap().unwrap(), b"trusted");
        assert!(db.get(Table::Peers, &[2; 32]).unwrap().is_none());
        drop(db);

        // A flipped bit anywhere in the copy is found.
        let path = tmp.path().join(KEEP_FILE);
        let good = std::fs::read(&path).unwrap();
        for i in [0, 20, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[i] ^= 1;
            std::fs::write(&path, &bad).unwrap();
            assert!(read(&path).is_err(), "byte {i}");
        }
    }
}
