#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod board;
pub mod config;
pub mod control;
pub mod daemon;
mod error;
pub mod logging;
pub mod panel;

pub use error::{Error, Result};
// The layer below, under the names the daemon has always used.
pub use warren_files as files;
pub use warren_files::gateway;
pub use warren_net::{clock, conn, fair, metrics, tor, transport, web};
pub use warren_peers::{identity, store};
