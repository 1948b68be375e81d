//! Why the panel cannot start or an owner's secret cannot be kept.

/// Everything that can stop the panel's own work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PanelError {
    /// The store holding the owner's secrets failed.
    #[error(transparent)]
    Peers(#[from] warren_peers::Error),
    /// An I/O error, with what was being done.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The passphrase could not be hashed.
    #[error("hashing the passphrase: {0}")]
    Passphrase(#[source] argon2::password_hash::Error),
    /// The system gave no randomness.
    #[error("no randomness: {0}")]
    Random(#[from] getrandom::Error),
}

impl PanelError {
    /// Wraps an I/O error with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> PanelError {
        let what = what.into();
        move |source| PanelError::Io { what, source }
    }
}

/// The panel's result type.
pub type Result<T, E = PanelError> = std::result::Result<T, E>;
