//! Node identity: an ed25519 key whose v3 onion address is the node's name.
//!
//! The onion address is `base32(pubkey ‖ checksum ‖ version)` with
//! `checksum = SHA3-256(".onion checksum" ‖ pubkey ‖ version)[..2]` and
//! `version = 0x03`, exactly as Tor's rend-spec-v3 defines it. Anyone who
//! knows the address knows the key, so anything the key signs can be checked
//! offline.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha3::{Digest, Sha3_256};

use crate::bytes::Bytes64;
use crate::{Error, Result};

/// Length of the base32 part of a v3 onion address.
const ONION_BASE32_LEN: usize = 56;
const ONION_VERSION: u8 = 0x03;
const ONION_CHECKSUM_PREFIX: &[u8] = b".onion checksum";

/// A node's identity: a validated ed25519 public key.
///
/// On the wire: the 32 key bytes, raw. Decoding rejects bytes that are not a
/// point on the curve. Displayed as its onion address (`<56 chars>.onion`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId([u8; 32]);

impl NodeId {
    /// Accepts 32 bytes if they are a valid ed25519 public key.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self> {
        VerifyingKey::from_bytes(&bytes).map_err(|_| Error::InvalidKey)?;
        Ok(NodeId(bytes))
    }

    /// The raw key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 56-character base32 name, without `.onion`.
    pub fn onion_name(&self) -> String {
        let mut raw = [0u8; 35];
        raw[..32].copy_from_slice(&self.0);
        raw[32..34].copy_from_slice(&onion_checksum(&self.0));
        raw[34] = ONION_VERSION;
        data_encoding::BASE32_NOPAD
            .encode(&raw)
            .to_ascii_lowercase()
    }

    /// A short prefix of the onion name, for logs.
    pub fn short(&self) -> String {
        let mut s = self.onion_name();
        s.truncate(8);
        s
    }

    /// Parses `<56 chars>` or `<56 chars>.onion`, case-insensitively,
    /// checking version and checksum.
    pub fn from_onion(s: &str) -> Result<Self> {
        let name = s.strip_suffix(".onion").unwrap_or(s);
        if name.len() != ONION_BASE32_LEN {
            return Err(Error::OnionAddress("expected 56 base32 characters"));
        }
        let upper = name.to_ascii_uppercase();
        let raw = data_encoding::BASE32_NOPAD
            .decode(upper.as_bytes())
            .map_err(|_| Error::OnionAddress("not base32"))?;
        // 56 base32 characters always decode to 35 bytes.
        let raw: [u8; 35] = raw
            .try_into()
            .map_err(|_| Error::OnionAddress("wrong decoded length"))?;
        if raw[34] != ONION_VERSION {
            return Err(Error::OnionAddress("not a version 3 address"));
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&raw[..32]);
        if raw[32..34] != onion_checksum(&key) {
            return Err(Error::OnionAddress("checksum mismatch"));
        }
        NodeId::from_bytes(key)
    }

    /// Verifies `signature` over `message` with this key (strict verification:
    /// weak keys and malleable signatures are refused).
    pub fn verify(&self, message: &[u8], signature: &Bytes64) -> Result<()> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| Error::InvalidKey)?;
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify_strict(message, &sig)
            .map_err(|_| Error::BadSignature)
    }
}

fn onion_checksum(key: &[u8; 32]) -> [u8; 2] {
    let mut h = Sha3_256::new();
    h.update(ONION_CHECKSUM_PREFIX);
    h.update(key);
    h.update([ONION_VERSION]);
    let d = h.finalize();
    [d[0], d[1]]
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.onion", self.onion_name())
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.short())
    }
}

impl FromStr for NodeId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        NodeId::from_onion(s)
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let bytes = <[u8; 32]>::deserialize(d)?;
        NodeId::from_bytes(bytes).map_err(|_| serde::de::Error::custom("invalid ed25519 key"))
    }
}

/// A node's secret key together with its public identity.
///
/// The secret is the 32-byte ed25519 seed; it is zeroed on drop.
pub struct Keypair {
    signing: SigningKey,
    id: NodeId,
}

impl Keypair {
    /// Builds the keypair from a 32-byte secret seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let id = NodeId(signing.verifying_key().to_bytes());
        Keypair { signing, id }
    }

    /// The secret seed, for storing the identity.
    pub fn seed(&self) -> &[u8; 32] {
        self.signing.as_bytes()
    }

    /// The public identity.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Bytes64 {
        Bytes64(self.signing.sign(message).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({:?}, secret hidden)", self.id)
    }
}
