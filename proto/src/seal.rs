//! Sealed shares: content a box can store, check and serve without being
//! able to read it.
//!
//! A random 32-byte key `K` travels only in the share's link (after `#`).
//! * Content: each byte at offset `o` is XORed with ChaCha20 keystream
//!   (key `SHA-256("warren/seal/content\0" ‖ K)`, 96-bit nonce of zeros,
//!   block counter `o / 64`). Pieces and their hashes are over the
//!   ciphertext, so anyone can verify them; at most 256 GiB per share.
//! * Listing (names, sizes, description): XChaCha20-Poly1305 with key
//!   `SHA-256("warren/seal/listing\0" ‖ K)`, a random 24-byte nonce stored
//!   in front, and as associated data the piece size, total size and
//!   pieces root (big endian), so a listing cannot be moved to other content.

use chacha20::ChaCha20;
use chacha20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

use crate::codec::{decode_exact, encode};
use crate::content::{Listing, MAX_SEALED};
use crate::{Error, Result};

/// Largest sealed content (ChaCha20's 32-bit block counter).
pub const MAX_SEALED_CONTENT: u64 = 64 << 32;

/// The key of a sealed share.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey(pub [u8; 32]);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(…)")
    }
}

fn derive(k: &SealKey, label: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(label);
    h.update(k.0);
    h.finalize().into()
}

fn aad(piece_size: u32, total: u64, root: &[u8; 32]) -> Vec<u8> {
    let mut a = b"warren/seal/listing/v1\0".to_vec();
    a.extend_from_slice(&piece_size.to_be_bytes());
    a.extend_from_slice(&total.to_be_bytes());
    a.extend_from_slice(root);
    a
}

impl SealKey {
    /// XORs `buf`, which sits at byte `offset` of the content, with the
    /// content keystream (encrypts and decrypts alike).
    pub fn apply(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        if offset.saturating_add(buf.len() as u64) > MAX_SEALED_CONTENT {
            return Err(Error::Manifest("sealed content larger than 256 GiB"));
        }
        let key = derive(self, b"warren/seal/content\0");
        let mut c = ChaCha20::new(&key.into(), &[0u8; 12].into());
        c.seek(offset);
        c.apply_keystream(buf);
        Ok(())
    }

    /// Seals a listing for content of these dimensions; `nonce` must be fresh.
    pub fn seal_listing(
        &self,
        listing: &Listing,
        piece_size: u32,
        total: u64,
        root: &[u8; 32],
        nonce: [u8; 24],
    ) -> Result<Vec<u8>> {
        let key = derive(self, b"warren/seal/listing\0");
        let cipher = XChaCha20Poly1305::new(&key.into());
        let plain = encode(listing);
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &plain,
                    aad: &aad(piece_size, total, root),
                },
            )
            .map_err(|_| Error::SealBroken)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        if out.len() > MAX_SEALED {
            return Err(Error::TooLong {
                what: "sealed listing",
                max: MAX_SEALED,
            });
        }
        Ok(out)
    }

    /// Opens a sealed listing and checks it against the content's dimensions.
    pub fn open_listing(
        &self,
        sealed: &[u8],
        piece_size: u32,
        total: u64,
        root: &[u8; 32],
    ) -> Result<Listing> {
        let (nonce, body) = sealed.split_first_chunk::<24>().ok_or(Error::SealBroken)?;
        let key = derive(self, b"warren/seal/listing\0");
        let cipher = XChaCha20Poly1305::new(&key.into());
        let plain = cipher
            .decrypt(
                &XNonce::from(*nonce),
                Payload {
                    msg: body,
                    aad: &aad(piece_size, total, root),
                },
            )
            .map_err(|_| Error::SealBroken)?;
        let listing: Listing = decode_exact(&plain)?;
        listing.check(total)?;
        Ok(listing)
    }
}
