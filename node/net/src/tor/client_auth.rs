//! Restricted discovery (Tor's v3 client authorization): an onion service
//! that only named clients can even find.
//!
//! The service is configured with each client's x25519 public key and
//! encrypts its descriptor to them; a client without a matching secret key
//! cannot learn the service's introduction points, so it cannot connect —
//! it never reaches a login page. The admin panel's onion service uses this.

use data_encoding::BASE32_NOPAD;
use tor_llcrypto::pk::curve25519::{PublicKey, StaticSecret};
use warren_proto::NodeId;

use crate::{Error, Result};

/// A client's x25519 key pair for restricted discovery.
#[derive(Clone)]
pub struct ClientAuthKey {
    secret: [u8; 32],
}

impl std::fmt::Debug for ClientAuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClientAuthKey({})", self.public_descriptor())
    }
}

impl ClientAuthKey {
    /// A fresh random key.
    pub fn generate() -> Result<ClientAuthKey> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(Error::Random)?;
        Ok(ClientAuthKey { secret })
    }

    /// The key with these secret bytes.
    pub fn from_secret(secret: [u8; 32]) -> ClientAuthKey {
        ClientAuthKey { secret }
    }

    /// The secret bytes (to store the key).
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    fn static_secret(&self) -> StaticSecret {
        StaticSecret::from(self.secret)
    }

    /// The public key, 32 bytes.
    pub fn public(&self) -> [u8; 32] {
        PublicKey::from(&self.static_secret()).to_bytes()
    }

    /// The public key as a service is configured with it:
    /// `descriptor:x25519:<base32>` (arti's and tor's `.auth` format).
    pub fn public_descriptor(&self) -> String {
        format!("descriptor:x25519:{}", BASE32_NOPAD.encode(&self.public()))
    }

    /// The public key as C tor's `ADD_ONION ClientAuthV3=` takes it.
    pub fn public_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.public())
    }

    /// The line a client (Tor Browser, C tor's `ClientOnionAuthDir`) needs
    /// to reach `service`: `<56-char name>:descriptor:x25519:<base32 secret>`.
    pub fn auth_private(&self, service: &NodeId) -> String {
        format!(
            "{}:descriptor:x25519:{}",
            service.onion_name(),
            BASE32_NOPAD.encode(&self.secret)
        )
    }

    pub(crate) fn keypair(&self) -> tor_hscrypto::pk::HsClientDescEncKeypair {
        let secret = tor_hscrypto::pk::HsClientDescEncSecretKey::from(self.static_secret());
        tor_hscrypto::pk::HsClientDescEncKeypair::from_secret_key(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_what_tor_reads() {
        let k = ClientAuthKey::from_secret([3; 32]);
        // arti parses what we give it.
        let parsed: tor_hscrypto::pk::HsClientDescEncKey = k.public_descriptor().parse().unwrap();
        assert_eq!(parsed.to_string(), k.public_descriptor());
        assert_eq!(k.public_base32().len(), 52);
        let id = warren_proto::Keypair::from_seed(&[1; 32]).id();
        let line = k.auth_private(&id);
        assert!(line.starts_with(&id.onion_name()) && line.contains(":descriptor:x25519:"));
        assert_eq!(line.split(':').count(), 4);
    }
}
