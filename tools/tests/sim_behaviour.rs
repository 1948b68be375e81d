//! Node behaviour over simulated hours: duplicate connections, full nodes,
//! record refresh and expiry, and how little an idle node writes.

use std::time::Duration;

use warren_tools::sim::{Sim, knowledge, sim_config, star};

#[tokio::test(start_paused = true)]
async fn two_nodes_dialing_each_other_keep_one_connection() {
    let sim = Sim::start(2, |_, _| sim_config()).await.unwrap();
    let (a, b) = (sim.nodes[0].addr, sim.nodes[1].addr);
    // Both trust each other at the same moment, so both dial in the same tick.
    let (ra, rb) = tokio::join!(
        sim.nodes[0].handle.trust_add(b),
        sim.nodes[1].handle.trust_add(a)
    );
    ra.unwrap();
    rb.unwrap();
    sim.run_until(Duration::from_secs(1), Duration::from_secs(60), |s| {
        s.iter().all(|s| s.connected_peers == 1)
    })
    .await
    .expect("connected");
    // It stays one connection, with the same direction on both sides, and
    // does not flap.
    tokio::time::sleep(Duration::from_secs(600)).await;
    let s = sim.statuses().await;
    assert_eq!((s[0].connected_peers, s[1].connected_peers), (1, 1));
    assert_eq!(
        s[0].inbound + s[1].inbound,
        1,
        "one side dialed, the other accepted"
    );
    let handshakes: u64 = s.iter().map(|s| s.metrics.net.handshakes_ok).sum();
    assert!(
        handshakes <= 4,
        "{handshakes} handshakes: the link is flapping"
    );
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_full_node_redirects_newcomers_to_others() {
    let sim = Sim::start(
        12,
        star(|i, c| {
            if i == 0 {
                c.limits.max_inbound = 3;
            }
        }),
    )
    .await
    .unwrap();
    sim.run_until(Duration::from_secs(1), Duration::from_secs(1800), |s| {
        knowledge(s)[0] >= 0.9
    })
    .await
    .expect("everyone learns the others despite the full bootstrap node");
    let s = sim.statuses().await;
    assert!(s[0].inbound <= 3, "{}", s[0].inbound);
    assert!(s[0].metrics.net.busy_redirects > 0);
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn records_are_reissued_and_dead_nodes_expire() {
    let mut sim = Sim::start(
        4,
        star(|_, c| {
            c.community.record_validity_secs = 120;
            c.community.max_record_validity_secs = 600;
        }),
    )
    .await
    .unwrap();
    sim.run_until(Duration::from_secs(1), Duration::from_secs(120), |s| {
        knowledge(s)[0] >= 1.0
    })
    .await
    .expect("all know all");
    // Half an hour: every record has been re-issued ~30 times, nobody is forgotten.
    tokio::time::sleep(Duration::from_secs(1800)).await;
    let s = sim.statuses().await;
    assert!(knowledge(&s)[0] >= 1.0, "{:?}", knowledge(&s));
    assert!(
        s.iter().all(|s| s.metrics.net.records_accepted >= 20),
        "records were re-issued and spread"
    );
    // A node that goes away is forgotten once its record expires.
    sim.stop(3).await;
    sim.unplug(3);
    tokio::time::sleep(Duration::from_secs(200)).await;
    for i in 0..3 {
        let st = sim.nodes[i].handle.status().await.unwrap();
        assert_eq!(
            st.known_peers, 2,
            "node {i} still holds the dead node's record"
        );
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_idle_node_writes_almost_nothing() {
    let sim = Sim::start(3, star(|_, _| {})).await.unwrap();
    sim.run_until(Duration::from_secs(1), Duration::from_secs(120), |s| {
        knowledge(s)[0] >= 1.0
    })
    .await
    .expect("all know all");
    // Let the first batch commit.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let before: Vec<u64> = sim
        .statuses()
        .await
        .iter()
        .map(|s| s.metrics.store.store_commits)
        .collect();
    // Six idle hours: peers keep exchanging records, but nothing new is learned.
    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    let after: Vec<u64> = sim
        .statuses()
        .await
        .iter()
        .map(|s| s.metrics.store.store_commits)
        .collect();
    assert_eq!(before, after, "commits during six idle hours");
    // Records are re-issued at half-life (12 h): a few commits a day.
    tokio::time::sleep(Duration::from_secs(7 * 3600)).await;
    let day: Vec<u64> = sim
        .statuses()
        .await
        .iter()
        .map(|s| s.metrics.store.store_commits)
        .collect();
    for (b, d) in before.iter().zip(&day) {
        assert!(d - b <= 4, "{} commits in 13 hours", d - b);
    }
    sim.shutdown().await;
}
