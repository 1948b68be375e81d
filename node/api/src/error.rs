//! Why a configuration is refused.

use std::path::PathBuf;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file cannot be read or parsed, or a value in it is refused.
    #[error("config {path}: {reason}")]
    File {
        /// The file (or what stood for it).
        path: PathBuf,
        /// What is wrong, in words.
        reason: String,
    },
    /// A value is out of range or makes no sense with another.
    #[error("config: {0}")]
    Value(String),
    /// The peer layer refused its sections for a reason other than a value.
    #[error(transparent)]
    Peers(#[from] warren_peers::Error),
}
