//! The client side, used by the `warren` command.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::{MAX_RESPONSE, Request, Response, SOCKET_NAME};
use crate::{Error, Result};

/// Sends `req` to the node running in `data_dir`; returns its result.
pub async fn request(data_dir: &Path, req: &Request) -> Result<serde_json::Value> {
    let path = data_dir.join(SOCKET_NAME);
    let stream = UnixStream::connect(&path)
        .await
        .map_err(|_| Error::NotRunning(data_dir.to_path_buf()))?;
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(req).map_err(|e| Error::Remote(e.to_string()))?;
    line.push(b'\n');
    write
        .write_all(&line)
        .await
        .map_err(Error::io("writing to the control socket"))?;
    let mut reader = BufReader::new(read.take(MAX_RESPONSE));
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(30), reader.read_line(&mut answer))
        .await
        .map_err(|_| Error::Remote("the node did not answer within 30 s".into()))?
        .map_err(Error::io("reading from the control socket"))?;
    let resp: Response = serde_json::from_str(&answer)
        .map_err(|e| Error::Remote(format!("unreadable answer from the node: {e}")))?;
    match (resp.ok, resp.result, resp.error) {
        (true, Some(v), _) => Ok(v),
        (true, None, _) => Ok(serde_json::Value::Null),
        (false, _, e) => Err(Error::Remote(e.unwrap_or_else(|| "request failed".into()))),
    }
}
