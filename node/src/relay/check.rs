//! Checking another node's relay claim (SPEC.md §16): ask it over
//! `warren/relay/1`, check the signature by the node dialed, then look the
//! relay up in this node's own consensus (through its tor).

use std::time::Duration;

use warren_api::relay::RelayCheck;
use warren_proto::PeerAddr;
use warren_proto::relay::{RelayMsg, SERVICE};
use warren_proto::service::ServiceName;

use crate::Refusal;
use crate::daemon::NodeHandle;

/// How long the node asked may take to answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(60);
/// Clock difference tolerated on a claim's issue time, seconds.
const SKEW: u64 = 300;

/// Asks `addr` for its relay claim and checks it.
///
/// # Errors
/// This node cannot look at a consensus (not on C tor); the node asked
/// cannot be reached, runs no relay, does not trust us, or its claim does
/// not hold ([`Refusal::Claim`], saying why).
pub async fn check(node: &NodeHandle, addr: PeerAddr) -> crate::Result<RelayCheck> {
    let relay = node.relay()?;
    let claim_err = |why: String| crate::Error::Refused(Refusal::Claim(why));
    let mut conn = node.dial_service(&addr, ServiceName::new(SERVICE)?).await?;
    let answer = tokio::time::timeout(ANSWER_WITHIN, conn.recv())
        .await
        .map_err(|_| claim_err("the node did not answer in time".into()))?
        .map_err(|e| claim_err(format!("the connection failed: {e}")))?
        .ok_or_else(|| {
            claim_err(
                "the node closed without a claim (it gives it only to nodes it trusts)".into(),
            )
        })?;
    drop(conn);
    let signed = match RelayMsg::decode(&answer)? {
        RelayMsg::NoRelay => return Err(claim_err("the node runs no relay now".into())),
        RelayMsg::Claim(c) => c,
    };
    let claim = signed.verify(relay.now(), SKEW)?;
    if claim.node != addr.id {
        return Err(claim_err("the claim is signed by another node".into()));
    }
    let fingerprint = claim.fingerprint_hex();
    let entry = relay.lookup(fingerprint.clone()).await?;
    let flags = warren_net::tor::relay::check_claim(entry.as_deref(), claim)
        .map_err(|e| claim_err(e.to_string()))?;
    Ok(RelayCheck {
        node: addr.id.to_string(),
        fingerprint,
        nickname: claim.nickname(),
        flags,
        verified: true,
    })
}
