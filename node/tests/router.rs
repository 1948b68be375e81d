//! A service defined here, outside the node, registers with the router and
//! talks between two nodes over the in-memory transport: the connection
//! layer routes it by its name without knowing it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures::{SinkExt, StreamExt};
use tokio::time::timeout;
use tokio_util::codec::Framed;
use warren_node::clock::SystemClock;
use warren_node::config::Config;
use warren_node::conn::{ConnError, Ended, ServiceConn, ServiceHandler};
use warren_node::conn::{FrameCodec, Outgoing};
use warren_node::daemon::{Node, NodeOptions};
use warren_node::identity::Identity;
use warren_node::store::Db;
use warren_node::transport::{Switchboard, Transport};
use warren_proto::frame::{Channel, Priority};
use warren_proto::handshake::{Dialer, Purpose};
use warren_proto::msg::{CloseReason, ControlMsg, Message};
use warren_proto::service::ServiceName;
use warren_proto::{PeerAddr, TransportHint};
use warren_proto::{ProtocolVersion, Role, Services};

const WAIT: Duration = Duration::from_secs(20);

/// The toy service: answers each message with a greeting that names the
/// message and the proven identity of whoever sent it.
#[derive(Default)]
struct Greeter {
    served: AtomicUsize,
    ended: AtomicUsize,
}

#[async_trait]
impl ServiceHandler for Greeter {
    async fn accept(&self, mut conn: ServiceConn) {
        while let Ok(Some(msg)) = conn.recv().await {
            self.served.fetch_add(1, Ordering::SeqCst);
            let text = String::from_utf8_lossy(&msg);
            let reply = format!("hello {text}, you are {}", conn.peer());
            if conn.send(reply.into_bytes()).await.is_err() {
                break;
            }
        }
        self.ended.fetch_add(1, Ordering::SeqCst);
    }
}

fn greet() -> ServiceName {
    ServiceName::new("test/greet/1").unwrap()
}

async fn node(
    board: &Switchboard,
    services: Vec<(ServiceName, Arc<dyn ServiceHandler>)>,
) -> (Node, PeerAddr) {
    node_with(board, services, Config::default()).await
}

async fn node_with(
    board: &Switchboard,
    services: Vec<(ServiceName, Arc<dyn ServiceHandler>)>,
    mut config: Config,
) -> (Node, PeerAddr) {
    config.community.pow_difficulty = 8;
    config.gateway.enabled = false;
    let bits = config.community.policy().unwrap().difficulty;
    let identity = Identity::generate(bits).unwrap();
    let transport = board.transport();
    let addr = PeerAddr::new(
        identity.keypair.id(),
        TransportHint::Memory {
            port: transport.port(),
        },
    );
    assert_eq!(transport.name(), "memory");
    let node = Node::start(NodeOptions {
        config,
        identity,
        db: Db::in_memory().unwrap(),
        transport: Arc::new(transport),
        clock: Arc::new(SystemClock),
        mirror_dir: None,
        mail_db: None,
        services,
    })
    .await
    .unwrap();
    (node, addr)
}

/// A node offering the greeter with a pool of four connections: one per
/// identity.
async fn greeter_with_four_slots(board: &Switchboard) -> (Node, PeerAddr, Arc<Greeter>) {
    let greeter = Arc::new(Greeter::default());
    let mut config = Config::default();
    config.limits.service_connections = 4;
    let (a, a_addr) = node_with(
        board,
        vec![(greet(), greeter.clone() as Arc<dyn ServiceHandler>)],
        config,
    )
    .await;
    (a, a_addr, greeter)
}

async fn ask(conn: &mut ServiceConn, text: &str) -> String {
    conn.send(text.as_bytes().to_vec()).await.unwrap();
    let reply = timeout(WAIT, conn.recv()).await.unwrap().unwrap().unwrap();
    String::from_utf8(reply.to_vec()).unwrap()
}

