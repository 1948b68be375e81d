//! A private Tor network on 127.0.0.1, built from Debian's `tor`, for
//! Warren's tests and benchmarks. Never touches the live Tor network.
//!
//! [`up`] creates three directory authorities and five relays (two of them
//! exits), with keys generated on the spot and ports chosen free, starts
//! them, waits until the consensus lists every relay as an HSDir, and writes
//! `DIR/tor-network.toml` ([`NetworkFile`]): what a client needs to join.
//! [`down`] stops exactly the processes `up` started. [`shared`] gives a test
//! binary one network, started on first use and torn down when the test
//! process exits, however it exits. [`CTor`] runs a C tor client (control
//! port, SOCKS port, cookie auth) on such a network; [`circuit`] drives one
//! to build circuits along chosen relays and pull data over them. [`web`]
//! is a plain HTTP client for reaching nodes' web panels in the same tests.
//!
//! Settings that matter on loopback (`torrc.rs`) come from measurements on
//! this kind of machine: testing-network voting every 20 s, HSDir and Guard
//! flags voted for every relay and Exit for the exits (a relay that joins
//! later as a middle relay shows as one), circuit-build timeouts disabled,
//! relays on one IP allowed in one path.

// This crate starts and waits for real tor processes: real time is the point.
#![allow(clippy::disallowed_methods)]

pub mod circuit;
mod ctor;
mod file;
mod fixture;
mod keys;
mod net;
mod ports;
mod procs;
mod torrc;
pub mod web;

pub use ctor::CTor;
pub use file::{AuthorityEntry, NETWORK_FILE, NetworkFile, RelayEntry};
pub use fixture::{Shared, shared};
pub use net::{Options, down, up};

/// What can go wrong building or running a network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A tool (`tor`, `tor-gencert`) is missing or failed.
    #[error("{0}")]
    Tool(String),
    /// The network did not become ready in time.
    #[error("the network was not ready after {secs} s: {detail}")]
    NotReady {
        /// How long we waited.
        secs: u64,
        /// What was still missing.
        detail: String,
    },
    /// `tor-network.toml` is unreadable.
    #[error("network file: {0}")]
    File(String),
}

impl Error {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
