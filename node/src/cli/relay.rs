//! `warren relay on|off|status`.

use std::path::Path;

use clap::Subcommand;
use warren_node::Result;
use warren_node::control::{self, Request};
use warren_node::files::size;
use warren_node::relay::RelayStatus;

#[derive(Debug, Subcommand)]
pub(crate) enum RelayAction {
    /// Turn the relay on (C tor only; kept in warren.toml).
    On {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Turn the relay off; the node's onion service keeps working.
    Off {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the relay: reachability, flags, bytes relayed, the allowance.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Ask a node (that trusts this one) for its relay claim and check it
    /// against this node's Tor consensus (C tor only).
    Check {
        /// The node's address, as its `status` prints it.
        address: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) async fn relay(dir: &Path, action: RelayAction) -> Result<()> {
    let (req, json) = match action {
        RelayAction::On { json } => (Request::RelayOn, json),
        RelayAction::Off { json } => (Request::RelayOff, json),
        RelayAction::Status { json } => (Request::RelayStatus, json),
        RelayAction::Check { address, json } => (Request::RelayCheck { address }, json),
    };
    let is_check = matches!(req, Request::RelayCheck { .. });
    let v = control::request(dir, &req).await?;
    if json {
        return super::files::print_json(&v);
    }
    if is_check {
        let c: warren_node::relay::RelayCheck = serde_json::from_value(v)
            .map_err(|e| warren_node::Error::Remote(format!("unexpected answer: {e}")))?;
        outln!(
            "verified: {} runs relay {} ({}), {}",
            c.node,
            c.fingerprint,
            c.nickname,
            c.flags.join(" ")
        );
        return Ok(());
    }
    let r: RelayStatus = serde_json::from_value(v)
        .map_err(|e| warren_node::Error::Remote(format!("unexpected answer: {e}")))?;
    print(&r);
    Ok(())
}

/// The relay, as `relay status` and `status` print it.
pub(crate) fn print(r: &RelayStatus) {
    let state = match (r.enabled, r.relaying) {
        (false, false) => "off".to_string(),
        (false, true) => "off (tor still has an ORPort this node did not open)".into(),
        (true, true) => format!("relaying as {} on ORPort {}", r.nickname, r.or_port),
        (true, false) => "on, not relaying yet".into(),
    };
    outln!("relay      {state}");
    if let Some(p) = &r.problem {
        outln!("  problem  {p}");
    }
    if !r.relaying {
        return;
    }
    if let Some(fp) = &r.fingerprint {
        outln!("  fingerprint  {fp}");
    }
    let flags = match r.flags.is_empty() {
        true => "not in the consensus yet".to_string(),
        false => r.flags.join(" "),
    };
    outln!("  flags    {flags}");
    outln!(
        "  reachable  {}",
        match (r.reachable, &r.reachability_advice) {
            (true, _) => "yes (tor's self-test)".to_string(),
            (false, Some(a)) => format!("not confirmed: {a}"),
            (false, None) => "not confirmed".to_string(),
        }
    );
    if let Some(u) = &r.upnp {
        outln!("  upnp     {u}");
    }
    outln!(
        "  rate     {}/s, bursts to {}/s{}",
        size(r.rate),
        size(r.burst),
        if r.in_schedule {
            ""
        } else {
            " (outside the schedule)"
        }
    );
    let a = &r.accounting;
    let allowance = match a.max {
        0 => "no monthly allowance".to_string(),
        max => format!("{} of {} this month", size(a.used()), size(max)),
    };
    outln!(
        "  relayed  {} today, {} circuits; {allowance}",
        size(r.bytes_today),
        r.circuits
    );
}
