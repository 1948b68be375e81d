//! Serving the control socket.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{MAX_REQUEST, Request, Response};
use crate::daemon::NodeHandle;
use crate::fair::{self, Progress, Tracked};
use crate::{Error, Result};

/// Time a client has to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Time one answer line may take to be written: a client that reads
/// nothing for this long is closed. (Long requests write a progress line
/// at least every second.)
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// A client that read or wrote within this long is never closed for a
/// newcomer (a burst of `warren` commands waits its turn instead).
const BUSY_GRACE: Duration = Duration::from_secs(5);

/// Where a client's answer lines go; writing notes the client's progress.
pub(super) type Writer = Tracked<OwnedWriteHalf>;

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

    /// Serves clients until `shutdown`: at most `max_clients` at once, at
    /// most half of them one process's (told apart by the peer's process
    /// id, `SO_PEERCRED`). A newcomer to a full pool closes the client
    /// that has read or written nothing for the longest (see
    /// `crate::fair`) once it has been silent for 5 s (until
    /// then the newcomer waits), so a stuck script holding connections
    /// delays the owner's `warren status` by seconds, not forever. Removes
    /// the socket file at the end.
    pub async fn serve(self, node: NodeHandle, max_clients: usize, shutdown: CancellationToken) {
        let pool = Arc::new(Mutex::new(fair::Pool::new(
            max_clients,
            max_clients.div_ceil(2),
        )));
        let tasks = TaskTracker::new();
        'accept: loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                a = self.listener.accept() => a,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let process = stream.peer_cred().ok().and_then(|c| c.pid());
            let progress = Progress::new();
            let stop = shutdown.child_token();
            let taken = loop {
                let taken = pool.lock().expect(crate::HELD).try_take(
                    process,
                    process.is_some(),
                    progress.clone(),
                    stop.clone(),
                    BUSY_GRACE,
                );
                if let Some(t) = taken {
                    break t;
                }
                // Every client is at work: wait for one to finish.
                tokio::select! {
                    () = shutdown.cancelled() => break 'accept,
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                }
            };
            if let fair::Taken::Evicted(_) = taken {
                tracing::debug!(
                    ?process,
                    "control socket full: the client silent longest was closed for a new one"
                );
            }
            let id = taken.id();
            let node = node.clone();
            let pool = pool.clone();
            tasks.spawn(async move {
                tokio::select! {
                    () = stop.cancelled() => {}
                    r = serve_client(stream, &node, progress) => if let Err(e) = r {
                        tracing::debug!(error = %e, "control client");
                    },
                }
                {
                    let mut p = pool.lock().expect(crate::HELD);
                    p.release(id);
                }
            });
        }
        tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), tasks.wait()).await;
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_client(
    stream: UnixStream,
    node: &NodeHandle,
    progress: Progress,
) -> std::io::Result<()> {
    let (read, write) = stream.into_split();
    let mut write = Tracked::new(write, progress.clone());
    let mut reader = BufReader::new(Tracked::new(read, progress).take(MAX_REQUEST));
    let mut line = Vec::new();
    let n = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_until(b'\n', &mut line))
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

/// Writes one line of the answer, within [`WRITE_TIMEOUT`].
pub(super) async fn emit(write: &mut Writer, r: &Response) -> std::io::Result<()> {
    let mut out = serde_json::to_vec(r).unwrap_or_default();
    out.push(b'\n');
    tokio::time::timeout(WRITE_TIMEOUT, write.write_all(&out))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
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

async fn handle(req: Request, node: &NodeHandle, write: &mut Writer) -> std::io::Result<Response> {
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
