#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod conn;
pub mod control;
pub mod device;
mod error;
pub(crate) mod fair;
pub mod files;
pub(crate) mod gateway;
pub mod identity;
pub mod logging;
pub mod metrics;
pub mod node;
pub mod panel;
pub mod store;
pub mod tor;
pub mod transport;
pub(crate) mod web;

pub use error::{Error, Result};
