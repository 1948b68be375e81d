//! What the LED shows, from what the board actor knows. The precedence,
//! highest first: a factory reset under way, a node that stopped
//! answering, pairing mode, starting, connecting to Tor, a problem, online.

use warren_board::{Pattern, ResetStep};

use crate::daemon::Status;

/// Everything the choice depends on.
#[derive(Debug, Default)]
pub(crate) struct View<'a> {
    /// The node's last status; none before it first answered.
    pub(crate) status: Option<&'a Status>,
    /// Core tasks that missed the last liveness check's deadline.
    pub(crate) unresponsive: &'a [String],
    /// A board part failed.
    pub(crate) fault: Option<&'a str>,
    pub(crate) pairing: bool,
    pub(crate) reset: Option<ResetStep>,
    pub(crate) wiping: bool,
    pub(crate) hot: bool,
    pub(crate) disk_low: bool,
    pub(crate) under_voltage: bool,
    /// How long the node has not been online, and from how long on that
    /// counts as a problem.
    pub(crate) offline: Option<(std::time::Duration, std::time::Duration)>,
}

/// The pattern, and why, in words.
pub(crate) fn choose(v: &View<'_>) -> (Pattern, String) {
    if v.wiping {
        return (Pattern::Reset, "factory reset: wiping".into());
    }
    match v.reset {
        Some(ResetStep::Armed) => {
            return (
                Pattern::Reset,
                "factory reset asked: hold the button again to confirm".into(),
            );
        }
        Some(ResetStep::Confirming) => {
            return (
                Pattern::Reset,
                "factory reset: keep holding to confirm".into(),
            );
        }
        _ => {}
    }
    if !v.unresponsive.is_empty() {
        return (
            Pattern::Error,
            format!("not answering: {}", v.unresponsive.join(", ")),
        );
    }
    if v.pairing {
        return (Pattern::Pairing, "pairing mode".into());
    }
    let Some(s) = v.status else {
        return (Pattern::Starting, "starting".into());
    };
    if !s.online {
        let why = s
            .not_online_because
            .clone()
            .unwrap_or_else(|| "not online".into());
        let stuck = s
            .tor_bootstrap
            .as_ref()
            .and_then(|b| b.blocked.clone())
            .or_else(|| s.onion_last_failure.clone());
        let late = v
            .offline
            .filter(|(for_, limit)| for_ >= limit)
            .map(|(for_, _)| format!("not online for {} s", for_.as_secs()));
        return match stuck.or(late) {
            Some(problem) => (Pattern::Degraded, format!("{why} ({problem})")),
            None => (Pattern::Bootstrapping, why),
        };
    }
    let mut problems = Vec::new();
    if s.onion_reachable == Some(false) {
        problems.push("the onion service is not reachable");
    }
    if v.hot {
        problems.push("too hot: transfers and disk work throttled");
    }
    if v.disk_low {
        problems.push("disk nearly full");
    }
    if v.under_voltage {
        problems.push("under-voltage: the power supply is too weak");
    }
    if let Some(f) = v.fault {
        return (Pattern::Degraded, format!("board: {f}"));
    }
    if problems.is_empty() {
        (Pattern::Online, "online".into())
    } else {
        (Pattern::Degraded, problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: serde_json::Value) -> Status {
        let mut base = serde_json::json!({
            "id": "x", "address": "x", "addresses": [], "transport": "arti",
            "listen": null, "gateway_url": null, "online": false,
            "not_online_because": "Tor is bootstrapping", "tor_bootstrap": null,
            "onion_address": null, "onion_reachable": null, "onion_last_check": null,
            "onion_last_failure": null, "onion_launches": 0, "role": "box",
            "version": "0", "protocol_version": 3, "uptime_secs": 1,
            "connected_peers": 0, "known_peers": 0, "trusted_peers": 0, "inbound": 0,
            "outbound": 0, "dialing": 0, "pow_difficulty": 8, "bootstrap": [],
            "metrics": serde_json::to_value(crate::metrics::MetricsSnapshot::default()).unwrap(),
        });
        for (k, v) in json.as_object().unwrap() {
            base[k] = v.clone();
        }
        serde_json::from_value(base).unwrap()
    }

    fn pick(v: &View<'_>) -> Pattern {
        choose(v).0
    }

    #[test]
    fn the_led_follows_the_node_through_startup() {
        assert_eq!(pick(&View::default()), Pattern::Starting);
        let boot = status(serde_json::json!({
            "tor_bootstrap": {"percent": 40, "phase": "loading directory", "blocked": null}
        }));
        let (p, why) = choose(&View {
            status: Some(&boot),
            ..View::default()
        });
        assert_eq!(
            (p, why.as_str()),
            (Pattern::Bootstrapping, "Tor is bootstrapping")
        );
        let online = status(serde_json::json!({
            "online": true, "not_online_because": null, "onion_reachable": true
        }));
        let v = View {
            status: Some(&online),
            ..View::default()
        };
        assert_eq!(pick(&v), Pattern::Online);
    }

    #[test]
    fn tor_out_of_reach_or_a_problem_is_degraded() {
        let blocked = status(serde_json::json!({
            "tor_bootstrap": {"percent": 5, "phase": "connecting", "blocked": "no relay answers"}
        }));
        let (p, why) = choose(&View {
            status: Some(&blocked),
            ..View::default()
        });
        assert_eq!(p, Pattern::Degraded);
        assert!(why.contains("no relay answers"), "{why}");
        // Tor simply out of reach says nothing is wrong: after a while the
        // LED does.
        let slow = status(serde_json::json!({
            "tor_bootstrap": {"percent": 0, "phase": "connecting", "blocked": null}
        }));
        let limit = std::time::Duration::from_secs(180);
        let at = |secs| View {
            status: Some(&slow),
            offline: Some((std::time::Duration::from_secs(secs), limit)),
            ..View::default()
        };
        assert_eq!(pick(&at(179)), Pattern::Bootstrapping);
        let (p, why) = choose(&at(180));
        assert_eq!(p, Pattern::Degraded);
        assert!(why.contains("not online for 180 s"), "{why}");
        let refused = status(serde_json::json!({"onion_last_failure": "connection refused"}));
        let v = View {
            status: Some(&refused),
            ..View::default()
        };
        assert_eq!(pick(&v), Pattern::Degraded);
        let online = status(serde_json::json!({"online": true, "not_online_because": null}));
        for (hot, disk_low, under_voltage) in [
            (true, false, false),
            (false, true, false),
            (false, false, true),
        ] {
            let v = View {
                status: Some(&online),
                hot,
                disk_low,
                under_voltage,
                ..View::default()
            };
            assert_eq!(pick(&v), Pattern::Degraded);
        }
    }

    #[test]
    fn reset_and_hangs_and_pairing_take_precedence() {
        let online = status(serde_json::json!({"online": true, "not_online_because": null}));
        let hung = ["node".to_string()];
        let base = || View {
            status: Some(&online),
            hot: true,
            ..View::default()
        };
        let v = View {
            pairing: true,
            ..base()
        };
        assert_eq!(pick(&v), Pattern::Pairing);
        let v = View {
            pairing: true,
            unresponsive: &hung,
            ..base()
        };
        assert_eq!(choose(&v), (Pattern::Error, "not answering: node".into()));
        let v = View {
            unresponsive: &hung,
            reset: Some(ResetStep::Armed),
            ..base()
        };
        assert_eq!(pick(&v), Pattern::Reset);
        let v = View {
            wiping: true,
            ..base()
        };
        assert_eq!(pick(&v), Pattern::Reset);
    }
}
