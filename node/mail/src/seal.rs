//! Sealing envelopes to their recipient: libsodium's sealed boxes
//! (`crypto_box_seal`: an ephemeral X25519 key, XSalsa20-Poly1305), from
//! RustCrypto's `crypto_box`, so a box that holds an envelope learns
//! neither what it says nor who sent it. The plaintext is padded first, so
//! the sealed bytes take one of [`ENVELOPE_SIZES`].

use crypto_box::{PublicKey, SecretKey};
use warren_proto::mail::ENVELOPE_SIZES;

/// What sealing adds: the ephemeral public key (32) and the tag (16).
pub const SEAL_OVERHEAD: usize = crypto_box::SEALBYTES;

/// Why an envelope could not be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// More than the largest envelope holds.
    #[error("{0} bytes do not fit in the largest envelope")]
    TooLong(usize),
    /// Not sealed to this key, or changed on the way.
    #[error("the envelope is not sealed to this node, or was changed")]
    NotOpened,
    /// Opened, but the padding inside is not what sealing writes.
    #[error("the envelope's padding is malformed")]
    BadPadding,
}

/// A node's mailbox key: the X25519 secret envelopes to it are sealed to.
pub struct MailboxKey(SecretKey);

impl std::fmt::Debug for MailboxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailboxKey(..)")
    }
}

impl MailboxKey {
    /// A fresh key from the operating system's generator.
    pub fn generate() -> MailboxKey {
        MailboxKey(SecretKey::generate(&mut rand_core::OsRng))
    }

    /// The key of these secret bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MailboxKey {
        MailboxKey(SecretKey::from_bytes(bytes))
    }

    /// Its secret bytes (to save with the node's other secrets).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Its public key.
    pub fn public(&self) -> [u8; 32] {
        *self.0.public_key().as_bytes()
    }

    /// Opens sealed bytes: the plaintext [`seal`] was given.
    ///
    /// # Errors
    /// [`SealError::NotOpened`], [`SealError::BadPadding`].
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let padded = self.0.unseal(sealed).map_err(|_| SealError::NotOpened)?;
        let (len, rest) = padded.split_at_checked(4).ok_or(SealError::BadPadding)?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if len > rest.len() || rest[len..].iter().any(|b| *b != 0) {
            return Err(SealError::BadPadding);
        }
        Ok(rest[..len].to_vec())
    }
}

/// Seals `plain` to the mailbox key `to`: its length (u32, big-endian),
/// the bytes and zeros up to the smallest of [`ENVELOPE_SIZES`] that holds
/// them once sealed.
///
/// # Errors
/// [`SealError::TooLong`].
pub fn seal(to: &[u8; 32], plain: &[u8]) -> Result<Vec<u8>, SealError> {
    let size = ENVELOPE_SIZES
        .iter()
        .copied()
        .find(|s| *s >= plain.len() + 4 + SEAL_OVERHEAD)
        .ok_or(SealError::TooLong(plain.len()))?;
    let mut padded = Vec::with_capacity(size - SEAL_OVERHEAD);
    padded.extend_from_slice(&(plain.len() as u32).to_be_bytes());
    padded.extend_from_slice(plain);
    padded.resize(size - SEAL_OVERHEAD, 0);
    PublicKey::from_bytes(*to)
        .seal(&mut rand_core::OsRng, &padded)
        .map_err(|_| SealError::TooLong(plain.len()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn sealed_bytes_take_the_sizes_and_open_only_with_their_key() {
        let (k, other) = (MailboxKey::generate(), MailboxKey::generate());
        for n in [0, 1, 2000, 5000, 20_000, 33_000] {
            let plain: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let sealed = seal(&k.public(), &plain).unwrap();
            assert!(
                ENVELOPE_SIZES.contains(&sealed.len()),
                "{n} → {}",
                sealed.len()
            );
            assert_eq!(k.open(&sealed).unwrap(), plain);
            assert_eq!(other.open(&sealed), Err(SealError::NotOpened));
            let mut changed = sealed.clone();
            changed[100] ^= 1;
            assert_eq!(k.open(&changed), Err(SealError::NotOpened));
        }
        assert!(matches!(
            seal(&k.public(), &[0; 40_000]),
            Err(SealError::TooLong(_))
        ));
        let again = MailboxKey::from_bytes(k.to_bytes());
        assert_eq!(again.public(), k.public());
    }
}
