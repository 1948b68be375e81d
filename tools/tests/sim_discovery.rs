//! Discovery at scale: 50 nodes that each know one bootstrap node.

use std::time::Duration;

use warren_tools::sim::{Sim, knowledge, star};

#[tokio::test(start_paused = true)]
async fn fifty_nodes_from_one_bootstrap_learn_each_other() {
    let sim = Sim::start(50, star(|_, _| {})).await.unwrap();
    let took = sim
        .run_until(Duration::from_secs(1), Duration::from_secs(3600), |s| {
            knowledge(s)[0] >= 0.9
        })
        .await;
    let statuses = sim.statuses().await;
    let k = knowledge(&statuses);
    assert!(
        took.is_some(),
        "after an hour the least-informed node knows only {:.0}%",
        k[0] * 100.0
    );
    // Nobody exceeds its limits on the way.
    for s in &statuses {
        assert!(
            s.inbound <= 32 && s.outbound <= 8,
            "{} in, {} out",
            s.inbound,
            s.outbound
        );
    }
    sim.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_node_whose_bootstrap_is_down_connects_when_it_returns() {
    let mut sim = Sim::start(2, star(|_, _| {})).await.unwrap();
    sim.run_until(Duration::from_secs(1), Duration::from_secs(60), |s| {
        s[1].connected_peers == 1
    })
    .await
    .expect("connects at first");
    // Node 0 goes away: node 1 reports it and keeps retrying, with backoff.
    sim.stop(0).await;
    sim.unplug(0);
    tokio::time::sleep(Duration::from_secs(120)).await;
    let s = sim.nodes[1].handle.status().await.unwrap();
    assert_eq!(s.connected_peers, 0);
    let b = &s.bootstrap[0];
    assert!(!b.connected && b.failures >= 3, "{b:?}");
    assert!(
        b.last_error.as_deref().unwrap_or("").contains("refused"),
        "{b:?}"
    );
    // It comes back (same identity, same address): node 1 reconnects within
    // its longest backoff.
    sim.restart(0).await.unwrap();
    let took = sim
        .run_until(Duration::from_secs(1), Duration::from_secs(600), |s| {
            s[1].connected_peers == 1
        })
        .await
        .expect("reconnects after the bootstrap node returns");
    assert!(took <= Duration::from_secs(450), "took {took:?}");
    let b = &sim.nodes[1].handle.status().await.unwrap().bootstrap[0];
    assert!(b.connected && b.failures == 0, "{b:?}");
    sim.shutdown().await;
}
