//! One code path per action: the control socket and the panel's JSON API
//! both answer requests here.

use tokio::sync::mpsc;
use warren_proto::{NodeId, PeerAddr};

use super::answers::{AskedBoxes, Done, Paused, Relaunching, Removed, Stopping};
use super::server::{failure, success};
use super::{Request, Response};
use crate::daemon::NodeHandle;

/// Messages of a thread shown when the request names no number.
const DEFAULT_THREAD: usize = 200;
/// The most messages of a thread one answer holds.
const MAX_THREAD: usize = 2_000;

/// Accepts an onion address or a full peer address.
fn parse_id(s: &str) -> crate::Result<NodeId> {
    match s.parse::<PeerAddr>() {
        Ok(a) => Ok(a.id),
        Err(_) => Ok(NodeId::from_onion(s.trim())?),
    }
}

fn board(node: &NodeHandle) -> crate::Result<crate::board::BoardHandle> {
    node.board()
        .ok_or(crate::Error::Refused(crate::Refusal::NoBoard))
}

/// Answers `req` at once: a share is answered when hashed (progress is not
/// reported), a download when started.
pub async fn dispatch(req: Request, node: &NodeHandle) -> Response {
    answer(req, node)
        .await
        .unwrap_or_else(|e| failure(e.to_string()))
}

async fn answer(req: Request, node: &NodeHandle) -> crate::Result<Response> {
    let files = node.files();
    let done = || success(Done {});
    Ok(match req {
        Request::Share { path, options } => {
            let (tx, mut rx) = mpsc::channel(1);
            let job = tokio::spawn(async move { files.share(path.into(), options, tx).await });
            while rx.recv().await.is_some() {}
            match job.await {
                Ok(r) => success(r?),
                Err(e) => failure(format!("share task failed: {e}")),
            }
        }
        Request::Get { link, out, .. } => {
            let status = files.get(link.parse()?, out.into()).await?;
            let now = status.borrow().clone();
            success(now)
        }
        Request::Shares => success(files.shares().await?),
        Request::Publish { id } => success(files.set_public(id).await?),
        Request::Unshare { id } => files.unshare(id).await.map(|()| done())?,
        Request::Downloads => success(files.downloads().await?),
        Request::Recheck { id } => {
            let (tx, mut rx) = mpsc::channel(1);
            let job = tokio::spawn(async move { files.recheck(id, tx).await });
            while rx.recv().await.is_some() {}
            match job.await {
                Ok(r) => success(r?),
                Err(e) => failure(format!("check task failed: {e}")),
            }
        }
        Request::Pause { link } => {
            let link: warren_proto::link::Link = link.parse()?;
            files.pause(link.swarm()).await?;
            success(Paused { paused: true })
        }
        Request::Forget { link } => {
            let link: warren_proto::link::Link = link.parse()?;
            files.forget(link.swarm()).await.map(|()| done())?
        }
        Request::Catalogue => super::files::catalogue(node).await?,
        Request::Mirror { link } => success(files.mirror(link.parse()?).await?),
        Request::Mirrors => success(files.mirrors().await?),
        Request::Unmirror { id } => files.unmirror(id).await.map(|()| done())?,
        Request::AskMirror { id } => {
            let asked = files.ask_mirror(id).await?;
            success(AskedBoxes(asked.iter().map(|n| n.to_string()).collect()))
        }
        Request::Status => success(node.status().await?),
        Request::Peers => success(node.peers().await?),
        Request::TrustList => success(node.trust_list().await?),
        Request::TrustAdd { address } => {
            success(node.trust_add(address.trim().parse::<PeerAddr>()?).await?)
        }
        Request::TrustRemove { id } => {
            let was = node.trust_remove(parse_id(&id)?).await?;
            success(Removed { removed: was })
        }
        Request::Relaunch => {
            if !node.relaunch().await? {
                return Err(crate::Error::Remote(
                    "this transport has no onion service".into(),
                ));
            }
            success(Relaunching { relaunching: true })
        }
        Request::BoardPress { press } => {
            board(node)?.press(press).await?;
            success(board(node)?.status())
        }
        Request::BoardSensors {
            temperature_c,
            under_voltage,
        } => {
            board(node)?
                .set_sensors(temperature_c, under_voltage)
                .await?;
            done()
        }
        Request::Send { to, text } => {
            let (id, address) = match to.trim().parse::<PeerAddr>() {
                Ok(a) => (a.id, Some(a.to_string())),
                Err(_) => (NodeId::from_onion(to.trim())?, None),
            };
            success(node.mail().send(id, address, text).await?)
        }
        Request::Conversations => success(node.mail().conversations().await?),
        Request::Messages { with, limit } => {
            let limit = limit.unwrap_or(DEFAULT_THREAD).min(MAX_THREAD);
            success(node.mail().thread(parse_id(&with)?, limit, true).await?)
        }
        Request::Mailboxes => success(node.mail().mailboxes().await?),
        Request::RelayOn => success(node.relay()?.set(true).await?),
        Request::RelayOff => success(node.relay()?.set(false).await?),
        Request::RelayStatus => success(node.relay()?.status()),
        Request::RelayCheck { address } => {
            success(crate::relay::check(node, address.trim().parse::<PeerAddr>()?).await?)
        }
        Request::Shutdown => {
            node.request_shutdown();
            success(Stopping { stopping: true })
        }
    })
}
