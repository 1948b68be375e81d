//! Serving the control socket.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{MAX_REQUEST, Request, Response};
use crate::node::NodeHandle;
use crate::{Error, Result};

/// A bound control socket.
pub struct ControlServer {
    listener: UnixListener,
    path: PathBuf,
}

impl ControlServer {
    /// Binds `path`, replacing a stale socket; refuses if a node answers there.
    pub async fn bind(path: &Path) -> Result<ControlServer> {
        if path.exists() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(Error::DataDirInUse(
                    path.parent().unwrap_or(path).to_path_buf(),
                ));
            }
            std::fs::remove_file(path)
                .map_err(Error::io(format!("removing stale {}", path.display())))?;
        }
        let listener =
            UnixListener::bind(path).map_err(Error::io(format!("binding {}", path.display())))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(Error::io(format!("securing {}", path.display())))?;
        Ok(ControlServer {
            listener,
            path: path.to_path_buf(),
        })
    }

    /// Serves clients until `shutdown`; at most `max_clients` at once (the
    /// rest wait in the socket's backlog). Removes the socket file at the end.
    pub async fn serve(self, node: NodeHandle, max_clients: usize, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(max_clients));
        let tasks = TaskTracker::new();
        loop {
            let permit = tokio::select! {
                () = shutdown.cancelled() => break,
                p = slots.clone().acquire_owned() => p,
            };
            let Ok(permit) = permit else { break };
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                a = self.listener.accept() => a,
            };
            match accepted {
                Ok((stream, _)) => {
                    let node = node.clone();
                    tasks.spawn(async move {
                        let _permit = permit;
                        if let Err(e) = serve_client(stream, &node).await {
                            tracing::debug!(error = %e, "control client");
                        }
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), tasks.wait()).await;
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_client(stream: UnixStream, node: &NodeHandle) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read.take(MAX_REQUEST));
    let mut line = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), reader.read_until(b'\n', &mut line))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    let response = if n == 0 {
        return Ok(());
    } else if !line.ends_with(b"\n") {
        failure(format!(
            "request longer than {MAX_REQUEST} bytes or not newline-terminated"
        ))
    } else {
        match std::str::from_utf8(&line) {
            Err(e) => failure(format!("bad request: not UTF-8 ({e})")),
            Ok(text) => match serde_json::from_str::<Request>(text) {
                Ok(req) => handle(req, node, &mut write).await?,
                Err(e) => failure(format!("bad request: {e}")),
            },
        }
    };
    emit(&mut write, &response).await?;
    write.shutdown().await
}

/// Writes one line of the answer.
pub(super) async fn emit(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    r: &Response,
) -> std::io::Result<()> {
    let mut out = serde_json::to_vec(r).unwrap_or_default();
    out.push(b'\n');
    write.write_all(&out).await
}

/// An event line.
pub(super) fn event(v: serde_json::Value) -> Response {
    Response {
        event: Some(v),
        ok: false,
        result: None,
        error: None,
    }
}

pub(super) fn failure(error: String) -> Response {
    Response {
        event: None,
        ok: false,
        result: None,
        error: Some(error),
    }
}

pub(super) fn success<T: serde::Serialize>(value: T) -> Response {
    match serde_json::to_value(value) {
        Ok(v) => Response {
            event: None,
            ok: true,
            result: Some(v),
            error: None,
        },
        Err(e) => failure(e.to_string()),
    }
}

async fn handle(
    req: Request,
    node: &NodeHandle,
    write: &mut tokio::net::unix::OwnedWriteHalf,
) -> std::io::Result<Response> {
    match req {
        // The long ones stream progress to the socket; the rest answer once.
        Request::Share { path, options } => super::files::share(node, path, options, write).await,
        Request::Get {
            link,
            out,
            wait: true,
        } => super::files::get(node, link, out, true, write).await,
        Request::Recheck { id } => super::files::recheck(node, id, write).await,
        req => Ok(super::dispatch(req, node).await),
    }
}
