//! The identity a download dials with: a fresh key (with its proof of
//! work) for each download, so a provider learns neither which node is
//! downloading nor that two downloads come from the same node.

use std::sync::Arc;

use tokio::sync::watch;
use warren_proto::{Role, Services, SignedNodeRecord};

use crate::FilesError;
use crate::conn::ConnCtx;
use crate::identity::Identity;

/// A download's own identity and the context its connections dial with.
pub(crate) struct Anon {
    identity: Identity,
    record: watch::Sender<SignedNodeRecord>,
    issued_at: u64,
    validity: u64,
    /// What transfer connections dial with.
    pub(crate) ctx: Arc<ConnCtx>,
}

impl Anon {
    /// Mines a fresh identity (on a blocking thread) and builds its context.
    pub(crate) async fn new(node: &Arc<ConnCtx>) -> Result<Anon, FilesError> {
        let difficulty = node.policy.difficulty;
        let identity =
            tokio::task::spawn_blocking(move || Identity::generate(difficulty)).await??;
        // Records may be valid this long; re-signed at half of it.
        let validity = node.policy.max_validity.max(120);
        let now = node.clock.unix_now();
        let record = sign(&identity, now, validity)?;
        let (tx, rx) = watch::channel(record);
        let ctx = Arc::new(node.for_extra(
            identity.keypair.clone(),
            rx,
            crate::conn::Router::new(),
            node.shutdown.clone(),
        ));
        Ok(Anon {
            identity,
            record: tx,
            issued_at: now,
            validity,
            ctx,
        })
    }

    /// Re-signs the record when half its validity has passed.
    pub(crate) fn refresh(&mut self) {
        let now = self.ctx.clock.unix_now();
        if now.saturating_sub(self.issued_at) < self.validity / 2 {
            return;
        }
        if let Ok(r) = sign(&self.identity, now, self.validity) {
            let _ = self.record.send(r);
            self.issued_at = now;
        }
    }
}

fn sign(identity: &Identity, now: u64, validity: u64) -> Result<SignedNodeRecord, FilesError> {
    identity
        .record(Role::Member, Services(0), &[], now, validity)
        .map_err(FilesError::from)
}
