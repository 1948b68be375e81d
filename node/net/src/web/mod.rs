//! The HTTP/1.1 connection loop shared by the web gateway and the panel:
//! one task per connection, a bounded pool of them fair to strangers
//! ([`crate::fair`]: at most half from one address; when full, the
//! connection silent the longest is closed for a newcomer), a header timeout, a
//! connection that moves no byte for [`STALL`] closed, and an end at
//! shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::fair::Tracked;
use crate::fair::{self, Progress};
use crate::transport::{Listener, TransportError};

/// A connection that moves no byte either way for this long is closed: a
/// body that never comes, an answer never read, an idle keep-alive (nginx
/// closes idle keep-alives after 75 s).
pub const STALL: Duration = Duration::from_secs(60);

/// Who sent a request, as its listener tells clients apart: the source
/// address without its port on TCP (`127.0.0.1`, `192.168.1.20`); on an
/// onion service, the rendezvous circuit where the transport tells them
/// apart (arti: `onion (web) circuit 17`; Tor hides who is behind it, and
/// a client may build several, each costing it a rendezvous), else the
/// listener's one name for every client (C tor). Put in each request's
/// extensions by [`serve`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Client(pub String);

impl Client {
    /// Whether this names one client (an address, a circuit), not a whole
    /// class of clients (every client of a C tor onion service).
    pub fn is_one(&self) -> bool {
        self.0.parse::<std::net::IpAddr>().is_ok()
            || self
                .0
                .rsplit_once(" circuit ")
                .is_some_and(|(_, n)| n.parse::<u64>().is_ok())
    }

    /// The client named by a listener's description of a stream's origin.
    pub fn from_origin(from: &str) -> Client {
        match from.parse::<std::net::SocketAddr>() {
            Ok(a) => Client(a.ip().to_canonical().to_string()),
            Err(_) => Client(from.to_string()),
        }
    }
}

/// How a server takes its connections.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Connections served at once, at most half from one address; a
    /// newcomer to a full pool closes the one silent the longest.
    pub max_connections: usize,
    /// Time a client has to send a request's headers.
    pub header_timeout: Duration,
    /// A name for logs.
    pub name: &'static str,
}

/// Serves `listener` with `handler` until `shutdown`.
pub async fn serve<H, F, B>(
    mut listener: Box<dyn Listener>,
    limits: ServeLimits,
    handler: H,
    shutdown: CancellationToken,
    tasks: TaskTracker,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let pool = Arc::new(Mutex::new(fair::Pool::new(
        limits.max_connections,
        limits.max_connections.div_ceil(2),
    )));
    let name = limits.name;
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        let (stream, from) = match accepted {
            Ok(a) => a,
            Err(TransportError::Closed) => return,
            Err(e) => {
                tracing::debug!(error = %e, "{name}: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let client = Client::from_origin(&from);
        let progress = Progress::new();
        let stop = shutdown.child_token();
        let taken = pool.lock().expect(crate::HELD).take(
            client.clone(),
            client.is_one(),
            progress.clone(),
            stop.clone(),
        );
        if let fair::Taken::Evicted(_) = taken {
            tracing::debug!(
                from,
                "{name} full: the connection silent longest was closed for a new one"
            );
        }
        let id = taken.id();
        let handler = handler.clone();
        let pool = pool.clone();
        tasks.spawn(async move {
            let stream = Tracked::new(stream, progress.clone());
            let service = service_fn(move |mut req: Request<Incoming>| {
                let handler = handler.clone();
                req.extensions_mut().insert(client.clone());
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                () = stop.cancelled() => {}
                () = stalled(&progress) => tracing::debug!("{name}: a connection moved nothing for {STALL:?}: closed"),
                r = conn => if let Err(e) = r {
                    tracing::debug!(error = %e, "{name} connection ended");
                },
            }
            pool.lock().expect(crate::HELD).release(id);
        });
    }
}

/// Ends once `progress` has seen no byte for [`STALL`].
async fn stalled(progress: &Progress) {
    loop {
        let due = progress.last() + STALL;
        if tokio::time::Instant::now() >= due {
            return;
        }
        tokio::time::sleep_until(due).await;
    }
}

#[cfg(test)]
mod tests {
    use super::Client;

    #[test]
    fn clients_are_told_apart_by_address_or_circuit() {
        let tcp = Client::from_origin("192.168.1.20:51234");
        assert_eq!(tcp, Client("192.168.1.20".into()));
        assert!(tcp.is_one());
        let mapped = Client::from_origin("[::ffff:127.0.0.1]:80");
        assert_eq!(mapped, Client("127.0.0.1".into()));
        let circuit = Client::from_origin("onion (web) circuit 17");
        assert!(circuit.is_one());
        assert_ne!(circuit, Client::from_origin("onion (web) circuit 18"));
        // C tor: every client of a service arrives under its one label.
        assert!(!Client::from_origin("onion (ctor web)").is_one());
        assert!(!Client::from_origin("onion circuit x").is_one());
    }
}
