//! The mail database: one `redb` file (`mail.redb` in the data folder),
//! its tables `bytes → postcard bytes`, written only by the mail actor.
//! Every request is one transaction: a page of envelopes fetched, a deposit
//! of several, a message sent and the ratchet that sealed it commit
//! together or not at all, so a `kill -9` at any point leaves either all of
//! it or none.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A table of the mail database.
pub(crate) type Table = TableDefinition<'static, &'static [u8], &'static [u8]>;

/// Box: mailbox id (32) → postcard [`crate::boxes::Mailbox`].
pub(crate) const MAILBOXES: Table = TableDefinition::new("mailboxes");
/// Box: mailbox id (32) ‖ cursor (u64 BE) → postcard [`crate::boxes::Stored`].
pub(crate) const ENVELOPES: Table = TableDefinition::new("envelopes");
/// Box: envelope id (32) → mailbox id (32) ‖ cursor (u64 BE).
pub(crate) const ENVELOPE_IDS: Table = TableDefinition::new("envelope_ids");
/// Member: `"e2e"` → the Olm account, sessions and mailbox key
/// ([`crate::e2e::E2e::save`]).
pub(crate) const SECRETS: Table = TableDefinition::new("secrets");
/// Member: conversation id (32) → postcard [`crate::member::Conversation`].
pub(crate) const CONVERSATIONS: Table = TableDefinition::new("conversations");
/// Member: conversation id (32) ‖ sent_at (u64 BE) ‖ author (32) ‖ seq
/// (u64 BE) → postcard [`crate::member::Shown`]: the thread in order.
pub(crate) const MESSAGES: Table = TableDefinition::new("messages");
/// Member: message id (32) → its key in [`MESSAGES`].
pub(crate) const MESSAGE_IDS: Table = TableDefinition::new("message_ids");
/// Member: message id (32) → postcard [`crate::member::Outgoing`]: sealed,
/// not yet stored by a box nor delivered.
pub(crate) const OUTBOX: Table = TableDefinition::new("outbox");
/// Member: envelope id (32) → when it was opened (u64 BE): an envelope
/// fetched twice (from two boxes) is opened once.
pub(crate) const SEEN: Table = TableDefinition::new("seen");

const ALL: [Table; 9] = [
    MAILBOXES,
    ENVELOPES,
    ENVELOPE_IDS,
    SECRETS,
    CONVERSATIONS,
    MESSAGES,
    MESSAGE_IDS,
    OUTBOX,
    SEEN,
];

/// Why the mail database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file could not be opened or written.
    #[error("mail database: {0}")]
    Redb(String),
    /// A value that does not decode (a damaged file).
    #[error("mail database: a damaged value in {0}")]
    Damaged(&'static str),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for DbError {
            fn from(e: $t) -> DbError {
                DbError::Redb(e.to_string())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    std::io::Error
);

/// Opens (or creates) the database at `path`, readable by its owner only,
/// with a small page cache (`cache_bytes`).
///
/// # Errors
/// [`DbError::Redb`].
pub(crate) fn open(path: &Path, cache_bytes: usize) -> Result<Database, DbError> {
    let db = Database::builder()
        .set_cache_size(cache_bytes)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let tx = db.begin_write()?;
    for t in ALL {
        tx.open_table(t)?;
    }
    tx.commit()?;
    Ok(db)
}

/// An in-memory database (tests).
///
/// # Errors
/// [`DbError::Redb`].
pub(crate) fn in_memory() -> Result<Database, DbError> {
    let db = Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?;
    let tx = db.begin_write()?;
    for t in ALL {
        tx.open_table(t)?;
    }
    tx.commit()?;
    Ok(db)
}

/// The postcard value under `key`, if any.
///
/// # Errors
/// [`DbError::Damaged`] for a value that does not decode.
pub(crate) fn get<T: DeserializeOwned>(
    t: &impl ReadableTable<&'static [u8], &'static [u8]>,
    key: &[u8],
    name: &'static str,
) -> Result<Option<T>, DbError> {
    match t.get(key)? {
        Some(v) => postcard::from_bytes(v.value())
            .map(Some)
            .map_err(|_| DbError::Damaged(name)),
        None => Ok(None),
    }
}

/// Writes `value` under `key`.
///
/// # Errors
/// [`DbError::Redb`].
pub(crate) fn put<T: Serialize>(
    t: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    key: &[u8],
    value: &T,
) -> Result<(), DbError> {
    t.insert(key, warren_proto::encode(value).as_slice())?;
    Ok(())
}

/// `a ‖ b` as one key.
pub(crate) fn key2(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(a.len() + b.len());
    k.extend_from_slice(a);
    k.extend_from_slice(b);
    k
}
