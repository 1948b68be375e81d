//! Warren's peer layer: who this node is, what it keeps, whom it knows.
//!
//! - [`identity`]: the node's key and proof of work;
//! - [`store`]: the redb database, its batched writer, its checks and its
//!   kept copy (`warren.keep`);
//! - the node task ([`Node`], [`NodeHandle`]): the peer table, discovery
//!   (bootstrap, peer exchange, redial with backoff), trust and bans;
//! - [`config`]: the sections it is configured by.
//!
//! It depends on `warren-net` (connections, transports) and
//! `warren-proto`; the services above it (files, the panel) and the daemon
//! reach it through [`NodeHandle`], and it reaches them only through the
//! router and the tracker inbox they hand it ([`NodeOptions::tracker`]:
//! the tracker channel's messages, as [`PeerMessage`]s).

#![forbid(unsafe_code)]

pub mod config;
mod error;
pub mod identity;
mod node;
pub mod store;

pub use error::{Error, Result};
pub use node::{
    ConnectedPeer, NoExtras, Node, NodeHandle, NodeOptions, PeerInfo, PeerMessage, PeerMetrics,
    SeedStatus, Status, TrustInfo, trust,
};

use warren_net::{clock, conn, metrics, tor, transport};
