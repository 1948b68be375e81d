//! End-to-end encryption between two node identities: the Olm double
//! ratchet of `vodozemac` (the implementation Matrix uses, audited by Least
//! Authority), bound to Warren's node keys.
//!
//! Olm authenticates only its own Curve25519 identity key, so each node
//! signs that key, and the one-time keys it hands out for first contact,
//! with its Ed25519 node key ([`SignedPrekeys`]); a session is started or
//! accepted only with a Curve25519 key whose signature by the expected node
//! checks. A box that holds a node's prekeys therefore cannot substitute its
//! own.
//!
//! Plaintexts are padded to a few sizes ([`PADDED_SIZES`]) before they are
//! encrypted, so a message's length shows only its size class.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use vodozemac::Curve25519PublicKey;
use vodozemac::olm::{Account, AccountPickle, OlmMessage, Session, SessionConfig, SessionPickle};
use warren_proto::mail::{MAX_ONE_TIME_KEYS, Prekeys, SignedPrekeys};
use warren_proto::{BoundedVec, Keypair, NodeId};

use crate::seal::MailboxKey;

/// The most bytes of a plaintext: an encoded message
/// ([`warren_proto::chat::MAX_ENCODED`]: a 32 KiB text and its header).
pub const MAX_BODY: usize = warren_proto::chat::MAX_ENCODED;

/// The sizes a padded plaintext takes: the smallest that holds the body
/// and its 4-byte length. 1, 4 and 16 KiB, then the largest message.
pub const PADDED_SIZES: [usize; 4] = [1024, 4 * 1024, 16 * 1024, MAX_BODY + 4];

