//! The JSON of `warren status --json`, byte for byte: scripts read it, so
//! moving the types that make it (between crates, or composed from the
//! services' parts) must not change one byte.

#![allow(clippy::unwrap_used)]

use warren_node::board::BoardStatus;
use warren_node::daemon::{SeedStatus, Status, StatusExtras};
use warren_node::mail::MailStatus;
use warren_node::metrics::MetricsSnapshot;
use warren_node::relay::{Accounting, RelayStatus};
use warren_node::tor::BootstrapInfo;

fn status() -> Status {
    let mut metrics = MetricsSnapshot::default();
    metrics.net.frames_in = 7;
    metrics.rejected.insert("bad_magic".into(), 2);
    Status {
        id: "abcd.onion".into(),
        address: "abcd.onion:443".into(),
        addresses: vec!["abcd.onion:443".into(), "tcp:127.0.0.1:7000".into()],
        transport: "arti".into(),
        listen: Some("127.0.0.1:7000".into()),
        extra: StatusExtras {
            gateway_url: Some("http://abcd.onion".into()),
            panel_url: Some("http://127.0.0.1:7450".into()),
            board: Some(BoardStatus {
                kind: "sim".into(),
                model: "simulated board".into(),
                led: "online".into(),
                led_because: "online".into(),
                temperature_c: Some(41.5),
                under_voltage: Some(false),
                watchdog: "fed".into(),
                unresponsive: vec!["node".into()],
                throttled: false,
                disk_low: true,
                pairing_until: Some(1_700_000_600),
                pairing_url: Some("http://10.0.0.2:7451/pair".into()),
                pairing_urls: vec!["http://10.0.0.2:7451/pair".into()],
                reset: "idle".into(),
                fault: None,
            }),
            mail: Some(MailStatus {
                conversations: 2,
                unread: 3,
                outbox: 1,
                mailboxes: 4,
                envelopes: 50,
                bytes: 102_400,
                quota_bytes: 64 << 20,
            }),
            relay: Some(RelayStatus {
                enabled: true,
                relaying: true,
                problem: None,
                or_port: "9001".into(),
                nickname: "warrenabcd".into(),
                fingerprint: Some("A".repeat(40)),
                reachable: false,
                reachability_advice: Some("forward TCP port 9001".into()),
                flags: vec!["Running".into(), "Valid".into()],
                rate: 2 << 20,
                burst: 4 << 20,
                in_schedule: true,
                circuits: 12,
                upnp: Some("the router at 10.0.0.1 forwards TCP port 9001 to 10.0.0.2:9001".into()),
                bytes_today: 5_000,
                hours: vec![0, 5_000],
                days: vec![5_000],
                accounting: Accounting {
                    period_start: 1_700_000_000,
                    period_end: 1_702_592_000,
                    read: 4_000,
                    written: 5_000,
                    max: 200 << 30,
                    exhausted: false,
                },
            }),
        },
        online: false,
        not_online_because: Some("Tor is starting".into()),
        tor_bootstrap: Some(BootstrapInfo {
            percent: 50,
            phase: "loading relay descriptors".into(),
            blocked: None,
        }),
        onion_address: Some("abcd.onion".into()),
        onion_reachable: None,
        onion_last_check: Some(1_700_000_000),
        onion_last_failure: Some("timed out".into()),
        onion_recent_failures: vec!["timed out".into()],
        onion_launches: 2,
        role: "box".into(),
        version: "0.1.0".into(),
        protocol_version: 4,
        uptime_secs: 61,
        connected_peers: 1,
        known_peers: 3,
        trusted_peers: 2,
        inbound: 1,
        outbound: 0,
        dialing: 1,
        pow_difficulty: 20,
        bootstrap: vec![SeedStatus {
            address: "efgh.onion:443".into(),
            connected: false,
            failures: 3,
            last_error: Some("dial timed out".into()),
            retry_in_secs: 40,
        }],
        metrics,
    }
}

#[test]
fn status_json_is_unchanged() {
    let json = serde_json::to_string(&status()).unwrap();
    let expected = include_str!("json/status.json").trim_end();
    assert_eq!(json, expected);
    let back: Status = serde_json::from_str(expected).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), expected);
}
