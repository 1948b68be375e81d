//! Content: manifests, content ids, swarms, tickets, piece arithmetic.
//!
//! A share's bytes are the concatenation of its files in manifest order,
//! cut into pieces of `piece_size` (the last may be shorter). Each piece is
//! named by its SHA-256; the piece table (all piece hashes in order) hashes
//! to `pieces_root`; the manifest carries `pieces_root`, and the content id
//! is the hash of the manifest. So the id verifies the manifest, the
//! manifest verifies the piece table, and the table verifies every piece on
//! its own.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bytes::{BoundedBytes, BoundedString, BoundedVec, Bytes64};
use crate::codec::{decode_exact, encode};
use crate::{Error, Keypair, NodeId, Result};

/// Smallest piece size.
pub const MIN_PIECE_SIZE: u32 = 16 * 1024;
/// Largest piece size.
pub const MAX_PIECE_SIZE: u32 = 16 * 1024 * 1024;
/// Most pieces in one share (8 MiB of piece table).
pub const MAX_PIECES: u64 = 1 << 18;
/// Most files in one share.
pub const MAX_FILES: usize = 8192;
/// Longest relative path, bytes.
pub const MAX_PATH: usize = 1024;
/// Longest path component, bytes.
pub const MAX_COMPONENT: usize = 255;
/// Longest encoded manifest.
pub const MAX_MANIFEST: usize = 1024 * 1024;
/// Longest sealed listing.
pub const MAX_SEALED: usize = MAX_MANIFEST - 1024;

macro_rules! id32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// Lower-case base32 (52 characters).
            pub fn to_base32(&self) -> String {
                data_encoding::BASE32_NOPAD.encode(&self.0).to_ascii_lowercase()
            }

            /// Parses 52 base32 characters (any case).
            pub fn from_base32(s: &str) -> Result<Self> {
                let raw = data_encoding::BASE32_NOPAD
                    .decode(s.to_ascii_uppercase().as_bytes())
                    .map_err(|_| Error::Link("not base32"))?;
                Ok($name(raw.try_into().map_err(|_| Error::Link("wrong length"))?))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}…)", stringify!($name), &self.to_base32()[..10])
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_base32())
            }
        }
    };
}

id32! {
    /// The id of a manifest: `SHA-256("warren/content/v1\0" ‖ postcard(manifest))`.
    ContentId
}
id32! {
    /// What a transfer asks for. For public content it is the content id;
    /// for a private share it is `SHA-256("warren/swarm/v1\0" ‖ token)`,
    /// which only holders of the link can compute.
    SwarmId
}

/// A private share's capability: 128 random bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Token(pub [u8; 16]);

impl Token {
    /// Lower-case base32 (26 characters).
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD
            .encode(&self.0)
            .to_ascii_lowercase()
    }

    /// Parses 26 base32 characters (any case).
    pub fn from_base32(s: &str) -> Result<Self> {
        let raw = data_encoding::BASE32_NOPAD
            .decode(s.to_ascii_uppercase().as_bytes())
            .map_err(|_| Error::Link("token is not base32"))?;
        Ok(Token(
            raw.try_into()
                .map_err(|_| Error::Link("token is not 128 bits"))?,
        ))
    }

    /// The swarm of the share this token opens.
    pub fn swarm(&self) -> SwarmId {
        let mut h = Sha256::new();
        h.update(b"warren/swarm/v1\0");
        h.update(self.0);
        SwarmId(h.finalize().into())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(…)")
    }
}

impl From<ContentId> for SwarmId {
    fn from(c: ContentId) -> SwarmId {
        SwarmId(c.0)
    }
}

/// Unicode's `Bidi_Control` characters (UAX #9 §2: the embeddings,
/// overrides, isolates and marks). In a file name they make
/// `invoice\u{202e}fdp.exe` read as `invoiceexe.pdf`; names keep them on
/// the wire (they are the publisher's bytes, and hashed), but every place
/// that shows a name or writes it to disk uses [`unspoofed`]
/// (CVE-2021-42574's advice).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with each [`is_bidi_control`] character replaced by U+FFFD.
pub fn unspoofed(text: &str) -> String {
    text.chars()
        .map(|c| if is_bidi_control(c) { '\u{fffd}' } else { c })
        .collect()
}

/// A safe relative path inside a share: `/`-separated components, none
/// empty, `.` or `..`, no NUL, control characters or backslashes; at most
/// 1024 bytes, components at most 255.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "BoundedString<MAX_PATH>", into = "BoundedString<MAX_PATH>")]
pub struct RelPath(String);

