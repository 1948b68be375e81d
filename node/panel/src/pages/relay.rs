//! Relay: turn the box's Tor relay on or off, and see what it carries —
//! reachability, its flags in the consensus, bytes relayed per hour and per
//! day as server-rendered SVG charts (no script), the month's allowance.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Page, act, bytes, csrf};
use crate::App;
use crate::auth::{Auth, Post};
use warren_api::control::Request;
use warren_api::relay::RelayStatus;

/// Chart size, in SVG user units.
const CHART_W: u32 = 600;
const CHART_H: u32 = 120;

pub(crate) async fn page(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let r = app.node.dispatch(Request::RelayStatus).await;
    let status: Result<RelayStatus, String> = match (r.ok, r.result, r.error) {
        (true, Some(v), _) => serde_json::from_value(v).map_err(|e| e.to_string()),
        (_, _, Some(e)) => Err(e),
        _ => Err("The node did not answer.".into()),
    };
    let cfg = app.config.lock().expect(crate::HELD).relay.clone();
    let body = html! {
        div.card {
            h2 { "What relaying means" }
            p { "The box's tor carries other Tor users' encrypted traffic as a " strong { "middle relay" } ": it never connects to the internet on anyone's behalf (no exit), so nothing anyone does through it comes from your address." }
            p.muted { "Your box's public address is listed in the Tor consensus as a relay, as every relay's is. Its port " code { (cfg.or_port) } " must be reachable from the internet: the box asks your router to forward it (UPnP) or you forward it by hand. The node's own onion service keeps working whether the relay is on or off." }
            p.muted { "What it gives away: the relay runs in the same tor as the node's onion service, so someone watching both could compare when each is up (the Tor Project advises against onion services on relays); the nodes you trust can ask for the relay's claim and learn which relay, hence which address, is this box's. While the relay runs, the bytes below include the node's own Tor traffic." }
        }
        @match &status {
            Err(why) => div.card { p { "This node cannot relay: " (why) } },
            Ok(s) => { (switch(&auth, s)) (details(s, &cfg)) },
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/relay",
        title: "Relay",
        refresh: None,
    }
    .render(body)
}

fn switch(auth: &Auth, s: &RelayStatus) -> Markup {
    html! {
        div.card {
            h2 {
                "Relay "
                @if s.relaying { span.pill.ok { "relaying" } }
                @else if s.enabled { span.pill.warn { "on, not relaying" } }
                @else { span.pill { "off" } }
            }
            @if let Some(p) = &s.problem { p { (p) } }
            form method="post" action="/relay" {
                (csrf(&auth.csrf))
                @if s.enabled {
                    input type="hidden" name="on" value="false";
                    button type="submit" { "Turn the relay off" }
                } @else {
                    input type="hidden" name="on" value="true";
                    button type="submit" { "Turn the relay on" }
                }
            }
        }
    }
}

fn details(s: &RelayStatus, cfg: &warren_api::config::RelayConfig) -> Markup {
    let a = &s.accounting;
    html! {
        div.card {
            h2 { "Caps" }
            p {
                (bytes(cfg.rate_kib * 1024)) "/s, bursts to " (bytes(cfg.burst_kib * 1024)) "/s"
                @if !cfg.schedule.is_empty() {
                    "; only from " (cfg.schedule) " UTC, " (bytes(cfg.off_hours_kib * 1024)) "/s outside it"
                    @if !s.in_schedule { " (outside now)" }
                }
                "."
            }
            p {
                @if a.max == 0 { "No monthly allowance." } @else {
                    (bytes(a.used())) " of " (bytes(a.max)) " used this month"
                    @if a.exhausted { " — used up; relaying starts again with the next month" }
                    "."
                }
            }
            p.muted { "Set in the " code { "[relay]" } " section of " code { "warren.toml" } "." }
        }
        @if s.relaying {
            div.card {
                h2 { "In the Tor network" }
                table {
                    tr { th { "Nickname" } td { code { (s.nickname) } } }
                    tr { th { "Fingerprint" } td { code { (s.fingerprint.as_deref().unwrap_or("…")) } } }
                    tr { th { "Flags" } td {
                        @if s.flags.is_empty() { span.pill { "not in the consensus yet" } }
                        @for f in &s.flags { span.pill.ok { (f) } " " }
                    } }
                    tr { th { "Reachable" } td {
                        @if s.reachable { span.pill.ok { "yes" } " tor's self-test reached the ORPort" }
                        @else { span.pill.warn { "not confirmed" } " " (s.reachability_advice.as_deref().unwrap_or("")) }
                    } }
                    @if let Some(u) = &s.upnp { tr { th { "Router (UPnP)" } td { (u) } } }
                    tr { th { "Today" } td { (bytes(s.bytes_today)) " relayed" } }
                }
            }
        }
        div.card {
            h2 { "Bytes relayed per hour, last 24 hours" }
            (chart(&s.hours, "hour"))
            h2 { "Bytes relayed per day, last 30 days" }
            (chart(&s.days, "day"))
        }
    }
}

/// A bar chart of `values` (oldest first) as inline SVG; each bar carries
/// its figure as a tooltip.
fn chart(values: &[u64], unit: &str) -> Markup {
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let n = values.len().max(1) as u32;
    let slot = CHART_W / n;
    let label = format!(
        "{} bars, one per {unit}; the highest is {}",
        values.len(),
        bytes(max)
    );
    html! {
        svg.chart viewBox=(format!("0 0 {CHART_W} {}", CHART_H + 14)) role="img" aria-label=(label) xmlns="http://www.w3.org/2000/svg" {
            @for (i, v) in values.iter().enumerate() {
                @let h = ((*v as f64 / max as f64) * f64::from(CHART_H)).round() as u32;
                @let ago = values.len() - 1 - i;
                rect x=(i as u32 * slot + 1) y=(CHART_H - h) width=(slot.saturating_sub(2).max(1)) height=(h.max(1)) {
                    title { (bytes(*v)) @if ago == 0 { " (this " (unit) ")" } @else { " (" (ago) " " (unit) "s ago)" } }
                }
            }
            text x="0" y=(CHART_H + 12) { (bytes(max)) " at most" }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct SwitchForm {
    on: String,
}

pub(crate) async fn switch_post(State(app): State<Arc<App>>, post: Post<SwitchForm>) -> Response {
    let on = post.form.on == "true";
    let req = if on {
        Request::RelayOn
    } else {
        Request::RelayOff
    };
    let port = app.config.lock().expect(crate::HELD).relay.or_port.clone();
    act(&app, &post.auth, req, "/relay", move |_| match on {
        true => format!(
            "The relay is on: tor opens port {port} and joins the consensus within a few minutes."
        ),
        false => "The relay is off; the node's onion service keeps working.".into(),
    })
    .await
}
