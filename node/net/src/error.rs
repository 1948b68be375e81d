//! This crate's errors.

use std::path::PathBuf;

/// What went wrong below the services.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file naming a Tor network (or another configuration file this
    /// layer reads) is unreadable or invalid.
    #[error("config {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// A configuration value is out of range or malformed.
    #[error("config: {0}")]
    ConfigValue(String),
    /// An I/O error, with what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A transport failed.
    #[error("transport: {0}")]
    Transport(#[from] crate::transport::TransportError),
    /// The system's random number source failed.
    #[error("no randomness: {0}")]
    Random(#[source] getrandom::Error),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// This crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