/// Why a message could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum E2eError {
    /// The prekeys are not signed by the node they name.
    #[error("the prekeys are not signed by their node: {0}")]
    BadSignature(#[source] warren_proto::Error),
    /// The prekeys are another node's than the one expected.
    #[error("the prekeys are {got}'s, not {expected}'s")]
    WrongNode {
        /// The node expected.
        expected: NodeId,
        /// The node the prekeys name.
        got: NodeId,
    },
    /// No session with the node yet, and no one-time key to start one.
    #[error("no session with {0} and no one-time key of its to start one")]
    NoSession(NodeId),
    /// A key that is not a valid Curve25519 public key.
    #[error("not a Curve25519 key")]
    BadKey,
    /// A body over [`MAX_BODY`].
    #[error("a message body of {0} bytes is over the {MAX_BODY}-byte bound")]
    TooLong(usize),
    /// A decrypted plaintext whose padding is not one of [`PADDED_SIZES`].
    #[error("the plaintext's padding is malformed")]
    BadPadding,
    /// Bytes that are not an Olm message.
    #[error("not an Olm message: {0}")]
    Decode(String),
    /// The session could not be started or accepted.
    #[error("the session cannot be started: {0}")]
    Session(#[from] vodozemac::olm::SessionCreationError),
    /// The message does not decrypt (tampered, replayed, or too far out
    /// of order).
    #[error("the message does not decrypt: {0}")]
    Decrypt(#[from] vodozemac::olm::DecryptionError),
    /// Encryption failed.
    #[error("the message cannot be encrypted: {0}")]
    Encrypt(String),
    /// Saved state that does not read back.
    #[error("the saved keys and sessions do not read: {0}")]
    Saved(#[source] serde_json::Error),
}

/// What [`E2e::save`] writes: the account and every session, as
/// `vodozemac` pickles them (its own format, read back by the same major
/// version), in JSON.
#[derive(Serialize, Deserialize)]
struct Saved {
    account: AccountPickle,
    mailbox: [u8; 32],
    sessions: Vec<(NodeId, Vec<SessionPickle>)>,
}

/// An encrypted message between two nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sealed {
    /// The first messages of a session, until the other side answers: the
    /// sender's signed identity key (its prekeys, without one-time keys)
    /// and an Olm pre-key message.
    PreKey {
        /// Who sends, provably.
        sender: SignedPrekeys,
        /// The Olm pre-key message's bytes.
        message: Vec<u8>,
    },
    /// An Olm message on an established session.
    Normal {
        /// The Olm message's bytes.
        message: Vec<u8>,
    },
}

/// This node's Olm account and its sessions with other nodes.
pub struct E2e {
    account: Account,
    /// The secret of the key envelopes to this node are sealed to.
    mailbox: MailboxKey,
    /// Per node, its sessions, newest last (a node may have started one
    /// while this node started another).
    sessions: HashMap<NodeId, Vec<Session>>,
}

impl std::fmt::Debug for E2e {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("E2e")
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Default for E2e {
    fn default() -> Self {
        E2e::new()
    }
}

fn pad(body: &[u8]) -> Result<Vec<u8>, E2eError> {
    if body.len() > MAX_BODY {
        return Err(E2eError::TooLong(body.len()));
    }
    let need = body.len() + 4;
    let size = PADDED_SIZES
        .iter()
        .copied()
        .find(|s| *s >= need)
        .ok_or(E2eError::TooLong(body.len()))?;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out.resize(size, 0);
    Ok(out)
}

fn unpad(padded: &[u8]) -> Result<Vec<u8>, E2eError> {
    if !PADDED_SIZES.contains(&padded.len()) {
        return Err(E2eError::BadPadding);
    }
    let (len, rest) = padded.split_at(4);
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    if len > rest.len() || len > MAX_BODY || rest[len..].iter().any(|b| *b != 0) {
        return Err(E2eError::BadPadding);
    }
    Ok(rest[..len].to_vec())
}

/// `signed`'s prekeys, once they are `expected`'s and its signature
/// checks.
fn checked<'a>(signed: &'a SignedPrekeys, expected: &NodeId) -> Result<&'a Prekeys, E2eError> {
    if signed.prekeys.node != *expected {
        return Err(E2eError::WrongNode {
            expected: *expected,
            got: signed.prekeys.node,
        });
    }
    signed.verify(expected).map_err(E2eError::BadSignature)
}

fn curve(key: &[u8; 32]) -> Curve25519PublicKey {
    Curve25519PublicKey::from_bytes(*key)
}

fn to_bytes(m: &OlmMessage) -> Vec<u8> {
    m.to_parts().1
}

fn olm(message_type: usize, bytes: &[u8]) -> Result<OlmMessage, E2eError> {
    OlmMessage::from_parts(message_type, bytes).map_err(|e| E2eError::Decode(e.to_string()))
}

impl E2e {
    /// A new account (a fresh Olm identity key).
    pub fn new() -> E2e {
        E2e {
            account: Account::new(),
            mailbox: MailboxKey::generate(),
            sessions: HashMap::new(),
        }
    }

    /// Makes up to `count` new one-time keys (at most
    /// [`MAX_ONE_TIME_KEYS`]) and signs them, with this account's identity
    /// key, as `keypair`'s node at `now`.
    pub fn prekeys(&mut self, keypair: &Keypair, count: usize, now: u64) -> SignedPrekeys {
        self.account
            .generate_one_time_keys(count.min(MAX_ONE_TIME_KEYS));
        let keys: Vec<[u8; 32]> = self
            .account
            .one_time_keys()
            .values()
            .map(|k| k.to_bytes())
            .collect();
        self.account.mark_keys_as_published();
        self.signed(keypair, keys, now)
    }

    /// This account's identity key signed as `keypair`'s node, with no
    /// one-time key: what a first message carries.
    fn identity(&self, keypair: &Keypair, now: u64) -> SignedPrekeys {
        self.signed(keypair, Vec::new(), now)
    }

    fn signed(&self, keypair: &Keypair, keys: Vec<[u8; 32]>, now: u64) -> SignedPrekeys {
        SignedPrekeys::sign(
            Prekeys {
                node: keypair.id(),
                identity_key: self.account.curve25519_key().to_bytes(),
                mailbox_key: self.mailbox.public(),
                one_time_keys: BoundedVec::truncating(keys),
                issued_at: now,
            },
            keypair,
        )
    }

    /// The account's keys and every session's ratchet, to keep in the
    /// node's store (beside its identity key: they are as secret) so that
    /// conversations go on after a restart. Save after every message sent
    /// or received: a ratchet that steps back cannot read what follows.
    ///
    /// # Errors
    /// [`E2eError::Saved`] (serializing cannot fail for these types).
    pub fn save(&self) -> Result<Vec<u8>, E2eError> {
        let saved = Saved {
            account: self.account.pickle(),
            mailbox: self.mailbox.to_bytes(),
            sessions: self
                .sessions
                .iter()
                .map(|(n, v)| (*n, v.iter().map(Session::pickle).collect()))
                .collect(),
        };
        serde_json::to_vec(&saved).map_err(E2eError::Saved)
    }

    /// The account and sessions [`E2e::save`] wrote.
    ///
    /// # Errors
    /// [`E2eError::Saved`]: the bytes are not what `save` writes.
    pub fn restore(bytes: &[u8]) -> Result<E2e, E2eError> {
        let saved: Saved = serde_json::from_slice(bytes).map_err(E2eError::Saved)?;
        Ok(E2e {
            account: Account::from_pickle(saved.account),
            mailbox: MailboxKey::from_bytes(saved.mailbox),
            sessions: saved
                .sessions
                .into_iter()
                .map(|(n, v)| (n, v.into_iter().map(Session::from_pickle).collect()))
                .collect(),
        })
    }

    /// This node's mailbox key: what envelopes to it are sealed to.
    pub fn mailbox_key(&self) -> &MailboxKey {
        &self.mailbox
    }

    /// Whether a session with `node` exists.
    pub fn has_session(&self, node: &NodeId) -> bool {
        self.sessions.get(node).is_some_and(|s| !s.is_empty())
    }

    /// Encrypts `body` for `to`, as `keypair`'s node: on the newest session
    /// with it, or on a new one started with one-time key number `index` of
    /// `theirs` (its signed prekeys, checked here; each one-time key is for
    /// one session only, so whoever hands them out hands each out once).
    ///
    /// # Errors
    /// [`E2eError::TooLong`]; with no session: [`E2eError::NoSession`]
    /// without prekeys or one-time key, [`E2eError::WrongNode`] or
    /// [`E2eError::BadSignature`] for prekeys that are not `to`'s.
    pub fn encrypt(
        &mut self,
        keypair: &Keypair,
        to: NodeId,
        theirs: Option<(&SignedPrekeys, u32)>,
        body: &[u8],
        now: u64,
    ) -> Result<Sealed, E2eError> {
        let padded = pad(body)?;
        if !self.has_session(&to) {
            let (theirs, index) = theirs.ok_or(E2eError::NoSession(to))?;
            let p = checked(theirs, &to)?;
            let otk = p
                .one_time_keys
                .as_slice()
                .get(index as usize)
                .ok_or(E2eError::NoSession(to))?;
            let session = self.account.create_outbound_session(
                SessionConfig::version_1(),
                curve(&p.identity_key),
                curve(otk),
            )?;
            self.sessions.entry(to).or_default().push(session);
        }
        let session = self
            .sessions
            .get_mut(&to)
            .and_then(|s| s.last_mut())
            .ok_or(E2eError::NoSession(to))?;
        let message = session
            .encrypt(&padded)
            .map_err(|e| E2eError::Encrypt(e.to_string()))?;
        Ok(match &message {
            OlmMessage::PreKey(_) => Sealed::PreKey {
                sender: self.identity(keypair, now),
                message: to_bytes(&message),
            },
            OlmMessage::Normal(_) => Sealed::Normal {
                message: to_bytes(&message),
            },
        })
    }

    /// Decrypts a message from `from` (known from the connection or the
    /// mailbox it came through).
    ///
    /// # Errors
    /// [`E2eError::Decrypt`] for a tampered or replayed message,
    /// [`E2eError::WrongNode`] / [`E2eError::BadSignature`] when a first
    /// message's sender key is not `from`'s, [`E2eError::Session`] when no
    /// session can be accepted (its one-time key already used),
    /// [`E2eError::BadPadding`].
    pub fn decrypt(&mut self, from: NodeId, sealed: &Sealed) -> Result<Vec<u8>, E2eError> {
        match sealed {
            Sealed::Normal { message } => {
                let message = olm(1, message)?;
                self.decrypt_on_sessions(from, &message)?
                    .ok_or(E2eError::NoSession(from))
                    .and_then(|p| unpad(&p))
            }
            Sealed::PreKey { sender, message } => {
                let theirs = checked(sender, &from)?;
                let message = olm(0, message)?;
                let OlmMessage::PreKey(pre) = &message else {
                    return Err(E2eError::Decode("not a pre-key message".into()));
                };
                // A session it started earlier: the sender repeats pre-key
                // messages until it hears back.
                let id = pre.session_id();
                if let Some(s) = self
                    .sessions
                    .get_mut(&from)
                    .and_then(|v| v.iter_mut().find(|s| s.session_id() == id))
                {
                    return unpad(&s.decrypt(&message)?);
                }
                let created = self.account.create_inbound_session(
                    SessionConfig::version_1(),
                    curve(&theirs.identity_key),
                    pre,
                )?;
                self.sessions.entry(from).or_default().push(created.session);
                unpad(&created.plaintext)
            }
        }
    }

    /// Tries `from`'s sessions, newest first; none that decrypts: the last
    /// error, or `None` without a session.
    fn decrypt_on_sessions(
        &mut self,
        from: NodeId,
        message: &OlmMessage,
    ) -> Result<Option<Vec<u8>>, E2eError> {
        let Some(sessions) = self.sessions.get_mut(&from) else {
            return Ok(None);
        };
        let mut last = None;
        for s in sessions.iter_mut().rev() {
            match s.decrypt(message) {
                Ok(p) => return Ok(Some(p)),
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) => Err(e.into()),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests;
