//! The relay service (`warren/relay/1`, SPEC.md §16): a node it trusts
//! gets the current relay claim (or word that there is none), once.

use std::time::Duration;

use tokio::sync::watch;
use warren_net::conn::{ServiceConn, ServiceHandler};
use warren_proto::relay::{RelayMsg, SignedRelayClaim};

/// How long the asker may keep the connection after the answer.
const LINGER: Duration = Duration::from_secs(30);

/// Answers with the claim the relay actor publishes.
pub struct RelayService {
    claims: watch::Receiver<Option<SignedRelayClaim>>,
}

impl RelayService {
    /// A service answering with what `claims` holds at the time.
    pub fn new(claims: watch::Receiver<Option<SignedRelayClaim>>) -> RelayService {
        RelayService { claims }
    }
}

#[async_trait::async_trait]
impl ServiceHandler for RelayService {
    async fn accept(&self, mut conn: ServiceConn) {
        // The claim ties the box's relay, hence its address, to the node:
        // only nodes it trusts get it.
        if !conn.trusted() {
            return;
        }
        let msg = match self.claims.borrow().clone() {
            Some(c) => RelayMsg::Claim(c),
            None => RelayMsg::NoRelay,
        };
        if conn.send(msg.encode()).await.is_err() {
            return;
        }
        // Until the asker hangs up, so the answer is not cut short.
        let _ = tokio::time::timeout(LINGER, conn.recv()).await;
    }
}
