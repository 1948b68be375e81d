//! Proof of work bound to a node identity.
//!
//! `work = SHA-256("warren/pow/v1" ‖ key (32 bytes) ‖ nonce (u64, little endian))`.
//! The work of a nonce is the number of leading zero bits of `work`; a
//! community sets how many it requires. Mining is done once per identity, and
//! checking costs one hash.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Error, NodeId, Result};

const POW_DOMAIN: &[u8] = b"warren/pow/v1";

/// Required leading zero bits, 0..=64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Difficulty(u8);

impl Difficulty {
    /// Accepts 0..=64 bits.
    pub const fn new(bits: u8) -> Result<Self> {
        if bits > 64 {
            return Err(Error::BadDifficulty(bits));
        }
        Ok(Difficulty(bits))
    }

    /// The number of leading zero bits required.
    pub fn bits(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Difficulty {
    type Error = Error;
    fn try_from(bits: u8) -> Result<Self> {
        Difficulty::new(bits)
    }
}

impl From<Difficulty> for u8 {
    fn from(d: Difficulty) -> u8 {
        d.0
    }
}

/// The work hash of `nonce` for `id`.
pub fn work_hash(id: &NodeId, nonce: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(POW_DOMAIN);
    h.update(id.as_bytes());
    h.update(nonce.to_le_bytes());
    h.finalize().into()
}

/// Leading zero bits of `hash`, capped at 255.
pub fn leading_zero_bits(hash: &[u8; 32]) -> u8 {
    let mut bits = 0u32;
    for b in hash {
        if *b == 0 {
            bits += 8;
        } else {
            bits += b.leading_zeros();
            break;
        }
    }
    u8::try_from(bits).unwrap_or(u8::MAX)
}

/// The work (leading zero bits) that `nonce` proves for `id`.
pub fn work_of(id: &NodeId, nonce: u64) -> u8 {
    leading_zero_bits(&work_hash(id, nonce))
}

/// Checks that `nonce` proves at least `difficulty` for `id`. One hash.
pub fn verify(id: &NodeId, nonce: u64, difficulty: Difficulty) -> Result<()> {
    let actual = work_of(id, nonce);
    if actual < difficulty.0 {
        return Err(Error::InsufficientWork {
            required: difficulty.0,
            actual,
        });
    }
    Ok(())
}

/// Searches nonces `start, start + step, start + 2·step, …` (at most `tries`
/// of them) for one meeting `difficulty`. Threads mining in parallel use the
/// same `step` and different `start`s.
pub fn mine(id: &NodeId, difficulty: Difficulty, start: u64, step: u64, tries: u64) -> Option<u64> {
    let mut h = Sha256::new();
    h.update(POW_DOMAIN);
    h.update(id.as_bytes());
    let mut nonce = start;
    for _ in 0..tries {
        let mut hh = h.clone();
        hh.update(nonce.to_le_bytes());
        let hash: [u8; 32] = hh.finalize().into();
        if leading_zero_bits(&hash) >= difficulty.0 {
            return Some(nonce);
        }
        nonce = nonce.wrapping_add(step.max(1));
    }
    None
}
