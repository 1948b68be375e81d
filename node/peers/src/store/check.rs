//! `warren store check`: the store library's own integrity check, run on a
//! copy so that the file itself is never changed (redb's check repairs
//! what it can), then the identity's keys checked against each other.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTableMetadata};

use super::guard::guarded;
use super::{Db, Table};
use crate::{Error, Result};

/// What the check found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckReport {
    /// The store file checked.
    pub path: PathBuf,
    /// Its size, bytes.
    pub bytes: u64,
    /// Entries per table, by the table's name.
    pub entries: Vec<(String, u64)>,
    /// The node's address, when the store holds an identity.
    pub identity: Option<String>,
}

/// Checks the store at `path` (the node must not be running: a copy taken
/// while it writes could be torn). A damaged store is
/// [`Error::StoreDamaged`] saying what is wrong; the file is not touched.
pub fn check(path: &Path) -> Result<CheckReport> {
    let bytes = std::fs::metadata(path)
        .map_err(Error::io(format!("reading {}", path.display())))?
        .len();
    let copy = Copy(path.with_file_name(format!(".warren-check-{}.redb", std::process::id())));
    std::fs::copy(path, copy.path()).map_err(Error::io(format!("copying {}", path.display())))?;
    let damaged = |detail: String| Error::StoreDamaged {
        path: path.to_path_buf(),
        detail,
    };
    let consistent = guarded(Some(path), || {
        let mut db = Database::open(copy.path()).map_err(|e| damaged(e.to_string()))?;
        db.check_integrity().map_err(|e| damaged(e.to_string()))
    })
    .map_err(|e| match e {
        Error::StoreDamaged { detail, .. } => damaged(detail),
        other => other,
    })?;
    if !consistent {
        return Err(damaged(
            "the store library's integrity check failed (checksums or structure do not match)"
                .into(),
        ));
    }
    let mut entries = Vec::new();
    guarded(Some(path), || {
        let db = Database::open(copy.path())?;
        let txn = db.begin_read()?;
        for t in Table::ALL {
            let n = match txn.open_table(t.def()) {
                Ok(table) => table.len()?,
                Err(redb::TableError::TableDoesNotExist(_)) => 0,
                Err(e) => return Err(e.into()),
            };
            entries.push((t.name().to_string(), n));
        }
        Ok(())
    })
    .map_err(|e| match e {
        Error::Store(e) => damaged(e.to_string()),
        Error::StoreDamaged { detail, .. } => damaged(detail),
        other => other,
    })?;
    let db = Db::open(copy.path()).map_err(|e| match e {
        Error::StoreDamaged { detail, .. } => damaged(detail),
        other => other,
    })?;
    let identity = crate::identity::Identity::load(&db)
        .map_err(|e| match e {
            Error::StoreDamaged { detail, .. } => damaged(detail),
            other => other,
        })?
        .map(|i| i.keypair.id().to_string());
    Ok(CheckReport {
        path: path.to_path_buf(),
        bytes,
        entries,
        identity,
    })
}

/// The copy checked, removed when the check ends.
struct Copy(PathBuf);

impl Copy {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
