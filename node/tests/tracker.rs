//! The tracker as a stranger sees it: a real `warren` process with a
//! public share, and a hand-driven peer on the tracker channel. A new
//! connection hears the node's public swarm and its catalogue entry; a
//! stranger who asks who has a swarm gets the node's record; a stranger's
//! sync and mirror requests are refused and counted, and a box keeps no
//! mirror for one.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::time::Duration;

use common::data::random_file;
use common::raw::{RawPeer, keypair};
use common::{NodeProc, TEST_BITS, json, listen_addr, wait_for, write_config};
use warren_proto::content::{ContentId, SwarmId};
use warren_proto::msg::Message;
use warren_proto::tracker::TrackerMsg;
use warren_proto::{NodeId, ProtocolVersion};

/// The tracker messages the node sends within `secs`, in order.
async fn tracker_messages(peer: &mut RawPeer, secs: u64) -> Vec<TrackerMsg> {
    let mut got = Vec::new();
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    while let Ok(frame) = tokio::time::timeout_at(end, peer.recv()).await {
        let Some((h, p)) = frame else { break };
        if let Ok(Message::Tracker(m)) = Message::decode(ProtocolVersion::LATEST, h.channel, &p) {
            got.push(m);
        }
    }
    got
}

#[test]
fn a_stranger_hears_public_swarms_and_gets_answers_but_no_sync_and_no_mirror() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    // A box: it keeps mirrors for the nodes it trusts, and only for them.
    write_config(&dir, "[node]\nrole = \"box\"\n");
    let node = NodeProc::start(&dir, &[]);
    let src = tmp.path().join("public.bin");
    random_file(&src, 200_000, 5);
    let share = json(
        &dir,
        &["share", src.to_str().unwrap(), "--public", "--json"],
    );
    let content = ContentId::from_base32(share["content"].as_str().unwrap()).unwrap();
    let swarm = SwarmId::from(content);
    let status = node.status();
    let at = listen_addr(&status);
    let id: NodeId = status["id"].as_str().unwrap().parse().unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut peer = RawPeer::connect(at, id, keypair(), TEST_BITS).await;
        // On connecting: the public swarm is announced and the catalogue
        // entry the node published is sent.
        let first = tracker_messages(&mut peer, 5).await;
        assert!(
            first.iter().any(
                |m| matches!(m, TrackerMsg::Announce { swarms } if swarms.as_slice().contains(&swarm))
            ),
            "announced on connect: {first:?}"
        );
        assert!(
            first.iter().any(|m| matches!(m, TrackerMsg::Publish { entry }
                if entry.entry.content == content && entry.entry.publisher == id)),
            "catalogue entry on connect: {first:?}"
        );

        // Who has it: the node itself, with its signed record.
        peer.send(Message::Tracker(TrackerMsg::WhoHas { swarm }))
            .await
            .unwrap();
        let answer = tracker_messages(&mut peer, 3).await;
        assert!(
            answer.iter().any(|m| matches!(m, TrackerMsg::Providers { swarm: s, providers }
                if *s == swarm && providers.as_slice().iter().any(|r| r.id() == id))),
            "providers: {answer:?}"
        );

        // A stranger may not sync the node's tracker nor ask it to mirror.
        peer.send(Message::Tracker(TrackerMsg::SyncGet { since: 0 }))
            .await
            .unwrap();
        peer.send(Message::Tracker(TrackerMsg::Mirror { swarm, size: 1 }))
            .await
            .unwrap();
        let after = tracker_messages(&mut peer, 3).await;
        assert!(
            !after
                .iter()
                .any(|m| matches!(m, TrackerMsg::SyncPage { .. })),
            "no sync page for a stranger: {after:?}"
        );
    });
    wait_for(Duration::from_secs(10), "both refusals counted", || {
        let m = &node.status()["metrics"]["rejected"];
        (m["sync_from_untrusted"].as_u64() == Some(1)
            && m["mirror_from_untrusted"].as_u64() == Some(1))
        .then_some(())
    });
    let mirrors = json(&dir, &["mirrors", "--json"]);
    assert_eq!(
        mirrors["mirrors"].as_array().map(Vec::len),
        Some(0),
        "no mirror kept for a stranger: {mirrors}"
    );
}
