//! Relay claims (SPEC.md §16): a node that runs a Tor relay proves it to
//! the peers it serves, without telling the rest of the world.
//!
//! The relay's nickname (in every Tor consensus, beside the relay's RSA
//! fingerprint) is derived from the node's id and a secret only the node
//! and the peers it gives a claim to know:
//! `base32(SHA-256("warren/relay-nickname/1\0" ‖ node ‖ secret))[..19]`
//! (lowercase, 19 characters: tor's longest nickname). The claim, signed by
//! the node's key, names the relay's fingerprint and the secret. A peer
//! checks the signature, derives the nickname and looks the fingerprint up
//! in its own consensus: only the relay's operator chooses its nickname, so
//! a claim naming someone else's relay derives a nickname the consensus
//! does not list for it (forging one means a 95-bit preimage). Without the
//! secret, the nickname says nothing about which node runs the relay.
//!
//! What it does not hide: a claim is a signature, so a node given one can
//! show it to others; and the relay runs in the same tor as the node's
//! onion service, whose uptime an observer can compare with the relay's
//! (the Tor Project advises against hosting onion services on relays).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::bytes::Bytes64;
use crate::codec::{decode_exact, encode};
use crate::{Error, Keypair, NodeId, Result};

/// The service that answers with the node's claim.
pub const SERVICE: &str = "warren/relay/1";
/// Domain separator of the signature.
const CLAIM_DOMAIN: &[u8] = b"warren/relay-claim/1\0";
/// Domain separator of the nickname's hash.
const NICKNAME_DOMAIN: &[u8] = b"warren/relay-nickname/1\0";
/// Base32 characters of the hash in a nickname: tor's longest (tor-spec:
/// 1–19 alphanumerics).
const NICKNAME_CHARS: usize = 19;
/// Longest validity window of a claim, seconds (a day: the consensus
/// changes hourly, so a claim is checked against a fresh one).
pub const MAX_CLAIM_VALIDITY: u64 = 86_400;

/// The nickname a node's relay carries (see the module's docs).
pub fn nickname(node: &NodeId, secret: &[u8; 32]) -> String {
    let mut h = Sha256::new();
    h.update(NICKNAME_DOMAIN);
    h.update(node.as_bytes());
    h.update(secret);
    let b32 = data_encoding::BASE32_NOPAD.encode(&h.finalize());
    b32[..NICKNAME_CHARS].to_ascii_lowercase()
}

/// What a node claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelayClaim {
    /// The node.
    pub node: NodeId,
    /// The relay's RSA identity fingerprint (SHA-1 of its identity key,
    /// tor-spec §1.1).
    pub fingerprint: [u8; 20],
    /// The secret its nickname is derived from.
    pub secret: [u8; 32],
    /// Issue time, unix seconds.
    pub issued_at: u64,
    /// Expiry, unix seconds (at most [`MAX_CLAIM_VALIDITY`] after issue).
    pub expires_at: u64,
}

/// A claim and the node's signature over
/// `"warren/relay-claim/1\0" ‖ postcard(claim)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedRelayClaim {
    /// The claim.
    pub claim: RelayClaim,
    /// ed25519, by `claim.node`.
    pub signature: Bytes64,
}

/// What the relay service sends, once, then closes. Append-only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelayMsg {
    /// The node's current claim.
    Claim(SignedRelayClaim),
    /// The node runs no relay now.
    NoRelay,
}

impl RelayMsg {
    /// Decodes exactly `bytes`.
    ///
    /// # Errors
    /// Bytes that are not one message.
    pub fn decode(bytes: &[u8]) -> Result<RelayMsg> {
        decode_exact(bytes)
    }

    /// The canonical encoding.
    pub fn encode(&self) -> Vec<u8> {
        encode(self)
    }
}

impl RelayClaim {
    /// The nickname this claim's relay must carry.
    pub fn nickname(&self) -> String {
        nickname(&self.node, &self.secret)
    }

