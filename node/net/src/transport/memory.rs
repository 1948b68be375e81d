//! An in-process transport for simulations and tests: many nodes in one
//! process, connected by in-memory pipes, under a clock the test controls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;
use warren_proto::{PeerAddr, TransportHint};

use super::{BoxStream, Listener, Transport, TransportError};

/// Bytes buffered in each direction of an in-memory pipe.
const PIPE_BUFFER: usize = 64 * 1024;
/// Streams waiting to be accepted per listener (like a TCP backlog).
/// Full: the dial is refused.
const BACKLOG: usize = 64;

#[derive(Default)]
struct Board {
    listeners: HashMap<u32, mpsc::Sender<BoxStream>>,
    next_port: u32,
}

/// Connects in-memory transports to each other. Clone it to share.
#[derive(Clone, Default)]
pub struct Switchboard(Arc<Mutex<Board>>);

impl Switchboard {
    /// An empty switchboard.
    pub fn new() -> Self {
        Self::default()
    }

    /// A transport on this switchboard with a fresh port.
    pub fn transport(&self) -> MemoryTransport {
        let port = {
            let mut b = self.0.lock().expect(crate::HELD);
            b.next_port += 1;
            b.next_port
        };
        MemoryTransport {
            board: self.clone(),
            port,
        }
    }

    /// Takes `port` off the board, as if its node lost its network.
    pub fn unplug(&self, port: u32) {
        self.0.lock().expect(crate::HELD).listeners.remove(&port);
    }
}

/// One node's place on a [`Switchboard`].
#[derive(Clone)]
pub struct MemoryTransport {
    board: Switchboard,
    port: u32,
}

impl MemoryTransport {
    /// This transport's port on the switchboard.
    pub fn port(&self) -> u32 {
        self.port
    }
}

struct MemoryIncoming(mpsc::Receiver<BoxStream>);

#[async_trait]
impl Listener for MemoryIncoming {
    async fn accept(&mut self) -> Result<(BoxStream, String), TransportError> {
        match self.0.recv().await {
            Some(s) => Ok((s, "memory".into())),
            None => Err(TransportError::Io(std::io::ErrorKind::NotConnected.into())),
        }
    }
}

#[async_trait]
impl Transport for MemoryTransport {
    fn name(&self) -> &'static str {
        "memory"
    }

    async fn listen(&self) -> Result<(Box<dyn Listener>, Vec<TransportHint>), TransportError> {
        let (tx, rx) = mpsc::channel(BACKLOG);
        self.board
            .0
            .lock()
            .expect(crate::HELD)
            .listeners
            .insert(self.port, tx);
        Ok((
            Box::new(MemoryIncoming(rx)),
            vec![TransportHint::Memory { port: self.port }],
        ))
    }

    fn can_dial(&self, hint: &TransportHint) -> bool {
        matches!(hint, TransportHint::Memory { .. })
    }

    async fn dial(&self, addr: &PeerAddr) -> Result<BoxStream, TransportError> {
        let TransportHint::Memory { port } = addr.hint else {
            return Err(TransportError::Unreachable(addr.to_string()));
        };
        let tx = self
            .board
            .0
            .lock()
            .expect(crate::HELD)
            .listeners
            .get(&port)
            .cloned();
        let Some(tx) = tx else {
            return Err(TransportError::Refused(format!("memory:{port}")));
        };
        let (ours, theirs) = tokio::io::duplex(PIPE_BUFFER);
        tx.try_send(Box::new(theirs))
            .map_err(|_| TransportError::Refused(format!("memory:{port}")))?;
        Ok(Box::new(ours))
    }
}