#[tokio::test]
async fn a_service_defined_outside_the_node_talks_between_two_nodes() {
    let board = Switchboard::new();
    let greeter = Arc::new(Greeter::default());
    let (a, a_addr) = node(
        &board,
        vec![(greet(), greeter.clone() as Arc<dyn ServiceHandler>)],
    )
    .await;
    let (b, _) = node(&board, Vec::new()).await;
    let b_id = b.handle().id();

    let mut conn = b.handle().dial_service(&a_addr, greet()).await.unwrap();
    assert_eq!(
        conn.peer(),
        a.handle().id(),
        "the dialer reached the node it dialed"
    );
    assert_eq!(conn.service(), &greet());
    for text in ["alice", "bob", "carol"] {
        assert_eq!(
            ask(&mut conn, text).await,
            format!("hello {text}, you are {b_id}")
        );
    }
    assert_eq!(greeter.served.load(Ordering::SeqCst), 3);

    // Two connections at once, each served on its own.
    let mut second = b.handle().dial_service(&a_addr, greet()).await.unwrap();
    assert_eq!(
        ask(&mut second, "dave").await,
        format!("hello dave, you are {b_id}")
    );
    assert_eq!(
        ask(&mut conn, "erin").await,
        format!("hello erin, you are {b_id}")
    );

    // Closing ends the handler's connection.
    conn.close().await;
    second.close().await;
    let start = tokio::time::Instant::now();
    while greeter.ended.load(Ordering::SeqCst) < 2 {
        assert!(
            start.elapsed() < WAIT,
            "the service never saw its connections end"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(greeter.served.load(Ordering::SeqCst), 5);
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn a_service_a_node_does_not_offer_is_closed_and_a_message_over_the_bound_never_leaves() {
    let board = Switchboard::new();
    let greeter = Arc::new(Greeter::default());
    let (a, _) = node(
        &board,
        vec![(greet(), greeter.clone() as Arc<dyn ServiceHandler>)],
    )
    .await;
    let (b, b_addr) = node(&board, Vec::new()).await;

    // B offers no greeter: the handshake completes (B proves who it is),
    // then B closes the connection.
    let mut conn = a.handle().dial_service(&b_addr, greet()).await.unwrap();
    assert!(timeout(WAIT, conn.recv()).await.unwrap().unwrap().is_none());
    assert_eq!(conn.ended(), Some(&Ended::Remote(CloseReason::Normal)));

    // A message over the service channel's 64 KiB is refused before it
    // is sent.
    let mut conn = a.handle().dial_service(&b_addr, greet()).await.unwrap();
    let err = conn.send(vec![0; 64 * 1024 + 1]).await.unwrap_err();
    assert!(
        matches!(
            err,
            ConnError::Proto(warren_proto::Error::FrameTooLarge { .. })
        ),
        "{err}"
    );
    assert_eq!(greeter.served.load(Ordering::SeqCst), 0);
    b.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn a_full_service_pool_closes_the_silent_connection_for_a_newcomer_and_shutdown_ends_the_rest()
 {
    let board = Switchboard::new();
    let (a, a_addr, greeter) = greeter_with_four_slots(&board).await;
    let (b, _) = node(&board, Vec::new()).await;
    let b_id = b.handle().id();

    let mut first = b.handle().dial_service(&a_addr, greet()).await.unwrap();
    assert_eq!(
        ask(&mut first, "one").await,
        format!("hello one, you are {b_id}")
    );
    // The same identity's second connection takes the first one's place.
    let mut second = b.handle().dial_service(&a_addr, greet()).await.unwrap();
    assert_eq!(
        ask(&mut second, "two").await,
        format!("hello two, you are {b_id}")
    );
    assert!(
        timeout(WAIT, first.recv())
            .await
            .unwrap()
            .unwrap()
            .is_none()
    );
    assert_eq!(first.ended(), Some(&Ended::Remote(CloseReason::Busy)));
    assert_eq!(
        ask(&mut second, "three").await,
        format!("hello three, you are {b_id}")
    );
    assert_eq!(greeter.ended.load(Ordering::SeqCst), 1);

    // A node that stops ends its services' connections at once, saying so.
    a.shutdown().await;
    assert_eq!(greeter.ended.load(Ordering::SeqCst), 2);
    assert!(
        timeout(WAIT, second.recv())
            .await
            .unwrap()
            .unwrap()
            .is_none()
    );
    assert_eq!(second.ended(), Some(&Ended::Remote(CloseReason::Shutdown)));
    b.shutdown().await;
}

/// Dials `at` on the switchboard as a fresh identity and completes the
/// handshake for `purpose` by hand: what a peer that breaks the rules
/// would do.
async fn raw_dial(
    board: &Switchboard,
    at: &PeerAddr,
    purpose: Purpose,
) -> Framed<warren_node::transport::BoxStream, FrameCodec> {
    let identity = Identity::generate(warren_proto::Difficulty::new(8).unwrap()).unwrap();
    raw_dial_as(board, at, purpose, &identity).await
}

async fn raw_dial_as(
    board: &Switchboard,
    at: &PeerAddr,
    purpose: Purpose,
    identity: &Identity,
) -> Framed<warren_node::transport::BoxStream, FrameCodec> {
    let now = warren_node::clock::Clock::unix_now(&SystemClock);
    let own = identity
        .record(Role::Member, Services(0), &[], now, 3600)
        .unwrap();
    let stream = board.transport().dial(at).await.unwrap();
    let mut framed = Framed::new(stream, FrameCodec);
    let (dialer, hello) =
        Dialer::start_for(identity.keypair.id(), at.id, [7; 32], purpose).unwrap();
    framed.send(frame(Channel::Handshake, hello)).await.unwrap();
    let (_, answer) = framed.next().await.unwrap().unwrap();
    let mut config = Config::default();
    config.community.pow_difficulty = 8;
    let policy = config.community.policy().unwrap();
    let (auth, _) = dialer
        .on_answer(&answer, &identity.keypair, &own, now, &policy)
        .unwrap();
    framed.send(frame(Channel::Handshake, auth)).await.unwrap();
    framed
}

fn frame(channel: Channel, payload: Vec<u8>) -> Outgoing {
    Outgoing {
        channel,
        priority: Priority::Normal,
        payload: payload.into(),
    }
}

/// The close reason of the next control frame, skipping others.
async fn closed_with(
    framed: &mut Framed<warren_node::transport::BoxStream, FrameCodec>,
) -> CloseReason {
    loop {
        let (h, payload) = timeout(WAIT, framed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if h.channel == Channel::Control {
            if let Ok(Message::Control(ControlMsg::Close { reason })) =
                Message::decode(ProtocolVersion::LATEST, Channel::Control, &payload)
            {
                return reason;
            }
        }
    }
}

#[tokio::test]
async fn frames_on_the_wrong_channel_close_service_and_peer_connections() {
    let board = Switchboard::new();
    let greeter = Arc::new(Greeter::default());
    let (a, a_addr) = node(
        &board,
        vec![(greet(), greeter.clone() as Arc<dyn ServiceHandler>)],
    )
    .await;

    // A files frame on a service connection.
    let mut conn = raw_dial(&board, &a_addr, Purpose::Service(greet())).await;
    conn.send(frame(Channel::Service, b"hi".to_vec()))
        .await
        .unwrap();
    let (h, _) = timeout(WAIT, conn.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(h.channel, Channel::Service, "the service answers first");
    let files = Message::Files(warren_proto::files::FileMsg::Have { piece: 0 });
    conn.send(frame(Channel::Files, files.encode()))
        .await
        .unwrap();
    assert_eq!(closed_with(&mut conn).await, CloseReason::ProtocolViolation);

    // A service frame on a peer connection.
    let mut peer = raw_dial(&board, &a_addr, Purpose::Peer).await;
    peer.send(frame(Channel::Service, b"hi".to_vec()))
        .await
        .unwrap();
    assert_eq!(closed_with(&mut peer).await, CloseReason::ProtocolViolation);
    assert_eq!(greeter.served.load(Ordering::SeqCst), 1);
    a.shutdown().await;
}

#[tokio::test]
async fn a_connection_that_never_reads_is_still_closed_for_a_newcomer() {
    let board = Switchboard::new();
    let (a, a_addr, greeter) = greeter_with_four_slots(&board).await;
    let me = Identity::generate(warren_proto::Difficulty::new(8).unwrap()).unwrap();
    // Pings, never reading a pong: the node's writes to it soon block.
    let mut stuck = raw_dial_as(&board, &a_addr, Purpose::Service(greet()), &me).await;
    let ping = Message::Control(ControlMsg::Ping { nonce: 1 }).encode();
    for _ in 0..20_000 {
        let sent = timeout(
            Duration::from_millis(200),
            stuck.send(frame(Channel::Control, ping.clone())),
        )
        .await;
        if sent.is_err() {
            break; // our side is full too: the node has stopped reading
        }
    }
    // The same identity's next connection takes its place: the stuck one
    // ends on the node's side although it never read a byte.
    let mut next = raw_dial_as(&board, &a_addr, Purpose::Service(greet()), &me).await;
    next.send(frame(Channel::Service, b"hi".to_vec()))
        .await
        .unwrap();
    let (h, _) = timeout(WAIT, next.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(h.channel, Channel::Service);
    let start = tokio::time::Instant::now();
    while greeter.ended.load(Ordering::SeqCst) < 1 {
        assert!(
            start.elapsed() < WAIT,
            "the stuck connection was never closed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(stuck);
    a.shutdown().await;
}

/// Waits until `rx` holds a list `ok` accepts.
async fn until_connected(
    rx: &mut tokio::sync::watch::Receiver<Arc<Vec<warren_peers::ConnectedPeer>>>,
    ok: impl Fn(&[warren_peers::ConnectedPeer]) -> bool,
) -> Vec<warren_peers::ConnectedPeer> {
    timeout(WAIT, async {
        loop {
            let now = rx.borrow_and_update().clone();
            if ok(&now) {
                return now.to_vec();
            }
            rx.changed().await.unwrap();
        }
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn services_see_which_peers_are_connected_and_trusted() {
    let board = Switchboard::new();
    let (a, a_addr) = node(&board, Vec::new()).await;
    let mut config = Config::default();
    config.node.bootstrap = vec![a_addr.to_string()];
    let (b, b_addr) = node_with(&board, Vec::new(), config).await;
    let mut at_a = a.handle().peer_layer().connected();
    let mut at_b = b.handle().peer_layer().connected();

    // B dials A (its bootstrap): both see the other, untrusted.
    let seen = until_connected(&mut at_b, |p| !p.is_empty()).await;
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, a.handle().id());
    assert_eq!(seen[0].direction, warren_node::conn::Direction::Outbound);
    assert!(!seen[0].trusted);
    let seen = until_connected(&mut at_a, |p| !p.is_empty()).await;
    assert_eq!(
        (seen[0].id, seen[0].direction, seen[0].trusted),
        (
            b.handle().id(),
            warren_node::conn::Direction::Inbound,
            false
        )
    );

    // Trust shows at once.
    a.handle().trust_add(b_addr).await.unwrap();
    until_connected(&mut at_a, |p| p.len() == 1 && p[0].trusted).await;

    // A stops: B's list empties.
    a.shutdown().await;
    until_connected(&mut at_b, |p| p.is_empty()).await;
    b.shutdown().await;
}
