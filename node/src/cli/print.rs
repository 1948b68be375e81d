//! Printing answers for people (or as JSON for scripts).

use warren_node::daemon::{PeerInfo, Status, TrustInfo};
use warren_node::{Error, Result};

use super::TrustAction;

fn parse<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T> {
    serde_json::from_value(v.clone()).map_err(|e| Error::Remote(format!("unexpected answer: {e}")))
}

fn json(v: &serde_json::Value) -> Result<()> {
    outln!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| Error::Remote(e.to_string()))?
    );
    Ok(())
}

fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// "3h 2m ago" for a unix time `then`, seen at `now`.
pub(crate) fn ago(now: u64, then: u64) -> String {
    format!("{} ago", duration(now.saturating_sub(then)))
}

pub(crate) fn status(v: &serde_json::Value, as_json: bool) -> Result<()> {
    if as_json {
        return json(v);
    }
    let s: Status = parse(v)?;
    outln!("id         {}", s.id);
    outln!("address    {}", s.address);
    outln!("transport  {}", s.transport);
    outln!("role       {}", s.role);
    outln!("uptime     {}", duration(s.uptime_secs));
    outln!(
        "peers      {} connected ({} in, {} out), {} known, {} trusted",
        s.connected_peers,
        s.inbound,
        s.outbound,
        s.known_peers,
        s.trusted_peers
    );
    for b in &s.bootstrap {
        let state = if b.connected {
            "connected".to_string()
        } else if b.failures > 0 {
            format!(
                "not reachable ({} tries, last: {}), retry in {}",
                b.failures,
                b.last_error.as_deref().unwrap_or("?"),
                duration(b.retry_in_secs)
            )
        } else {
            "connecting".to_string()
        };
        outln!("bootstrap  {}  {state}", b.address);
    }
    if let Some(b) = &s.extra.board {
        let temp = b
            .temperature_c
            .map(|c| format!(", {c:.1} °C"))
            .unwrap_or_default();
        outln!(
            "board      {}: LED {} ({}){temp}, watchdog {}",
            b.model,
            b.led,
            b.led_because,
            b.watchdog
        );
        if let Some(until) = b.pairing_until {
            let now = {
                use warren_node::clock::Clock;
                warren_node::clock::SystemClock.unix_now()
            };
            let left = std::time::Duration::from_secs(until.saturating_sub(now));
            outln!(
                "pairing    open for {}{}",
                warren_node::panel::for_how_long(left),
                if b.pairing_urls.is_empty() {
                    String::new()
                } else {
                    format!(", at {}", b.pairing_urls.join(" "))
                }
            );
        }
    }
    if let Some(r) = &s.extra.relay {
        super::relay::print(r);
    }
    let m = &s.metrics;
    outln!(
        "traffic    {} frames in, {} frames out",
        m.net.frames_in,
        m.net.frames_out
    );
    if !m.rejected.is_empty() {
        let r: Vec<String> = m.rejected.iter().map(|(k, v)| format!("{k} {v}")).collect();
        outln!("refused    {}", r.join(", "));
    }
    Ok(())
}

pub(crate) fn peers(v: &serde_json::Value, as_json: bool) -> Result<()> {
    if as_json {
        return json(v);
    }
    let peers: Vec<PeerInfo> = parse(v)?;
    if peers.is_empty() {
        outln!("no known peers");
    }
    for p in peers {
        let state = match p.connected {
            Some(d) => format!(
                "connected ({})",
                serde_json::to_value(d)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            ),
            None if p.failures > 0 => format!("unreachable ×{}", p.failures),
            None => "known".into(),
        };
        let trusted = if p.trusted { " trusted" } else { "" };
        outln!(
            "{}  {}{}  {}",
            p.id,
            p.role.as_deref().unwrap_or("?"),
            trusted,
            state
        );
    }
    Ok(())
}

pub(crate) fn trust(action: &TrustAction, v: &serde_json::Value, running: bool) -> Result<()> {
    let later = if running {
        ""
    } else {
        " (takes effect when the node starts)"
    };
    match action {
        TrustAction::Add { .. } => {
            let t: TrustInfo = parse(v)?;
            outln!("trusted {}{later}", t.address);
        }
        TrustAction::Remove { id } => {
            let removed = parse::<warren_node::control::answers::Removed>(v)?.removed;
            outln!(
                "{}{later}",
                if removed {
                    format!("no longer trusted: {id}")
                } else {
                    format!("was not trusted: {id}")
                }
            );
        }
        TrustAction::List { json: as_json } => {
            if *as_json {
                return json(v);
            }
            let list: Vec<TrustInfo> = parse(v)?;
            if list.is_empty() {
                outln!("no trusted nodes");
            }
            for t in list {
                outln!("{}", t.address);
            }
        }
    }
    Ok(())
}
