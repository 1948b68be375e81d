//! Control-socket handlers for files: the long ones stream progress.

use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use warren_proto::link::{Link, Target};
use warren_proto::{PeerAddr, TransportHint};

use super::Response;
use super::answers::CatalogueEntry;
use super::server::{Writer, emit, event, failure, success};
use crate::daemon::NodeHandle;
use crate::files::{DownloadState, FilesError, Progress, ShareOptions};

/// Hashing progress updates queued. Full: an update is skipped.
const PROGRESS_QUEUE: usize = 16;

/// Runs a files job that reports `(done, total)` progress, sending each
/// update to the client as `{"<what>": {"done": …, "total": …}}`, then its
/// answer.
async fn with_progress<T, F>(
    what: &'static str,
    write: &mut Writer,
    job: impl FnOnce(mpsc::Sender<Progress>) -> F,
) -> std::io::Result<Response>
where
    T: Serialize + Send + 'static,
    F: std::future::Future<Output = Result<T, FilesError>> + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel(PROGRESS_QUEUE);
    let job = tokio::spawn(job(tx));
    while let Some((done, total)) = rx.recv().await {
        emit(
            write,
            &event(serde_json::json!({ what: { "done": done, "total": total } })),
        )
        .await?;
    }
    Ok(match job.await {
        Ok(Ok(answer)) => success(answer),
        Ok(Err(e)) => failure(e.to_string()),
        Err(e) => failure(format!("{what} task failed: {e}")),
    })
}

pub(super) async fn share(
    node: &NodeHandle,
    path: String,
    options: ShareOptions,
    write: &mut Writer,
) -> std::io::Result<Response> {
    let files = node.files();
    with_progress("hashing", write, move |tx| async move {
        files.share(path.into(), options, tx).await
    })
    .await
}

pub(super) async fn recheck(
    node: &NodeHandle,
    id: String,
    write: &mut Writer,
) -> std::io::Result<Response> {
    let files = node.files();
    with_progress("checking", write, move |tx| async move {
        files.recheck(id, tx).await
    })
    .await
}

pub(super) async fn get(
    node: &NodeHandle,
    link: String,
    out: String,
    wait: bool,
    write: &mut Writer,
) -> std::io::Result<Response> {
    let link: Link = match link.parse() {
        Ok(l) => l,
        Err(e) => return Ok(failure(e.to_string())),
    };
    let mut status = match node.files().get(link, out.into()).await {
        Ok(s) => s,
        Err(e) => return Ok(failure(e.to_string())),
    };
    if !wait {
        let now = status.borrow().clone();
        return Ok(success(now));
    }
    loop {
        let now = status.borrow_and_update().clone();
        if now.state.stopped() {
            return Ok(if now.state == DownloadState::Complete {
                success(now)
            } else {
                failure(now.error.clone().unwrap_or_else(|| {
                    format!(
                        "the download is {} (paused, or the node stopped); the same `warren get` resumes it",
                        now.state
                    )
                }))
            });
        }
        // If the client went away this fails and the download goes on.
        emit(write, &event(serde_json::json!({ "download": now }))).await?;
        tokio::select! {
            r = status.changed() => if r.is_err() { return Ok(failure("the download task ended".into())) },
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

pub(super) async fn catalogue(node: &NodeHandle) -> Result<Response, crate::Error> {
    let entries = node.catalogue().await?;
    let peers = node.peers().await?;
    let own = node.status().await?;
    let v: Vec<CatalogueEntry> = entries
        .into_iter()
        .map(|s| {
            let e = s.entry;
            let publisher = e.publisher.to_string();
            let at: PeerAddr = if publisher == own.id {
                own.address.parse().ok()
            } else {
                peers
                    .iter()
                    .find(|p| p.id == publisher)
                    .and_then(|p| p.address.as_ref()?.parse().ok())
            }
            .unwrap_or_else(|| {
                PeerAddr::new(
                    e.publisher,
                    TransportHint::Onion {
                        port: warren_proto::DEFAULT_ONION_PORT,
                    },
                )
            });
            CatalogueEntry {
                content: e.content.to_string(),
                name: e.name.to_string(),
                size: e.size,
                files: e.files,
                description: e.description.map(|d| d.to_string()),
                tags: e.tags.as_slice().iter().map(|t| t.to_string()).collect(),
                publisher,
                published_at: e.published_at,
                link: Link {
                    at,
                    target: Target::Public(e.content),
                }
                .to_string(),
            }
        })
        .collect();
    Ok(success(v))
}
