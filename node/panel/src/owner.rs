//! The owner's secrets: the admin onion's key, the owner's client key for
//! it, the one-time pairing code, and the passphrase hash. Kept in the
//! store's `panel` table; every change is committed before it is used.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use subtle::ConstantTimeEq;
use warren_proto::Keypair;

use crate::{Error, Result};
use warren_net::tor::ClientAuthKey;
use warren_peers::store::{Db, Table};

const ADMIN_SEED: &[u8] = b"admin_seed";
const CLIENT_SECRET: &[u8] = b"client_secret";
const PAIRING_CODE: &[u8] = b"pairing_code";
const PASSPHRASE: &[u8] = b"passphrase";

/// Letters and digits that cannot be mistaken for one another.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Shortest passphrase accepted, characters.
pub const MIN_PASSPHRASE: usize = 10;
/// Longest passphrase accepted, bytes (hashing cost stays bounded).
pub(crate) const MAX_PASSPHRASE: usize = 256;

/// The owner's secrets.
#[derive(Clone)]
pub(crate) struct Owner {
    db: Db,
    /// The admin onion's identity (not the node's: the two addresses must
    /// not be linkable).
    pub(crate) admin: Arc<Keypair>,
    /// The owner's key for restricted discovery of the admin onion.
    pub(crate) client: ClientAuthKey,
    pairing: Option<String>,
    passphrase: Option<String>,
}

fn random32() -> Result<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)?;
    Ok(b)
}

fn secret32(v: Option<Vec<u8>>) -> Option<[u8; 32]> {
    v.and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
}

