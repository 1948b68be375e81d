//! The peer layer's error type.

use std::path::PathBuf;

/// Everything that can stop an operation of the peer layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad bytes or values, as judged by the protocol crate.
    #[error(transparent)]
    Proto(#[from] warren_proto::Error),
    /// A configuration value is out of range.
    #[error("config: {0}")]
    ConfigValue(String),
    /// The store (redb) failed.
    #[error("store: {0}")]
    Store(#[from] redb::Error),
    /// The store file cannot be opened (other than damaged: in use,
    /// unreadable, a newer format).
    #[error("store {}: {source}", path.display())]
    StoreOpen {
        /// The store file.
        path: PathBuf,
        /// What redb said.
        #[source]
        source: redb::DatabaseError,
    },
    /// The store's kept copy (`warren.keep`) cannot be written or read: the
    /// text says which file and why.
    #[error("the kept copy of the store: {0}")]
    Keep(String),
    /// The system gave no randomness.
    #[error("no randomness: {0}")]
    Random(#[from] getrandom::Error),
    /// A blocking task (a commit, mining an identity) panicked or was
    /// cancelled.
    #[error("a blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The store file is damaged: the store library found it inconsistent
    /// or failed reading it, or what it holds contradicts itself (an
    /// identity key that does not match its public key). The file is left
    /// as it is.
    #[error(
        "the store {path} is damaged: {detail}. It was left as it is; `warren store check` says more, and `warren store restore` brings back the last good copy of what cannot be made again (identity, trust, the panel's owner)"
    )]
    StoreDamaged {
        /// The store file.
        path: PathBuf,
        /// What is wrong, in words.
        detail: String,
    },
    /// Another process holds the data directory.
    #[error("the data directory {0} is in use by a running node")]
    DataDirInUse(PathBuf),
    /// A connection failed: its dial, its handshake or its stream.
    #[error("connection: {0}")]
    Connection(#[from] crate::conn::ConnError),
    /// A transport failed to listen or dial.
    #[error("transport: {0}")]
    Transport(#[from] crate::transport::TransportError),
    /// The network layer (`warren-net`) failed: a Tor network file, arti's
    /// configuration, its state folder.
    #[error(transparent)]
    Net(#[from] warren_net::Error),
    /// Trusting this node's own address.
    #[error("that is this node's own address")]
    TrustSelf,
    /// No room left in the trust list.
    #[error("the trust list is full (limits.max_trusted = {max})")]
    TrustFull {
        /// `limits.max_trusted`.
        max: usize,
    },
    /// The node is shutting down and cannot take the request.
    #[error("the node is shutting down")]
    ShuttingDown,
    /// An I/O error, with what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

macro_rules! store_error {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self {
                Error::Store(e.into())
            }
        }
    )*};
}
store_error!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
