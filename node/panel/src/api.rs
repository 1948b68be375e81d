//! What the panel asks of the node: a typed API the daemon implements.

use warren_api::Status;
use warren_api::control::{Request, Response};
use warren_files::FilesHandle;
use warren_peers::{PeerInfo, TrustInfo};
use warren_proto::NodeId;

/// The node as the panel sees it. Every action a page or the JSON API
/// takes is a control request ([`NodeApi::dispatch`]), answered by the
/// same code path as the control socket's.
#[async_trait::async_trait]
pub trait NodeApi: Send + Sync + 'static {
    /// The node's identity.
    fn id(&self) -> NodeId;

    /// The files service.
    fn files(&self) -> FilesHandle;

    /// The node at a glance (`warren status --json`).
    ///
    /// # Errors
    /// The node is shutting down.
    async fn status(&self) -> warren_peers::Result<Status>;

    /// Every known node.
    ///
    /// # Errors
    /// The node is shutting down.
    async fn peers(&self) -> warren_peers::Result<Vec<PeerInfo>>;

    /// The trusted nodes.
    ///
    /// # Errors
    /// The node is shutting down.
    async fn trust_list(&self) -> warren_peers::Result<Vec<TrustInfo>>;

    /// Answers a control request (`ok` with its answer, or an error in
    /// words), as the control socket does.
    async fn dispatch(&self, req: Request) -> Response;
}
