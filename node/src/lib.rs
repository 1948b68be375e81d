#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod config;
pub mod control;
pub mod device;
mod error;
pub mod files;
pub(crate) mod gateway;
pub mod identity;
pub mod logging;
pub mod node;
pub mod panel;
pub mod store;

pub use error::{Error, Result};
// The layer below, under the names the daemon has always used.
pub use warren_net::{clock, conn, fair, metrics, tor, transport, web};
