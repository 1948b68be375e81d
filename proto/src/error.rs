//! The one error type of this crate.

/// Everything that can be wrong with bytes or values handed to this crate.
///
/// Every variant is the result of bad input (from the network, a user or a
/// file), never of a bug in this crate. Callers branch on the variant to
/// decide what to count and whether to close a connection; [`Error::label`]
/// gives a stable short name for counters and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes did not decode as the expected message (postcard error text).
    #[error("malformed message: {0}")]
    Decode(&'static str),
    /// A message decoded but left bytes over.
    #[error("{0} trailing bytes after message")]
    TrailingBytes(usize),
    /// A message is larger than the limit for its channel.
    #[error("frame of {len} bytes exceeds the {max}-byte limit of its channel")]
    FrameTooLarge {
        /// Declared payload length.
        len: u32,
        /// Limit for this channel.
        max: u32,
    },
    /// A message is larger than its type's bound.
    #[error("a {what} of {len} bytes exceeds its {max}-byte bound")]
    MessageTooLarge {
        /// What it is.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// A frame names a channel this protocol version does not define.
    #[error("unknown channel {0}")]
    UnknownChannel(u16),
    /// A frame names a priority outside the defined ones.
    #[error("unknown priority {0}")]
    UnknownPriority(u8),
    /// Reserved header bits were set.
    #[error("reserved frame flags set: {0:#04x}")]
    ReservedFlags(u8),
    /// A message was sent on a channel where it does not belong, or out of order.
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
    /// 32 bytes that are not a valid ed25519 public key.
    #[error("invalid ed25519 public key")]
    InvalidKey,
    /// An onion address that does not parse.
    #[error("invalid onion address: {0}")]
    OnionAddress(&'static str),
    /// A peer address (the text form users type) that does not parse.
    #[error("invalid peer address: {0}")]
    PeerAddress(&'static str),
    /// A signature that does not verify under the claimed key.
    #[error("bad signature")]
    BadSignature,
    /// Proof of work below the community's difficulty.
    #[error("insufficient proof of work: {actual} leading zero bits, {required} required")]
    InsufficientWork {
        /// Bits the community requires.
        required: u8,
        /// Bits the record has.
        actual: u8,
    },
    /// A record whose expiry has passed.
    #[error("record expired at {expires_at} (now {now})")]
    Expired {
        /// When the record expired (unix seconds).
        expires_at: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// A record issued further in the future than the allowed clock skew.
    #[error("record issued at {issued_at}, in the future (now {now})")]
    FutureDated {
        /// When the record claims to be issued (unix seconds).
        issued_at: u64,
        /// The verifier's clock.
        now: u64,
    },
    /// A record whose validity window is empty or longer than allowed.
    #[error("record validity of {secs} s is outside 1..={max} s")]
    BadValidity {
        /// Length of the validity window.
        secs: u64,
        /// Allowed maximum.
        max: u64,
    },
    /// A record that is not newer than one already held for the same node.
    #[error("record is not newer than the one held (issued {issued_at}, held {held})")]
    Stale {
        /// Issue time of the offered record.
        issued_at: u64,
        /// Issue time of the held record.
        held: u64,
    },
    /// The handshake's magic bytes are not Warren's.
    #[error("not a Warren handshake (bad magic)")]
    BadMagic,
    /// No protocol version in common with the peer.
    #[error("no protocol version in common (peer offers {0:?})")]
    UnsupportedVersion(heapless::Vec<u16, 8>),
    /// The node reached is not the one dialed.
    #[error("dialed {expected} but reached {actual}")]
    WrongPeer {
        /// The address that was dialed.
        expected: crate::NodeId,
        /// The key that answered.
        actual: crate::NodeId,
    },
    /// A node dialed itself.
    #[error("connected to ourselves")]
    SelfConnection,
    /// The peer refused the handshake.
    #[error("peer rejected the handshake: {0:?}")]
    Rejected(crate::handshake::RejectReason),
    /// Proof-of-work difficulty outside 0..=64.
    #[error("difficulty {0} is outside 0..=64 bits")]
    BadDifficulty(u8),
    /// A value longer than its bound.
    #[error("{what} longer than {max} bytes")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// The bound.
        max: usize,
    },
    /// A manifest that breaks the rules (paths, sizes, limits).
    #[error("invalid manifest: {0}")]
    Manifest(&'static str),
    /// A path inside a share that is not a safe relative path.
    #[error("unsafe path {path:?}: {why}")]
    UnsafePath {
        /// The path as given (truncated to 200 bytes).
        path: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A link or URL that does not parse.
    #[error("invalid link: {0}")]
    Link(&'static str),
    /// Data that does not match the hash it must have.
    #[error("{0} does not match its hash")]
    HashMismatch(&'static str),
    /// Sealed data that does not open with the key given.
    #[error("cannot open sealed data: wrong key or damaged")]
    SealBroken,
    /// A service name outside the rules of [`crate::service::ServiceName`].
    #[error("invalid service name: {0}")]
    ServiceName(&'static str),
}

impl Error {
    /// A short, stable name for counters and structured logs.
    pub fn label(&self) -> &'static str {
        match self {
            Error::Decode(_) => "decode",
            Error::TrailingBytes(_) => "trailing_bytes",
            Error::FrameTooLarge { .. } => "frame_too_large",
            Error::MessageTooLarge { .. } => "message_too_large",
            Error::UnknownChannel(_) => "unknown_channel",
            Error::UnknownPriority(_) => "unknown_priority",
            Error::ReservedFlags(_) => "reserved_flags",
            Error::Unexpected(_) => "unexpected_message",
            Error::InvalidKey => "invalid_key",
            Error::OnionAddress(_) => "onion_address",
            Error::PeerAddress(_) => "peer_address",
            Error::BadSignature => "bad_signature",
            Error::InsufficientWork { .. } => "insufficient_work",
            Error::Expired { .. } => "expired",
            Error::FutureDated { .. } => "future_dated",
            Error::BadValidity { .. } => "bad_validity",
            Error::Stale { .. } => "stale",
            Error::BadMagic => "bad_magic",
            Error::UnsupportedVersion(_) => "unsupported_version",
            Error::WrongPeer { .. } => "wrong_peer",
            Error::SelfConnection => "self_connection",
            Error::Rejected(_) => "rejected",
            Error::BadDifficulty(_) => "bad_difficulty",
            Error::TooLong { .. } => "too_long",
            Error::Manifest(_) => "bad_manifest",
            Error::UnsafePath { .. } => "unsafe_path",
            Error::Link(_) => "bad_link",
            Error::HashMismatch(_) => "hash_mismatch",
            Error::SealBroken => "seal_broken",
            Error::ServiceName(_) => "service_name",
        }
    }
}

impl From<postcard::Error> for Error {
    fn from(e: postcard::Error) -> Self {
        use postcard::Error as P;
        Error::Decode(match e {
            P::DeserializeUnexpectedEnd => "truncated",
            P::DeserializeBadVarint => "bad varint",
            P::DeserializeBadBool => "bad bool",
            P::DeserializeBadChar => "bad char",
            P::DeserializeBadUtf8 => "bad utf-8",
            P::DeserializeBadOption => "bad option tag",
            P::DeserializeBadEnum => "unknown enum variant",
            P::DeserializeBadEncoding => "bad encoding",
            P::DeserializeBadCrc => "bad crc",
            P::SerdeDeCustom => "invalid value",
            _ => "invalid encoding",
        })
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