/// A fresh pairing code: 80 random bits as `XXXX-XXXX-XXXX-XXXX`.
fn new_code() -> Result<String> {
    let r = random32()?;
    let chars: Vec<char> = r[..16]
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b % 32)] as char)
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// What a person might type for a code: case, spaces and dashes ignored.
fn normalize(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Owner {
    /// Loads the secrets, creating what is missing (first run: keys and a
    /// pairing code).
    pub(crate) fn load_or_create(db: &Db) -> Result<Owner> {
        let mut changes = Vec::new();
        let mut get_or_make = |key: &[u8]| -> Result<[u8; 32]> {
            if let Some(s) = secret32(db.get(Table::Panel, key)?) {
                return Ok(s);
            }
            let s = random32()?;
            changes.push((Table::Panel, key.to_vec(), Some(s.to_vec())));
            Ok(s)
        };
        let admin = Arc::new(Keypair::from_seed(&get_or_make(ADMIN_SEED)?));
        let client = ClientAuthKey::from_secret(get_or_make(CLIENT_SECRET)?);
        let text = |key: &[u8]| -> Result<Option<String>> {
            Ok(db
                .get(Table::Panel, key)?
                .and_then(|v| String::from_utf8(v).ok()))
        };
        let passphrase = text(PASSPHRASE)?;
        let mut pairing = text(PAIRING_CODE)?;
        if passphrase.is_none() && pairing.is_none() {
            let code = new_code()?;
            changes.push((
                Table::Panel,
                PAIRING_CODE.to_vec(),
                Some(code.clone().into_bytes()),
            ));
            pairing = Some(code);
        }
        if passphrase.is_some() && pairing.is_some() {
            // A code from a pairing mode that a restart ended: retire it.
            changes.push((Table::Panel, PAIRING_CODE.to_vec(), None));
            pairing = None;
        }
        if !changes.is_empty() {
            db.apply(&changes)?;
        }
        Ok(Owner {
            db: db.clone(),
            admin,
            client,
            pairing: if passphrase.is_some() { None } else { pairing },
            passphrase,
        })
    }

    /// Whether a passphrase has been set.
    pub(crate) fn paired(&self) -> bool {
        self.passphrase.is_some()
    }

    /// The pairing code, until it is used.
    pub(crate) fn pairing_code(&self) -> Option<&str> {
        self.pairing.as_deref()
    }

    /// Makes the pairing code usable (pairing mode): the unused first-run
    /// code, or, once paired, a fresh one that sets a new passphrase.
    pub(crate) fn open_pairing(&mut self) -> Result<String> {
        if let Some(code) = &self.pairing {
            return Ok(code.clone());
        }
        let code = new_code()?;
        self.db.apply(&[(
            Table::Panel,
            PAIRING_CODE.to_vec(),
            Some(code.clone().into_bytes()),
        )])?;
        self.pairing = Some(code.clone());
        Ok(code)
    }

    /// Pairing mode ended: once paired, an unused code is retired (before
    /// the first pairing the first-run code stays). Returns whether a code
    /// is still usable.
    pub(crate) fn close_pairing(&mut self) -> Result<bool> {
        if self.paired() && self.pairing.is_some() {
            self.db
                .apply(&[(Table::Panel, PAIRING_CODE.to_vec(), None)])?;
            self.pairing = None;
        }
        Ok(self.pairing.is_some())
    }

    /// Whether `code` is the pairing code (constant time).
    pub(crate) fn pairing_matches(&self, code: &str) -> bool {
        match &self.pairing {
            Some(p) => {
                let (a, b) = (normalize(p), normalize(code));
                a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
            }
            None => false,
        }
    }

    /// Sets the passphrase and retires the pairing code. Hashing is slow on
    /// purpose: call from a blocking thread.
    pub(crate) fn set_passphrase(&mut self, passphrase: &str) -> Result<()> {
        let salt = SaltString::encode_b64(&random32()?[..16]).map_err(Error::Passphrase)?;
        let hash = Argon2::default()
            .hash_password(passphrase.as_bytes(), &salt)
            .map_err(Error::Passphrase)?
            .to_string();
        self.db.apply(&[
            (
                Table::Panel,
                PASSPHRASE.to_vec(),
                Some(hash.clone().into_bytes()),
            ),
            (Table::Panel, PAIRING_CODE.to_vec(), None),
        ])?;
        self.passphrase = Some(hash);
        self.pairing = None;
        Ok(())
    }

    /// Whether `passphrase` is the owner's (argon2's comparison is constant
    /// time). Slow on purpose: call from a blocking thread.
    pub(crate) fn verify(&self, passphrase: &str) -> bool {
        let Some(stored) = &self.passphrase else {
            return false;
        };
        if passphrase.len() > MAX_PASSPHRASE {
            return false;
        }
        PasswordHash::new(stored)
            .map(|h| {
                Argon2::default()
                    .verify_password(passphrase.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairing_once_then_passphrase() {
        let db = Db::in_memory().unwrap();
        let mut o = Owner::load_or_create(&db).unwrap();
        assert!(!o.paired());
        let code = o.pairing_code().unwrap().to_string();
        assert_eq!(code.len(), 19);
        assert!(o.pairing_matches(&code.to_lowercase().replace('-', " ")));
        assert!(!o.pairing_matches("AAAA-AAAA-AAAA-AAAA"));
        // The same keys and code after a restart.
        let again = Owner::load_or_create(&db).unwrap();
        assert_eq!(again.pairing_code(), Some(code.as_str()));
        assert_eq!(again.admin.id(), o.admin.id());
        o.set_passphrase("correct horse battery").unwrap();
        assert!(o.verify("correct horse battery"));
        assert!(!o.verify("correct horse battery!"));
        let after = Owner::load_or_create(&db).unwrap();
        assert!(after.paired() && after.pairing_code().is_none());
        assert!(!after.pairing_matches(&code));
        assert!(after.verify("correct horse battery"));
        assert_eq!(after.client.secret(), o.client.secret());
    }

    #[test]
    fn pairing_mode_opens_a_fresh_code_once_paired_and_retires_it() {
        let db = Db::in_memory().unwrap();
        let mut o = Owner::load_or_create(&db).unwrap();
        let first = o.pairing_code().unwrap().to_string();
        // Before the first pairing, pairing mode uses the first-run code and
        // leaves it usable afterwards.
        assert_eq!(o.open_pairing().unwrap(), first);
        assert!(o.close_pairing().unwrap());
        o.set_passphrase("correct horse battery").unwrap();
        let again = o.open_pairing().unwrap();
        assert_ne!(again, first);
        assert!(o.pairing_matches(&again));
        assert!(!o.close_pairing().unwrap());
        assert!(!o.pairing_matches(&again));
        // A code left open by a restart is retired at load.
        let code = o.open_pairing().unwrap();
        let loaded = Owner::load_or_create(&db).unwrap();
        assert!(loaded.pairing_code().is_none() && !loaded.pairing_matches(&code));
        assert_eq!(db.get(Table::Panel, PAIRING_CODE).unwrap(), None);
        // Re-pairing sets the new passphrase and retires the code.
        let code = o.open_pairing().unwrap();
        assert!(o.pairing_matches(&code));
        o.set_passphrase("a brand new passphrase").unwrap();
        assert!(o.verify("a brand new passphrase") && !o.verify("correct horse battery"));
        assert!(o.pairing_code().is_none());
    }
}
