//! The node's identity: its secret key and the proof of work for it.
//!
//! The key is created once (`warren init`, or the first `run`) and kept in
//! the store; its onion address is the node's name everywhere. The proof of
//! work is mined once for the community's difficulty and mined again only if
//! the community raises it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use warren_proto::{
    Difficulty, Keypair, NodeId, NodeRecord, Role, Services, SignedNodeRecord, TransportHint, pow,
};

use crate::store::{Db, Table};
use crate::{Error, Result};

const SEED_KEY: &[u8] = b"seed";
const NONCE_KEY: &[u8] = b"pow_nonce";
const PUBLIC_KEY: &[u8] = b"public_id";

/// The node's key and its proof of work.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The secret key (shared, never copied out of the process).
    pub keypair: Arc<Keypair>,
    /// A nonce proving work for the key.
    pub pow_nonce: u64,
}

impl Identity {
    /// A fresh identity with work mined for `difficulty`.
    pub fn generate(difficulty: Difficulty) -> Result<Identity> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        let keypair = Arc::new(Keypair::from_seed(&seed));
        seed.fill(0);
        let pow_nonce = mine(&keypair, difficulty);
        Ok(Identity { keypair, pow_nonce })
    }

    /// The identity stored in `db`, if there is one. The secret key is
    /// checked against the public key stored beside it: a key that does
    /// not match (a flipped bit) is [`Error::StoreDamaged`], never a
    /// different identity. (Stores written before the public key was kept
    /// get it on the next [`Identity::load_or_create`].)
    pub fn load(db: &Db) -> Result<Option<Identity>> {
        let found = stored_keypair(|key| db.get(Table::Identity, key)).map_err(|e| match e {
            Error::StoreDamaged { detail, .. } => Error::StoreDamaged {
                path: db.path().map_or_else(|| "(in memory)".into(), Into::into),
                detail,
            },
            other => other,
        })?;
        let Some(keypair) = found else {
            return Ok(None);
        };
        let nonce = db.get(Table::Identity, NONCE_KEY)?.unwrap_or_default();
        let nonce: [u8; 8] = nonce.try_into().unwrap_or([0; 8]);
        Ok(Some(Identity {
            keypair: Arc::new(keypair),
            pow_nonce: u64::from_le_bytes(nonce),
        }))
    }

    /// Writes the identity to `db`, durably.
    pub fn save(&self, db: &Db) -> Result<()> {
        db.apply(&[
            (
                Table::Identity,
                SEED_KEY.to_vec(),
                Some(self.keypair.seed().to_vec()),
            ),
            (
                Table::Identity,
                NONCE_KEY.to_vec(),
                Some(self.pow_nonce.to_le_bytes().to_vec()),
            ),
            (
                Table::Identity,
                PUBLIC_KEY.to_vec(),
                Some(self.keypair.id().as_bytes().to_vec()),
            ),
        ])
    }

    /// Loads the stored identity, creating one if there is none and mining
    /// again if the stored work is below `difficulty`. Blocking (mining can
    /// take seconds); the flag says whether anything was created or mined.
    pub fn load_or_create(db: &Db, difficulty: Difficulty) -> Result<(Identity, bool)> {
        let has_public = db.get(Table::Identity, PUBLIC_KEY)?.is_some();
        match Identity::load(db)? {
            Some(id) if pow::verify(&id.keypair.id(), id.pow_nonce, difficulty).is_ok() => {
                if !has_public {
                    id.save(db)?;
                }
                Ok((id, false))
            }
            Some(mut id) => {
                id.pow_nonce = mine(&id.keypair, difficulty);
                id.save(db)?;
                Ok((id, true))
            }
            None => {
                let id = Identity::generate(difficulty)?;
                id.save(db)?;
                Ok((id, true))
            }
        }
    }

    /// A fresh signed record for this identity.
    pub fn record(
        &self,
        role: Role,
        services: Services,
        hints: &[TransportHint],
        now: u64,
        validity_secs: u64,
    ) -> Result<SignedNodeRecord> {
        Ok(NodeRecord {
            id: self.keypair.id(),
            role,
            services,
            hints: hints
                .iter()
                .copied()
                .take(warren_proto::record::MAX_HINTS)
                .collect(),
            issued_at: now,
            expires_at: now + validity_secs,
            pow_nonce: self.pow_nonce,
        }
        .sign(&self.keypair)?)
    }
}

/// The stored secret key, checked against the public key stored beside
/// it; `get` reads a key of the identity table. None: no identity yet.
/// A mismatch (or a public key without its secret) is
/// [`Error::StoreDamaged`]. The store calls this on its read-only look at
/// a file, before anything can write to it.
pub(crate) fn stored_keypair(
    get: impl Fn(&[u8]) -> Result<Option<Vec<u8>>>,
) -> Result<Option<Keypair>> {
    let damaged = |detail: String| Error::StoreDamaged {
        path: "the store".into(),
        detail,
    };
    let Some(seed) = get(SEED_KEY)? else {
        return match get(PUBLIC_KEY)? {
            Some(_) => Err(damaged(
                "the identity's public key is there, its secret key is not".into(),
            )),
            None => Ok(None),
        };
    };
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| damaged("the identity's secret key is not 32 bytes".into()))?;
    let keypair = Keypair::from_seed(&seed);
    if let Some(public) = get(PUBLIC_KEY)? {
        if public.as_slice() != keypair.id().as_bytes() {
            return Err(damaged(format!(
                "the identity's secret key does not match its public key (the node is {}; the key would make it someone else)",
                <[u8; 32]>::try_from(public.as_slice())
                    .ok()
                    .and_then(|b| NodeId::from_bytes(b).ok())
                    .map_or_else(|| "unknown".to_string(), |id| id.to_string())
            )));
        }
    }
    Ok(Some(keypair))
}

/// Mines a nonce for `keypair` at `difficulty` on every core. Blocking.
pub fn mine(keypair: &Keypair, difficulty: Difficulty) -> u64 {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as u64;
    mine_with_threads(keypair, difficulty, threads)
}

/// Mines with `threads` threads, each taking every `threads`-th nonce.
pub fn mine_with_threads(keypair: &Keypair, difficulty: Difficulty, threads: u64) -> u64 {
    const CHUNK: u64 = 1 << 14;
    let id = keypair.id();
    let done = AtomicBool::new(false);
    let threads = threads.max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let done = &done;
                s.spawn(move || {
                    let mut start = t;
                    while !done.load(Ordering::Relaxed) {
                        if let Some(n) = pow::mine(&id, difficulty, start, threads, CHUNK) {
                            done.store(true, Ordering::Relaxed);
                            return Some(n);
                        }
                        start = start.wrapping_add(CHUNK * threads);
                    }
                    None
                })
            })
            .collect();
        // Every thread stops once one finds a nonce; any found nonce will do.
        handles
            .into_iter()
            .find_map(|h| h.join().ok().flatten())
            .unwrap_or(0)
    })
}