    /// The fingerprint as tor writes it: 40 uppercase hex digits.
    pub fn fingerprint_hex(&self) -> String {
        self.fingerprint
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect()
    }

    /// Signs the claim with `keypair`, whose id must be `self.node`.
    ///
    /// # Errors
    /// A keypair of another node.
    pub fn sign(self, keypair: &Keypair) -> Result<SignedRelayClaim> {
        if keypair.id() != self.node {
            return Err(Error::Unexpected("claim node is not the signing key"));
        }
        let signature = keypair.sign(&self.signing_bytes());
        Ok(SignedRelayClaim {
            claim: self,
            signature,
        })
    }

    fn signing_bytes(&self) -> Vec<u8> {
        let mut msg = CLAIM_DOMAIN.to_vec();
        msg.extend_from_slice(&encode(self));
        msg
    }
}

/// Parses 40 hex digits into a fingerprint.
///
/// # Errors
/// Anything else.
pub fn parse_fingerprint(hex: &str) -> Result<[u8; 20]> {
    let hex = hex.trim().trim_start_matches('$');
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Unexpected("a relay fingerprint is 40 hex digits"));
    }
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| Error::Unexpected("a relay fingerprint is 40 hex digits"))?;
    }
    Ok(out)
}

impl SignedRelayClaim {
    /// Checks the time window and the signature by `claim.node`.
    ///
    /// # Errors
    /// A window longer than [`MAX_CLAIM_VALIDITY`] or empty, a claim from
    /// the future (beyond `skew` seconds) or expired, a bad signature.
    pub fn verify(&self, now: u64, skew: u64) -> Result<&RelayClaim> {
        let c = &self.claim;
        let secs = c.expires_at.saturating_sub(c.issued_at);
        if secs == 0 || secs > MAX_CLAIM_VALIDITY {
            return Err(Error::BadValidity {
                secs,
                max: MAX_CLAIM_VALIDITY,
            });
        }
        if c.issued_at > now.saturating_add(skew) {
            return Err(Error::FutureDated {
                issued_at: c.issued_at,
                now,
            });
        }
        if c.expires_at <= now {
            return Err(Error::Expired {
                expires_at: c.expires_at,
                now,
            });
        }
        c.node.verify(&c.signing_bytes(), &self.signature)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keypair(seed: u8) -> Keypair {
        Keypair::from_seed(&[seed; 32])
    }

    fn claim(node: NodeId) -> RelayClaim {
        RelayClaim {
            node,
            fingerprint: [0xab; 20],
            secret: [7; 32],
            issued_at: 1_000,
            expires_at: 2_000,
        }
    }

    #[test]
    fn a_signed_claim_verifies_and_a_changed_one_does_not() {
        let k = keypair(1);
        let signed = claim(k.id()).sign(&k).unwrap();
        assert_eq!(signed.verify(1_500, 60).unwrap().fingerprint, [0xab; 20]);
        let back = RelayMsg::decode(&RelayMsg::Claim(signed.clone()).encode()).unwrap();
        assert_eq!(back, RelayMsg::Claim(signed.clone()));
        let mut other = signed.clone();
        other.claim.fingerprint[0] ^= 1;
        assert!(other.verify(1_500, 60).is_err());
        assert!(signed.verify(2_000, 60).is_err(), "expired");
        assert!(signed.verify(900, 60).is_err(), "from the future");
        assert!(claim(keypair(2).id()).sign(&k).is_err());
    }

    #[test]
    fn nicknames_are_what_tor_accepts_and_depend_on_the_secret() {
        let id = keypair(1).id();
        let n = nickname(&id, &[7; 32]);
        assert_eq!(n.len(), 19);
        assert!(n.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(n, nickname(&id, &[8; 32]));
        assert_ne!(n, nickname(&keypair(2).id(), &[7; 32]));
        assert_eq!(claim(id).fingerprint_hex(), "AB".repeat(20));
        assert_eq!(parse_fingerprint(&"ab".repeat(20)).unwrap(), [0xab; 20]);
        assert!(parse_fingerprint("xyz").is_err());
    }
}
