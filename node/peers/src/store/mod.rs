//! Persistence in `redb`: identity, peers, trust, settings.
//!
//! [`Db`] is the database, for reads and for the rare writes that must be
//! durable before the caller goes on (creating an identity). Everything else
//! goes through a [`StoreWriter`]: writes are queued, coalesced by key and
//! committed in one transaction per `store.commit_interval_secs`, so an idle
//! node writes nothing and a busy one writes little.

mod check;
mod guard;
pub mod keep;
mod writer;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::{Error, Result};

pub use check::{CheckReport, check};
pub use writer::{StoreCounters, StoreCounts, StoreWriter, spawn_writer};

/// The tables, all `bytes → bytes`; values are postcard encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// `"seed"` → 32-byte secret; `"public_id"` → its 32-byte public key
    /// (so damage to either is found); `"pow_nonce"` → u64 LE.
    Identity,
    /// Node id (32 bytes) → postcard `{ record: SignedNodeRecord, last_connected: Option<u64> }`.
    Peers,
    /// Node id (32 bytes) → postcard `{ addr: String (peer address), added_at: u64 }`.
    Trust,
    /// Setting name → value.
    Settings,
    /// Share token (16 bytes) → postcard `StoredShare`.
    Shares,
    /// Content id (32 bytes) → encoded manifest.
    Manifests,
    /// Content id (32 bytes) → the piece table (32 bytes per piece).
    PieceTables,
    /// Swarm (32 bytes) → postcard `StoredDownload`.
    Downloads,
    /// Swarm (32 bytes) → postcard `StoredMirror`.
    Mirrors,
    /// Share token (16 bytes) → postcard `StoredShareKey` (a share's own identity).
    ShareKeys,
    /// Swarm (32 bytes) of a finished download, or token (16 bytes) of a
    /// share → postcard `Vec<Stamp>`: its files (size, modification and
    /// change times, inode) as last verified.
    Stamps,
    /// The panel's owner: `"admin_seed"` → 32-byte secret of the admin
    /// onion; `"client_secret"` → the owner's 32-byte x25519 client key;
    /// `"pairing_code"` → UTF-8 code (until paired); `"passphrase"` →
    /// argon2id PHC string (once paired).
    Panel,
}

impl Table {
    const ALL: [Table; 12] = [
        Table::Identity,
        Table::Peers,
        Table::Trust,
        Table::Settings,
        Table::Shares,
        Table::Manifests,
        Table::PieceTables,
        Table::Downloads,
        Table::Mirrors,
        Table::ShareKeys,
        Table::Stamps,
        Table::Panel,
    ];

    fn def(self) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
        TableDefinition::new(self.name())
    }

    /// The table's name in the file.
    pub fn name(self) -> &'static str {
        match self {
            Table::Identity => "identity",
            Table::Peers => "peers",
            Table::Trust => "trust",
            Table::Settings => "settings",
            Table::Shares => "shares",
            Table::Manifests => "manifests",
            Table::PieceTables => "piece_tables",
            Table::Downloads => "downloads",
            Table::Mirrors => "mirrors",
            Table::ShareKeys => "share_keys",
            Table::Stamps => "stamps",
            Table::Panel => "panel",
        }
    }
}

/// Checks the identity's keys against each other on a read-only look at
/// the file (see [`crate::identity::stored_keypair`]).
fn probe_identity(ro: &redb::ReadOnlyDatabase) -> Result<()> {
    let txn = ro.begin_read()?;
    let table = match txn.open_table(Table::Identity.def()) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    crate::identity::stored_keypair(|key| Ok(table.get(key)?.map(|v| v.value().to_vec())))?;
    Ok(())
}

/// One change to a table: a value to put, or `None` to delete.
pub type Change = (Table, Vec<u8>, Option<Vec<u8>>);

/// The database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Database>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({:?})", self.path)
    }
}

