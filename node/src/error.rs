//! The node's error type.

use std::path::PathBuf;

/// Everything that can stop a node operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad bytes or values, as judged by the protocol crate.
    #[error(transparent)]
    Proto(#[from] warren_proto::Error),
    /// The configuration is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] warren_api::ConfigError),
    /// Another process holds the data directory.
    #[error("the data directory {0} is in use by a running node")]
    DataDirInUse(PathBuf),
    /// No identity yet and this operation does not create one.
    #[error("no identity in {0}: run `warren init` first")]
    NoIdentity(PathBuf),
    /// A transport failed to listen or dial.
    #[error("transport: {0}")]
    Transport(#[from] crate::transport::TransportError),
    /// The network layer (`warren-net`) failed: a Tor network file, arti's
    /// configuration, its state folder.
    #[error(transparent)]
    Net(#[from] warren_net::Error),
    /// The node is not running (no control socket answers).
    #[error("no node is running with data directory {0} (no control socket answers)")]
    NotRunning(PathBuf),
    /// The running node refused or failed a request.
    #[error("{0}")]
    Remote(String),
    /// A blocking task (mining an identity, checking the store) panicked or
    /// was cancelled.
    #[error("a blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A value could not be written or read as JSON.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The node is shutting down and cannot take the request.
    #[error("the node is shutting down")]
    ShuttingDown,
    /// The peer layer (`warren-peers`) failed: its store, its node task,
    /// a connection.
    #[error(transparent)]
    Peers(#[from] warren_peers::Error),
    /// A mail operation failed.
    #[error(transparent)]
    Mail(#[from] warren_mail::MailError),
    /// A files operation failed.
    #[error(transparent)]
    Files(#[from] crate::files::FilesError),
    /// The owner's panel could not start.
    #[error(transparent)]
    Panel(#[from] warren_panel::Error),
    /// The board could not be opened or driven.
    #[error("board: {0}")]
    Board(#[from] warren_board::BoardError),
    /// A request the daemon will not carry out as asked: why, as a type.
    #[error(transparent)]
    Refused(#[from] Refusal),
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

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A request the daemon understood and will not carry out, worded for the
/// person who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// A board request to a node without board support.
    #[error("this node drives no board ([board] kind = \"none\")")]
    NoBoard,
    /// Pressing a real board's button, or setting its sensors, from
    /// software.
    #[error("this box has a real {0} board: use its button and sensors")]
    RealBoard(String),
    /// A simulated press while one is held.
    #[error("the button is already being pressed")]
    AlreadyPressing,
    /// The board actor is stopping.
    #[error("the node is stopping")]
    Stopping,
    /// A store command while the node runs (the store is the node's then).
    #[error("the node is running: stop it first (`warren stop`), then {0}")]
    NodeRunning(String),
    /// A relay request on a transport that cannot relay: why.
    #[error("this node cannot relay: {0}")]
    NoRelay(String),
    /// Another node's relay claim does not hold, or could not be had.
    #[error("relay claim: {0}")]
    Claim(String),
    /// The configuration file could not take a change.
    #[error("the configuration file: {0}")]
    Config(String),
}
