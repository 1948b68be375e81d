//! The control socket's requests and responses: one JSON request per
//! line, one JSON response per line (the protocol is described in the
//! daemon's `control` module); the panel's JSON API takes the same.

use serde::{Deserialize, Serialize};

/// File name of the socket inside the data directory.
pub const SOCKET_NAME: &str = "control.sock";
/// Longest request line accepted, bytes.
pub const MAX_REQUEST: u64 = 64 * 1024;
/// Longest response line accepted by the client, bytes.
pub const MAX_RESPONSE: u64 = 16 * 1024 * 1024;

/// A request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
    /// Share a file or folder (hashing progress as events).
    Share {
        /// Absolute path on the node's machine.
        path: String,
        /// How.
        #[serde(flatten)]
        options: warren_files::ShareOptions,
    },
    /// Every share.
    Shares,
    /// Make a share public (token, link or content id).
    Publish {
        /// Which share.
        id: String,
    },
    /// Stop sharing (token, link or content id).
    Unshare {
        /// Which share.
        id: String,
    },
    /// Download a link into a folder (progress as events while `wait`).
    Get {
        /// The link.
        link: String,
        /// Absolute path of the folder to download into.
        out: String,
        /// Stream progress until the download ends.
        #[serde(default)]
        wait: bool,
    },
    /// Every download.
    Downloads,
    /// Check a share's or a download's files against its piece table
    /// (token, link or content id; progress as events). A download that
    /// lacks pieces afterwards fetches them again.
    Recheck {
        /// Which share or download.
        id: String,
    },
    /// Pause a download (by its link).
    Pause {
        /// The link.
        link: String,
    },
    /// Stop and forget a download (its files stay where they are).
    Forget {
        /// The link.
        link: String,
    },
    /// The catalogue of public shares.
    Catalogue,
    /// Keep a copy of a link's content for others (without its key).
    Mirror {
        /// The link.
        link: String,
    },
    /// The mirrors and the seeding quota.
    Mirrors,
    /// Stop keeping a mirror (swarm, content id or link).
    Unmirror {
        /// Which mirror.
        id: String,
    },
    /// Ask the connected trusted boxes to mirror a share (token, link or
    /// content id); the answer lists the boxes asked.
    AskMirror {
        /// Which share.
        id: String,
    },
    /// Press the simulated board's button; answered once it is released
    /// (refused on a real board).
    BoardPress {
        /// `short` or `long`.
        press: crate::status::Press,
    },
    /// Set the simulated board's sensors (refused on a real board).
    BoardSensors {
        /// SoC temperature, °C.
        #[serde(default)]
        temperature_c: Option<f32>,
        /// Whether the supply voltage is too low.
        #[serde(default)]
        under_voltage: Option<bool>,
    },
    /// Write to a member (by peer address, or onion address of a node
    /// already known); answered once the message is kept.
    Send {
        /// The member's peer address (or onion address).
        to: String,
        /// The text (at most 32 KiB).
        text: String,
    },
    /// The conversations, the latest first.
    Conversations,
    /// The thread with a member (by address), oldest first; marks it read.
    Messages {
        /// The member.
        with: String,
        /// At most this many of the last messages (default 200).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Box: the mailboxes it holds.
    Mailboxes,
    /// Turn the relay on (kept in the configuration file); answered with
    /// the relay's status once tor has been told.
    RelayOn,
    /// Turn the relay off (kept in the configuration file); the node's
    /// onion service keeps working.
    RelayOff,
    /// The relay: on or off, reachability, flags, bytes relayed, the
    /// month's allowance.
    RelayStatus,
    /// Ask a node for its relay claim and check it against this node's
    /// consensus.
    RelayCheck {
        /// The node's peer address, as its `status` prints it.
        address: String,
    },
    /// Stop the node.
    Shutdown,
}

/// A response: `ok` with a `result`, or an `error` in words. Before it,
/// long requests send lines with only `event`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    /// Progress of long work (then `ok` is absent or false and the line is
    /// not the end of the answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<serde_json::Value>,
    /// Whether the request succeeded (absent on event lines).
    #[serde(default)]
    pub ok: bool,
    /// The answer, when `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    /// What went wrong, when not `ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
