//! Shares being hashed for the panel: hashing a large folder takes minutes,
//! so the page that asked answers at once and the shares page shows the
//! progress (refreshing itself) until the share is ready or failed.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::NodeApi;
use warren_files::ShareOptions;

/// Jobs listed at once; finished ones are dropped first to make room, and
/// with no finished one a new job is refused.
const MAX_JOBS: usize = 8;
/// Progress updates queued per job. Full: an update is skipped.
const PROGRESS_QUEUE: usize = 4;

/// One share in the making.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) path: String,
    pub(crate) done: u64,
    pub(crate) total: u64,
    /// `None` while hashing; then the outcome in words.
    pub(crate) outcome: Option<Result<String, String>>,
}

/// The jobs.
#[derive(Debug, Default, Clone)]
pub(crate) struct Jobs(Arc<Mutex<Vec<Job>>>);

impl Jobs {
    /// A snapshot, oldest first.
    pub(crate) fn list(&self) -> Vec<Job> {
        self.0.lock().expect(crate::HELD).clone()
    }

    /// Forgets finished jobs.
    pub(crate) fn clear_finished(&self) {
        {
            let mut j = self.0.lock().expect(crate::HELD);
            j.retain(|j| j.outcome.is_none());
        }
    }

    /// Starts sharing `path` (already checked) in the background.
    pub(crate) fn start(
        &self,
        node: std::sync::Arc<dyn NodeApi>,
        path: String,
        options: ShareOptions,
    ) -> Result<(), String> {
        {
            let mut jobs = self.0.lock().expect(crate::HELD);
            if jobs.len() >= MAX_JOBS {
                match jobs.iter().position(|j| j.outcome.is_some()) {
                    Some(i) => {
                        jobs.remove(i);
                    }
                    None => {
                        return Err(format!(
                            "{MAX_JOBS} shares are being hashed already; wait for one"
                        ));
                    }
                }
            }
            jobs.push(Job {
                path: path.clone(),
                done: 0,
                total: 0,
                outcome: None,
            });
        }
        let me = self.clone();
        let key = path.clone();
        let update = move |f: &dyn Fn(&mut Job)| {
            {
                let mut jobs = me.0.lock().expect(crate::HELD);
                // Indices move when older jobs are dropped: find by path and state.
                if let Some(j) = jobs
                    .iter_mut()
                    .rev()
                    .find(|j| j.path == key && j.outcome.is_none())
                {
                    f(j);
                }
            }
        };
        tokio::spawn(async move {
            let (tx, mut rx) = mpsc::channel(PROGRESS_QUEUE);
            let files = node.files();
            let p = path.clone();
            let opts = options.clone();
            let hashing = tokio::spawn(async move { files.share(p.into(), opts, tx).await });
            while let Some((done, total)) = rx.recv().await {
                update(&|j| {
                    j.done = done;
                    j.total = total;
                });
            }
            // The same call the control socket's streaming `share` makes.
            let outcome = match hashing.await {
                Ok(Ok(info)) => Ok(info.name),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("share task failed: {e}")),
            };
            update(&|j| j.outcome = Some(outcome.clone()));
        });
        Ok(())
    }
}
