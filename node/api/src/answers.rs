//! The answer of each control request, as a type: what `result` holds in
//! `{"ok":true,"result":…}` (and what `--json` prints). Each serializes to
//! the JSON the socket has always sent (pinned by the tests below).
//!
//! | request | answer |
//! |---|---|
//! | `status` | [`crate::Status`] |
//! | `peers` | `Vec<`[`warren_peers::PeerInfo`]`>` |
//! | `trust_add` | [`warren_peers::TrustInfo`] |
//! | `trust_remove` | [`Removed`] |
//! | `trust_list` | `Vec<`[`warren_peers::TrustInfo`]`>` |
//! | `relaunch` | [`Relaunching`] |
//! | `share` | [`warren_files::ShareInfo`] |
//! | `shares` | `Vec<`[`warren_files::ShareInfo`]`>` |
//! | `publish` | [`warren_files::ShareInfo`] |
//! | `unshare`, `forget`, `unmirror`, `board_sensors` | [`Done`] |
//! | `get` | [`warren_files::DownloadStatus`] |
//! | `downloads` | `Vec<`[`warren_files::DownloadInfo`]`>` |
//! | `recheck` | [`warren_files::RecheckReport`] |
//! | `pause` | [`Paused`] |
//! | `catalogue` | `Vec<`[`CatalogueEntry`]`>` |
//! | `mirror` | [`warren_files::MirrorInfo`] |
//! | `mirrors` | [`warren_files::MirrorList`] |
//! | `ask_mirror` | [`AskedBoxes`] |
//! | `board_press` | [`crate::BoardStatus`] |
//! | `shutdown` | [`Stopping`] |

use serde::{Deserialize, Serialize};

/// Done, nothing to tell: `{}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {}

/// `trust_remove`: whether the node was trusted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Removed {
    /// It was trusted, and is no longer.
    pub removed: bool,
}

/// `relaunch`: the onion service is being launched again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relaunching {
    /// Always true.
    pub relaunching: bool,
}

/// `pause`: the download is paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    /// Always true.
    pub paused: bool,
}

/// `shutdown`: the node is stopping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stopping {
    /// Always true.
    pub stopping: bool,
}

/// `ask_mirror`: the boxes asked (their onion addresses), a JSON array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AskedBoxes(pub Vec<String>);

/// A catalogue entry as `warren catalogue --json` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// Content id (hex).
    pub content: String,
    /// The share's name.
    pub name: String,
    /// Total size, bytes.
    pub size: u64,
    /// Number of files.
    pub files: u32,
    /// What the publisher wrote about it.
    pub description: Option<String>,
    /// Its tags.
    pub tags: Vec<String>,
    /// The publisher's onion address.
    pub publisher: String,
    /// When it was published (unix seconds).
    pub published_at: u64,
    /// What `warren get` takes.
    pub link: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }

    #[test]
    fn answers_are_the_json_the_socket_always_sent() {
        assert_eq!(json(&Done {}), "{}");
        assert_eq!(json(&Removed { removed: true }), r#"{"removed":true}"#);
        assert_eq!(
            json(&Relaunching { relaunching: true }),
            r#"{"relaunching":true}"#
        );
        assert_eq!(json(&Paused { paused: true }), r#"{"paused":true}"#);
        assert_eq!(json(&Stopping { stopping: true }), r#"{"stopping":true}"#);
        assert_eq!(
            json(&AskedBoxes(vec!["a.onion".into(), "b.onion".into()])),
            r#"["a.onion","b.onion"]"#
        );
        let e = CatalogueEntry {
            content: "ab".into(),
            name: "photos".into(),
            size: 3,
            files: 2,
            description: None,
            tags: vec!["trip".into()],
            publisher: "p.onion".into(),
            published_at: 7,
            link: "warren://x".into(),
        };
        assert_eq!(
            json(&e),
            r#"{"content":"ab","name":"photos","size":3,"files":2,"description":null,"tags":["trip"],"publisher":"p.onion","published_at":7,"link":"warren://x"}"#
        );
    }
}