impl RelPath {
    /// Checks `s`.
    pub fn new(s: &str) -> Result<RelPath> {
        let unsafe_path = |why| Error::UnsafePath {
            path: s.chars().take(200).collect(),
            why,
        };
        if s.is_empty() {
            return Err(unsafe_path("empty"));
        }
        if s.len() > MAX_PATH {
            return Err(unsafe_path("longer than 1024 bytes"));
        }
        if s.starts_with('/') {
            return Err(unsafe_path("absolute"));
        }
        for c in s.split('/') {
            match c {
                "" => return Err(unsafe_path("empty component")),
                "." | ".." => return Err(unsafe_path("`.` or `..` component")),
                _ if c.len() > MAX_COMPONENT => {
                    return Err(unsafe_path("component longer than 255 bytes"));
                }
                _ if c
                    .chars()
                    .any(|ch| ch == '\0' || ch == '\\' || ch.is_control()) =>
                {
                    return Err(unsafe_path("NUL, backslash or control character"));
                }
                _ => {}
            }
        }
        Ok(RelPath(s.to_string()))
    }

    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Debug for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<BoundedString<MAX_PATH>> for RelPath {
    type Error = Error;
    fn try_from(s: BoundedString<MAX_PATH>) -> Result<RelPath> {
        RelPath::new(s.as_str())
    }
}

impl From<RelPath> for BoundedString<MAX_PATH> {
    fn from(p: RelPath) -> Self {
        // A RelPath is at most MAX_PATH bytes by construction.
        BoundedString::new(p.0).unwrap_or_default()
    }
}

/// One file of a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Where it goes, relative to the share's folder.
    pub path: RelPath,
    /// Its length in bytes.
    pub size: u64,
}

/// What a share contains, in words and file names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// Display name (the file's or folder's name).
    pub name: BoundedString<255>,
    /// The files, sorted by path (byte order), in content order.
    pub files: BoundedVec<FileEntry, MAX_FILES>,
    /// Optional description.
    pub description: Option<BoundedString<1024>>,
    /// Tags (at most 16, each at most 32 bytes).
    pub tags: BoundedVec<BoundedString<32>, 16>,
    /// When the share was made (unix seconds).
    pub created_at: u64,
}

/// The listing, readable or sealed. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Meta {
    /// Readable by anyone holding the manifest.
    Plain(Listing),
    /// Encrypted to the key in the share's link (see [`crate::seal`]): boxes can
    /// store and serve the content without reading it.
    Sealed(BoundedBytes<MAX_SEALED>),
}

/// Everything needed to fetch and check a share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Piece size: a power of two, 16 KiB ..= 16 MiB.
    pub piece_size: u32,
    /// Total length of the content in bytes.
    pub total_size: u64,
    /// `SHA-256("warren/pieces/v1\0" ‖ h_0 ‖ … ‖ h_{n-1})` over the piece hashes.
    pub pieces_root: [u8; 32],
    /// Names and sizes.
    pub meta: Meta,
}

/// Number of pieces for `total` bytes in pieces of `piece_size`.
pub fn piece_count(total: u64, piece_size: u32) -> u64 {
    total.div_ceil(u64::from(piece_size.max(1)))
}

