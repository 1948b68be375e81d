//! The board actor against a real node (memory transport) on the
//! simulated board.

use std::sync::Arc;
use std::time::Duration;

use super::reset::ResetRequest;
use super::{Board, BoardConfig, BoardHandle, BoardKind, BoardOptions, BoardStatus, Press};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::daemon::{Node, NodeHandle, NodeOptions};
use crate::identity::Identity;
use crate::store::Db;
use crate::transport::Switchboard;

async fn node() -> Node {
    let mut config = Config::default();
    config.community.pow_difficulty = 8;
    config.gateway.enabled = false;
    let bits = config.community.policy().unwrap().difficulty;
    Node::start(NodeOptions {
        config,
        identity: Identity::generate(bits).unwrap(),
        db: Db::in_memory().unwrap(),
        transport: Arc::new(Switchboard::new().transport()),
        clock: Arc::new(SystemClock),
        mirror_dir: None,
        mail_db: None,
        services: Vec::new(),
    })
    .await
    .unwrap()
}

/// The board on `node`, as the daemon's wiring starts it; the node's
/// handle that names it.
fn board(
    node: &Node,
    dir: &std::path::Path,
    cfg: BoardConfig,
) -> (Board, ResetRequest, NodeHandle) {
    let reset = ResetRequest::default();
    let opened = Board::open(&cfg, false).unwrap().unwrap();
    let handle = node
        .handle()
        .with_daemon(Some(opened.handle()), None, Err("tests".into()));
    let board_actor = opened.start(BoardOptions {
        config: cfg,
        node: handle.clone(),
        pairing: None,
        data_dir: dir.to_path_buf(),
        reset: reset.clone(),
    });
    (board_actor, reset, handle)
}

fn sim() -> BoardConfig {
    BoardConfig {
        kind: BoardKind::Sim,
        watchdog_timeout_secs: 3,
        liveness_deadline_ms: 500,
        long_press_ms: 600,
        reset_confirm_ms: 1000,
        sensor_interval_secs: 1,
        ..BoardConfig::default()
    }
}

/// Polls the board's status until `ok` holds (at most `secs`).
async fn until(
    d: &BoardHandle,
    secs: u64,
    what: &str,
    ok: impl Fn(&BoardStatus) -> bool,
) -> BoardStatus {
    let end = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let s = d.status();
        if ok(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < end, "{what}: {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_not_fed_while_the_node_task_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let node = node().await;
    let (board_actor, _, with_board) = board(&node, dir.path(), sim());
    let d = board_actor.handle();
    let s = until(&d, 10, "online", |s| s.led == "online").await;
    assert_eq!((s.kind.as_str(), s.watchdog.as_str()), ("sim", "fed"));
    let via_node = with_board.status().await.unwrap().extra.board.unwrap();
    assert_eq!(
        (via_node.kind.as_str(), via_node.led.as_str()),
        ("sim", "online")
    );

    // The node task stops answering for 6 s: twice the watchdog's timeout.
    let handle = node.handle();
    tokio::spawn(async move { handle.stall(Duration::from_secs(6)).await });
    let s = until(&d, 3, "the hang noticed", |s| s.led == "error").await;
    assert_eq!(s.unresponsive, vec!["node".to_string()]);
    until(&d, 3, "petting withheld", |s| s.watchdog == "withheld").await;
    // Not petted for longer than the timeout: a real board would reset now.
    until(&d, 4, "the watchdog expired", |s| s.watchdog == "expired").await;

    // Once the task answers again the watchdog is fed again.
    let s = until(&d, 8, "recovered", |s| {
        s.watchdog == "fed" && s.led == "online"
    })
    .await;
    assert!(s.unresponsive.is_empty());
    board_actor.shutdown().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heat_throttles_the_files_service_until_it_cools() {
    let dir = tempfile::tempdir().unwrap();
    let node = node().await;
    let (board_actor, _, _) = board(&node, dir.path(), sim());
    let d = board_actor.handle();
    let files = node.handle().files();
    until(&d, 10, "online", |s| s.led == "online").await;
    assert!(!files.thermal_capped());
    d.set_sensors(Some(85.0), None).await.unwrap();
    let s = until(&d, 3, "hot", |s| s.throttled).await;
    assert_eq!(s.led, "degraded");
    assert!(s.led_because.contains("too hot"), "{}", s.led_because);
    assert!(files.thermal_capped());
    // The cap is real: a second's worth of burst, then waits.
    let rate = sim().hot_rate_limit as usize;
    assert!(
        files
            .thermal_wait(crate::files::Work::Upload, rate)
            .is_zero()
    );
    let wait = files.thermal_wait(crate::files::Work::Upload, rate);
    assert!(wait >= Duration::from_millis(900), "{wait:?}");
    // Between the marks it stays hot; below the lower one it recovers.
    d.set_sensors(Some(75.0), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(d.status().throttled && files.thermal_capped());
    d.set_sensors(Some(60.0), Some(true)).await.unwrap();
    let s = until(&d, 3, "cool", |s| !s.throttled).await;
    assert!(!files.thermal_capped());
    assert_eq!(s.led, "degraded", "under-voltage is still a problem");
    d.set_sensors(None, Some(false)).await.unwrap();
    until(&d, 3, "online", |s| s.led == "online").await;
    board_actor.shutdown().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_press_resets_only_when_confirmed() {
    let dir = tempfile::tempdir().unwrap();
    let node = node().await;
    let (board_actor, reset, _) = board(&node, dir.path(), sim());
    let d = board_actor.handle();
    until(&d, 10, "online", |s| s.led == "online").await;
    d.press(Press::Long).await.unwrap();
    let s = d.status();
    assert_eq!((s.led.as_str(), s.reset.as_str()), ("reset", "armed"));
    // No second hold: the request lapses.
    let s = until(&d, 3, "lapsed", |s| s.reset == "idle").await;
    assert_eq!(s.led, "online");
    // A short second press cancels too.
    d.press(Press::Long).await.unwrap();
    d.press(Press::Short).await.unwrap();
    assert_eq!(d.status().reset, "idle");
    assert!(!reset.requested());
    // A long press then another one begun in time: confirmed, and after the
    // LED's warning the node is asked to stop for the wipe.
    d.press(Press::Long).await.unwrap();
    d.press(Press::Long).await.unwrap();
    assert_eq!(d.status().reset, "wiping");
    tokio::time::timeout(Duration::from_secs(5), node.stopped())
        .await
        .expect("the node is asked to stop");
    assert!(reset.requested());
    board_actor.shutdown().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_that_is_none_is_not_started() {
    let node = node().await;
    let config = BoardConfig {
        kind: BoardKind::None,
        ..BoardConfig::default()
    };
    let got = Board::open(&config, false).unwrap();
    assert!(got.is_none());
    assert!(node.handle().status().await.unwrap().extra.board.is_none());
    node.shutdown().await;
}
