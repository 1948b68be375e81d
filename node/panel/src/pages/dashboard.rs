//! The dashboard: online or not and why, peers, storage, transfer rates,
//! uptime, and what needs the owner.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::{Page, bytes, duration, plural};
use crate::auth::Auth;
use crate::{AdminOnion, App};
use warren_files::{DownloadState, Health};

/// Share of the seeding quota past which the dashboard warns.
const QUOTA_WARN: f64 = 0.9;

pub(crate) async fn page(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let files = app.node.files();
    let (status, shares, downloads, mirrors) = tokio::join!(
        app.node.status(),
        files.shares(),
        files.downloads(),
        files.mirrors()
    );
    let Ok(st) = status else {
        return super::error(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "The node is stopping.",
        );
    };
    let shares = shares.unwrap_or_default();
    let downloads = downloads.unwrap_or_default();
    let rates = *app.rates.lock().expect(crate::HELD);
    let shared: u64 = shares.iter().map(|s| s.size).sum();
    let downloaded: u64 = downloads.iter().map(|d| d.status.done_bytes).sum();
    let (quota, used) = mirrors
        .as_ref()
        .map(|m| (m.quota_bytes, m.used_bytes))
        .unwrap_or((0, 0));
    let active = downloads
        .iter()
        .filter(|d| !d.status.state.stopped())
        .count();

    let mut warnings: Vec<String> = Vec::new();
    if let Some(why) = &st.not_online_because {
        warnings.push(format!("Not reachable yet: {why}"));
    }
    if st.trusted_peers == 0 {
        warnings
            .push("No trusted nodes yet: add one on the Peers page to join your community.".into());
    }
    if quota > 0 && used as f64 >= quota as f64 * QUOTA_WARN {
        warnings.push(format!(
            "Mirrors use {} of their {} quota.",
            bytes(used),
            bytes(quota)
        ));
    }
    for d in downloads.iter().filter(|d| {
        matches!(
            d.status.state,
            DownloadState::Failed | DownloadState::Changed | DownloadState::Missing
        )
    }) {
        let name = d.status.name.clone().unwrap_or_else(|| "a download".into());
        warnings.push(format!(
            "Download {name} {}: {}",
            d.status.state,
            d.status.error.clone().unwrap_or_default()
        ));
    }
    for s in shares
        .iter()
        .filter(|s| matches!(s.state, Health::Changed | Health::Missing))
    {
        warnings.push(format!(
            "Share {} {}: {}",
            s.name,
            s.state.as_str(),
            s.reason.clone().unwrap_or_default()
        ));
    }
    if let Some(b) = &st.extra.board {
        if b.throttled {
            warnings.push(format!(
                "The box is too hot ({}): transfers and disk work are throttled until it cools down.",
                b.temperature_c.map(|c| format!("{c:.1} °C")).unwrap_or_default()
            ));
        }
        if b.disk_low {
            warnings.push("The disk is nearly full.".into());
        }
        if b.under_voltage == Some(true) {
            warnings.push("Under-voltage: the power supply is too weak for the box.".into());
        }
        if !b.unresponsive.is_empty() {
            warnings.push(format!(
                "Not answering: {} (the watchdog is not fed; the box restarts if this lasts).",
                b.unresponsive.join(", ")
            ));
        }
        if let Some(f) = &b.fault {
            warnings.push(format!("Board: {f}"));
        }
    }
    if let Some(p) = st.extra.relay.as_ref().and_then(|r| r.problem.as_ref()) {
        warnings.push(format!("Relay: {p}"));
    }
    if let AdminOnion::Failed(e) = app.admin_onion() {
        warnings.push(format!("The admin onion service failed: {e}"));
    }
    let errors = warren_api::logging::tail()
        .recent(tracing::Level::ERROR, 100)
        .len();
    if errors > 0 {
        warnings.push(format!("{errors} errors in the recent log (see Logs)."));
    }

    let boot = st.tor_bootstrap.as_ref();
    let body = html! {
        div.card {
            h2 {
                @if st.online { span.pill.ok { "online" } } @else { span.pill.bad { "offline" } }
                " " (st.transport) " transport · " (st.role)
            }
            @if let Some(b) = boot {
                p { "Tor: " (b.percent) "% bootstrapped — " (b.phase) @if let Some(s) = &b.blocked { " (" (s) ")" } }
            }
            @if let Some(r) = st.onion_reachable {
                p { "Onion service: " @if r { "reachable" } @else { "not reachable" }
                    @if let Some(f) = &st.onion_last_failure { " (" (f) ")" } }
            }
            p.muted { "Address " code { (st.address) } }
            @if let Some(b) = &st.extra.board {
                p #board { "Board (" (b.kind) "): LED " b { (b.led) } " — " (b.led_because)
                    @if let Some(c) = b.temperature_c { " · " (format!("{c:.1}")) " °C" }
                    " · watchdog " (b.watchdog)
                    @if b.throttled { " · " span.pill.bad { "throttled" } } }
            }
        }
        @if !warnings.is_empty() {
            div.note.warn role="alert" {
                strong { "Needs your attention" }
                ul { @for w in &warnings { li { (w) } } }
            }
        }
        div.grid {
            div.stat { small { "Peers connected" } b { (st.connected_peers) } small { (st.known_peers) " known · " (st.trusted_peers) " trusted" } }
            div.stat { small { "Uptime" } b { (duration(st.uptime_secs)) } small { "since the node started" } }
            div.stat { small { "Upload" } b { (bytes(rates.up)) "/s" } small { (bytes(st.metrics.transfers.bytes_uploaded)) " sent in all" } }
            div.stat { small { "Download" } b { (bytes(rates.down)) "/s" } small { (bytes(st.metrics.transfers.bytes_downloaded)) " received in all" } }
            div.stat { small { "Shared" } b { (bytes(shared)) } small { (plural(shares.len(), "share")) } }
            div.stat { small { "Downloads" } b { (bytes(downloaded)) } small { (active) " running of " (downloads.len()) } }
            div.stat { small { "Mirrors" } b { (bytes(used)) } small { "of " (bytes(quota)) " quota" } }
            @if let Some(r) = &st.extra.relay {
                div.stat #relay { small { "Tor relay" } b { a href="/relay" { @if r.relaying { (bytes(r.bytes_today)) " today" } @else if r.enabled { "starting" } @else { "off" } } }
                    small { @if r.relaying { @if r.flags.is_empty() { "not in the consensus yet" } @else { (r.flags.join(" ")) } } @else { "give back to Tor" } } }
            }
            @if let Some(m) = &st.extra.mail {
                div.stat #unread { small { "Messages" } b { a href="/messages" { (m.unread) " unread" } } small { (plural(m.conversations as usize, "conversation")) @if m.outbox > 0 { " · " (m.outbox) " to send" } } }
                @if st.role == "box" {
                    div.stat #mailboxes { small { "Mailboxes held" } b { (m.mailboxes) } small { (m.envelopes) " messages · " (bytes(m.bytes)) " · " (bytes(m.quota_bytes)) " each at most" } }
                }
            }
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/dashboard",
        title: "Dashboard",
        refresh: None,
    }
    .render(body)
}