/// The root over a piece table.
pub fn pieces_root(hashes: &[[u8; 32]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"warren/pieces/v1\0");
    for p in hashes {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA-256 of a piece's bytes.
pub fn piece_hash(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// [`piece_hash`] computed as a piece's bytes arrive, in order: feeding
/// every byte of a piece through [`PieceHasher::update`] and then calling
/// [`PieceHasher::finish`] gives exactly `piece_hash` of the whole piece.
#[derive(Debug, Clone, Default)]
pub struct PieceHasher(Sha256);

impl PieceHasher {
    /// A hasher that has seen nothing yet.
    pub fn new() -> PieceHasher {
        PieceHasher(Sha256::new())
    }

    /// The next bytes of the piece.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The piece's hash.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl Manifest {
    /// Number of pieces.
    pub fn piece_count(&self) -> u64 {
        piece_count(self.total_size, self.piece_size)
    }

    /// Length of piece `i` (the last may be short); 0 past the end.
    pub fn piece_len(&self, i: u64) -> u64 {
        let start = i.saturating_mul(u64::from(self.piece_size));
        self.total_size
            .saturating_sub(start)
            .min(u64::from(self.piece_size))
    }

    /// The content id.
    pub fn id(&self) -> ContentId {
        id_of_encoding(&encode(self))
    }

    /// The canonical encoding (what `GetManifest` transfers).
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes and checks an encoded manifest.
    pub fn decode(bytes: &[u8]) -> Result<Manifest> {
        if bytes.len() > MAX_MANIFEST {
            return Err(Error::TooLong {
                what: "manifest",
                max: MAX_MANIFEST,
            });
        }
        let m: Manifest = decode_exact(bytes)?;
        m.check()?;
        Ok(m)
    }

    /// Checks sizes and, for plain listings, the file list.
    pub fn check(&self) -> Result<()> {
        let bad = |why| Err(Error::Manifest(why));
        if !self.piece_size.is_power_of_two()
            || !(MIN_PIECE_SIZE..=MAX_PIECE_SIZE).contains(&self.piece_size)
        {
            return bad("piece size is not a power of two in 16 KiB ..= 16 MiB");
        }
        if self.piece_count() > MAX_PIECES {
            return bad("more than 262144 pieces");
        }
        if let Meta::Plain(l) = &self.meta {
            l.check(self.total_size)?;
        }
        Ok(())
    }

    /// The piece table is the one this manifest commits to.
    pub fn check_piece_table(&self, hashes: &[[u8; 32]]) -> Result<()> {
        if hashes.len() as u64 != self.piece_count() || pieces_root(hashes) != self.pieces_root {
            return Err(Error::HashMismatch("piece table"));
        }
        Ok(())
    }
}

/// The content id of an encoded manifest.
pub fn id_of_encoding(bytes: &[u8]) -> ContentId {
    let mut h = Sha256::new();
    h.update(b"warren/content/v1\0");
    h.update(bytes);
    ContentId(h.finalize().into())
}

impl Listing {
    /// Checks the file list against `total` bytes: sorted, no duplicates, no
    /// file inside another file's path, sizes adding up.
    pub fn check(&self, total: u64) -> Result<()> {
        let files = self.files.as_slice();
        if files.is_empty() {
            return Err(Error::Manifest("no files"));
        }
        let mut sum: u64 = 0;
        for f in files {
            sum = sum
                .checked_add(f.size)
                .ok_or(Error::Manifest("sizes overflow"))?;
        }
        if sum != total {
            return Err(Error::Manifest("file sizes do not add up to the total"));
        }
        for w in files.windows(2) {
            let (a, b) = (w[0].path.as_str(), w[1].path.as_str());
            if a >= b {
                return Err(Error::Manifest("files not sorted, or a duplicate name"));
            }
            if b.strip_prefix(a).is_some_and(|rest| rest.starts_with('/')) {
                return Err(Error::Manifest("a file is also used as a folder"));
            }
        }
        Ok(())
    }

    /// The byte range of each file in the content.
    pub fn spans(&self) -> Vec<(u64, u64)> {
        let mut at = 0;
        self.files
            .as_slice()
            .iter()
            .map(|f| {
                let s = (at, f.size);
                at += f.size;
                s
            })
            .collect()
    }
}

/// A publisher's statement that a private swarm is this content:
/// `signature` by `signer` over `"warren/ticket/v1\0" ‖ swarm ‖ content`.
/// The signer is the key named in the share's link (the node, or the
/// share's own onion key), so any provider can hand the ticket over and a
/// downloader can check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    /// The key that signed.
    pub signer: NodeId,
    /// The private swarm.
    pub swarm: SwarmId,
    /// The content it carries.
    pub content: ContentId,
    /// The signature.
    pub signature: Bytes64,
}

fn ticket_message(swarm: &SwarmId, content: &ContentId) -> Vec<u8> {
    let mut m = b"warren/ticket/v1\0".to_vec();
    m.extend_from_slice(&swarm.0);
    m.extend_from_slice(&content.0);
    m
}

impl Ticket {
    /// Signs a ticket.
    pub fn sign(keypair: &Keypair, swarm: SwarmId, content: ContentId) -> Ticket {
        let signature = keypair.sign(&ticket_message(&swarm, &content));
        Ticket {
            signer: keypair.id(),
            swarm,
            content,
            signature,
        }
    }

    /// Checks the ticket was signed by `expected` for `swarm`.
    pub fn verify(&self, expected: &NodeId, swarm: &SwarmId) -> Result<ContentId> {
        if self.signer != *expected || self.swarm != *swarm {
            return Err(Error::Unexpected("ticket for another swarm or signer"));
        }
        self.signer
            .verify(&ticket_message(&self.swarm, &self.content), &self.signature)?;
        Ok(self.content)
    }
}
