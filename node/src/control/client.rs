//! The client side, used by the `warren` command.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::{MAX_RESPONSE, Request, Response, SOCKET_NAME};
use crate::{Error, Result};

/// Sends `req` to the node running in `data_dir`; returns its result.
pub async fn request(data_dir: &Path, req: &Request) -> Result<serde_json::Value> {
    request_events(data_dir, req, &mut |_| {}).await
}

/// Like [`request`], calling `on_event` for each progress event first.
pub async fn request_events(
    data_dir: &Path,
    req: &Request,
    on_event: &mut dyn FnMut(&serde_json::Value),
) -> Result<serde_json::Value> {
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
    let mut reader = BufReader::new(read);
    let resp: Response = loop {
        let mut answer = String::new();
        let mut limited = (&mut reader).take(MAX_RESPONSE);
        // Events come at least every few seconds while work goes on.
        let n = tokio::time::timeout(Duration::from_secs(60), limited.read_line(&mut answer))
            .await
            .map_err(|_| Error::Remote("the node did not answer within 60 s".into()))?
            .map_err(Error::io("reading from the control socket"))?;
        if n == 0 {
            return Err(Error::Remote(
                "the node closed the control connection".into(),
            ));
        }
        let resp: Response = serde_json::from_str(&answer)
            .map_err(|e| Error::Remote(format!("unreadable answer from the node: {e}")))?;
        match &resp.event {
            Some(ev) => on_event(ev),
            None => break resp,
        }
    };
    match (resp.ok, resp.result, resp.error) {
        (true, Some(v), _) => Ok(v),
        (true, None, _) => Ok(serde_json::Value::Null),
        (false, _, e) => Err(Error::Remote(e.unwrap_or_else(|| "request failed".into()))),
    }
}
