//! The control socket: how the `warren` command talks to a running node.
//!
//! A Unix socket at `DATA_DIR/control.sock`, mode 0600 (only the node's
//! user). One JSON request per line, one JSON response per line:
//!
//! ```text
//! → {"cmd":"status"}
//! ← {"ok":true,"result":{...}}
//! → {"cmd":"trust_add","address":"<onion>.onion@127.0.0.1:7447"}
//! ← {"ok":false,"error":"invalid peer address: ..."}
//! ```

mod client;
mod server;

use serde::{Deserialize, Serialize};

pub use client::request;
pub use server::ControlServer;

/// File name of the socket inside the data directory.
pub const SOCKET_NAME: &str = "control.sock";
/// Longest request line accepted, bytes.
pub const MAX_REQUEST: u64 = 64 * 1024;
/// Longest response line accepted by the client, bytes.
pub const MAX_RESPONSE: u64 = 16 * 1024 * 1024;

/// A request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// The node at a glance.
    Status,
    /// Every known node.
    Peers,
    /// Trust a node (by peer address).
    TrustAdd {
        /// A peer address, as `status` prints it.
        address: String,
    },
    /// Stop trusting a node (by onion address or peer address).
    TrustRemove {
        /// Onion address or peer address.
        id: String,
    },
    /// The trusted nodes.
    TrustList,
    /// Relaunch the onion service (new descriptor, new introduction points).
    Relaunch,
    /// Stop the node.
    Shutdown,
}

/// A response: `ok` with a `result`, or an `error` in words.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// The answer, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// What went wrong, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