impl Db {
    /// Opens (or creates) the database file at `path`.
    /// A damaged file is [`Error::StoreDamaged`], never a panic, and is
    /// not changed.
    pub fn open(path: &Path) -> Result<Db> {
        // A file that is there is first opened read-only (which never
        // writes): damage found then leaves it untouched, where the
        // read-write open would start repairing it. A store not shut down
        // cleanly (a crash) cannot be opened read-only; the read-write open
        // recovers it, as redb is built to.
        if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
            let probe = guard::guarded(Some(path), || Ok(redb::ReadOnlyDatabase::open(path)))?;
            match probe {
                Ok(ro) => {
                    guard::guarded(Some(path), || probe_identity(&ro)).map_err(|e| match e {
                        Error::StoreDamaged { detail, .. } => Error::StoreDamaged {
                            path: path.to_path_buf(),
                            detail,
                        },
                        other => other,
                    })?
                }
                Err(redb::DatabaseError::RepairAborted) => {}
                Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                    return Err(Error::DataDirInUse(
                        path.parent().unwrap_or(path).to_path_buf(),
                    ));
                }
                Err(e) => {
                    return Err(Error::StoreDamaged {
                        path: path.to_path_buf(),
                        detail: e.to_string(),
                    });
                }
            }
        }
        let created = guard::guarded(Some(path), || Ok(Database::create(path)))?;
        let db = match created {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(Error::DataDirInUse(
                    path.parent().unwrap_or(path).to_path_buf(),
                ));
            }
            Err(redb::DatabaseError::Storage(redb::StorageError::Corrupted(e))) => {
                return Err(Error::StoreDamaged {
                    path: path.to_path_buf(),
                    detail: e,
                });
            }
            Err(source) => {
                return Err(Error::StoreOpen {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        // The identity's secret key lives in this file: owner only.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(Error::io(format!("securing {}", path.display())))?;
        Db::init(db, Some(path.to_path_buf()))
    }

    /// A database in memory, for simulations and tests.
    pub fn in_memory() -> Result<Db> {
        let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
        Db::init(db, None)
    }

    fn init(db: Database, path: Option<PathBuf>) -> Result<Db> {
        guard::guarded(path.as_deref(), || {
            // Tables are made once; an open store is otherwise not written.
            let missing = {
                let txn = db.begin_read()?;
                Table::ALL.iter().any(|t| {
                    matches!(
                        txn.open_table(t.def()),
                        Err(redb::TableError::TableDoesNotExist(_))
                    )
                })
            };
            if missing {
                let txn = db.begin_write()?;
                for t in Table::ALL {
                    txn.open_table(t.def())?;
                }
                txn.commit()?;
            }
            Ok(())
        })?;
        Ok(Db {
            inner: Arc::new(db),
            path,
        })
    }

    /// The file, if the store is not in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The value under `key`, if any.
    pub fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        guard::guarded(self.path.as_deref(), || {
            let txn = self.inner.begin_read()?;
            let t = txn.open_table(table.def())?;
            Ok(t.get(key)?.map(|v| v.value().to_vec()))
        })
    }

    /// Every entry of `table`, in key order.
    pub fn scan(&self, table: Table) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        guard::guarded(self.path.as_deref(), || {
            let txn = self.inner.begin_read()?;
            let t = txn.open_table(table.def())?;
            let mut out = Vec::new();
            for row in t.iter()? {
                let (k, v) = row?;
                out.push((k.value().to_vec(), v.value().to_vec()));
            }
            Ok(out)
        })
    }

    /// Applies `changes` in one durable transaction. Blocking: async code
    /// calls it through the writer or `spawn_blocking`.
    pub fn apply(&self, changes: &[Change]) -> Result<()> {
        guard::guarded(self.path.as_deref(), || self.apply_unguarded(changes))
    }

    fn apply_unguarded(&self, changes: &[Change]) -> Result<()> {
        let txn = self.inner.begin_write()?;
        for table in Table::ALL {
            let mut t = txn.open_table(table.def())?;
            for (_, key, value) in changes.iter().filter(|c| c.0 == table) {
                match value {
                    Some(v) => {
                        t.insert(key.as_slice(), v.as_slice())?;
                    }
                    None => {
                        t.remove(key.as_slice())?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }
}
