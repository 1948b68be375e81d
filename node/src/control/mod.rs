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
mod dispatch;
mod files;
mod server;

pub use client::{request, request_events};
pub use dispatch::dispatch;
pub use server::ControlServer;
pub use warren_api::answers;
pub use warren_api::control::{MAX_REQUEST, MAX_RESPONSE, Request, Response, SOCKET_NAME};
