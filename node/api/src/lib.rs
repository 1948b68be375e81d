//! Warren's typed surface for the owner's tools (the `warren` command, the
//! panel): what they read and send, with no behaviour of the node's.
//!
//! - [`config`]: the configuration file, every section with its defaults
//!   and memory profiles;
//! - [`control`] and [`answers`]: the control socket's requests, responses
//!   and the answer of each request (the panel's JSON API takes the same);
//! - [`Status`]: `status --json`, the peer layer's status with what the
//!   daemon's other services add ([`StatusExtras`], [`BoardStatus`]);
//! - [`relay`]: the relay as status shows it;
//! - [`logging`]: the process's log on stderr and the bounded tail the
//!   panel shows.
//!
//! It stands on `warren-peers` and `warren-files` (their sections and
//! answers) and knows neither the daemon nor the panel.

#![forbid(unsafe_code)]

pub mod answers;
pub mod config;
pub mod control;
mod error;
pub mod logging;
pub mod relay;
mod status;

pub use error::ConfigError;
pub use status::{BoardStatus, MetricsSnapshot, Press, Status, StatusExtras};

/// What every `Mutex` of this crate's `lock().expect` says: no code panics
/// while holding one of them, so a poisoned lock is a bug, and says so.
pub(crate) const HELD: &str = "a lock of warren-api is poisoned: no code panics while holding one";
