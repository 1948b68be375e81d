//! The pages: one layout, small server-rendered HTML (maud, checked at
//! compile time), no script. Each page stays under 30 KB with its CSS.

pub(crate) mod access;
pub(crate) mod auth;
pub(crate) mod dashboard;
pub(crate) mod downloads;
pub(crate) mod logs;
pub(crate) mod messages;
pub(crate) mod peers;
pub(crate) mod relay;
pub(crate) mod settings;
pub(crate) mod shares;

use std::sync::Arc;
use std::time::Duration;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::App;
use super::auth::Auth;
use super::routes::css_path;
use warren_api::control::Request;

/// A form with nothing but its CSRF token.
#[derive(Debug, Deserialize)]
pub(crate) struct Empty {}

/// The sections, for the navigation bar: (path, title).
const NAV: [(&str, &str); 9] = [
    ("/dashboard", "Dashboard"),
    ("/messages", "Messages"),
    ("/peers", "Peers"),
    ("/shares", "Shares"),
    ("/downloads", "Downloads"),
    ("/relay", "Relay"),
    ("/logs", "Logs"),
    ("/settings", "Settings"),
    ("/access", "Access"),
];

fn head(title: &str, refresh: Option<u32>) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Warren" }
            link rel="icon" href="data:,";
            link rel="stylesheet" href=(css_path());
            @if let Some(s) = refresh { meta http-equiv="refresh" content=(s); }
        }
    }
}

/// The CSRF field every form carries.
pub(crate) fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A page for a logged-in owner.
pub(crate) struct Page<'a> {
    pub(crate) app: &'a App,
    pub(crate) auth: &'a Auth,
    pub(crate) path: &'static str,
    pub(crate) title: &'a str,
    /// Seconds between automatic reloads (work in progress), if any.
    pub(crate) refresh: Option<u32>,
}

impl Page<'_> {
    pub(crate) fn render(&self, body: Markup) -> Response {
        let flash = self
            .app
            .sessions
            .lock()
            .expect(crate::HELD)
            .take_flash(&self.auth.token);
        let id = self.app.node.id().to_string();
        let short = id.get(..12).unwrap_or(&id).to_string();
        let markup = html! {
            (DOCTYPE)
            html lang="en" {
                (head(self.title, self.refresh))
                body {
                    header.top {
                        a.brand href="/dashboard" { span {} "Warren" }
                        nav {
                            @for (path, name) in NAV {
                                a class=[(path == self.path).then_some("on")] href=(path) { (name) }
                            }
                        }
                        form method="post" action="/logout" {
                            (csrf(&self.auth.csrf))
                            button.link type="submit" { "Log out" }
                        }
                    }
                    main {
                        @if let Some((good, text)) = &flash {
                            div class={ "note " (if *good { "ok" } else { "bad" }) } role="status" { (text) }
                        }
                        h1 { (self.title) }
                        (body)
                    }
                    footer { "Node " code { (short) "…" } " · Warren " (env!("CARGO_PKG_VERSION")) }
                }
            }
        };
        html_response(StatusCode::OK, markup)
    }
}

/// A page outside the login (pairing, login, errors).
pub(crate) fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, None))
            body {
                header.top { a.brand href="/" { span {} "Warren" } }
                main.narrow { h1 { (title) } (body) }
            }
        }
    };
    html_response(status, markup)
}

fn html_response(status: StatusCode, m: Markup) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        // No name (a share's, a publisher's, a log line's) can reorder
        // what the owner reads: the templates hold no bidi controls.
        warren_proto::content::unspoofed(&m.into_string()),
    )
        .into_response()
}

/// An error page.
pub(crate) fn error(status: StatusCode, text: &str) -> Response {
    bare(
        status,
        status.canonical_reason().unwrap_or("Error"),
        html! { div.card { p { (text) } p { a href="/" { "Back to the panel" } } } },
    )
}

/// Runs an action through the one code path every action takes, leaves its
/// outcome for the next page, and goes back to `to`.
pub(crate) async fn act(
    app: &App,
    auth: &Auth,
    req: Request,
    to: &str,
    ok: impl FnOnce(&serde_json::Value) -> String,
) -> Response {
    let r = app.node.dispatch(req).await;
    let (good, text) = match (r.ok, r.result, r.error) {
        (true, Some(v), _) => (true, ok(&v)),
        (_, _, Some(e)) => (false, e),
        _ => (false, "The node did not answer.".into()),
    };
    flash(app, auth, good, text);
    Redirect::to(to).into_response()
}

/// Leaves a message for the next page.
pub(crate) fn flash(app: &App, auth: &Auth, good: bool, text: String) {
    {
        let mut s = app.sessions.lock().expect(crate::HELD);
        s.set_flash(&auth.token, good, text);
    }
}

/// `1.5 GiB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `1 share`, `2 shares`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// `3 h 12 min`.
pub(crate) fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h {} min", s / 3600, s % 3600 / 60),
        s => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    }
}

/// `5 min ago` from unix seconds.
pub(crate) fn ago(at: u64, now: u64) -> String {
    if at == 0 {
        return "never".into();
    }
    format!("{} ago", duration(now.saturating_sub(at)))
}

/// The first and last characters of a long id.
pub(crate) fn short(s: &str) -> String {
    if s.len() <= 20 {
        return s.to_string();
    }
    format!("{}…{}", &s[..10], &s[s.len() - 14..])
}

/// An inline SVG (already escaped by its maker).
pub(crate) fn svg(s: String) -> Markup {
    PreEscaped(s)
}

/// Transfer rates, sampled every few seconds from the node's counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Rates {
    last: Option<(tokio::time::Instant, u64, u64)>,
    /// Bytes per second sent to downloaders, over the last interval.
    pub(crate) up: u64,
    /// Bytes per second received from providers.
    pub(crate) down: u64,
}

const RATE_INTERVAL: Duration = Duration::from_secs(5);

/// Samples the counters until `stop`.
pub(crate) async fn sample_rates(app: Arc<App>, stop: CancellationToken) {
    let mut tick = tokio::time::interval(RATE_INTERVAL);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Ok(st) = app.node.status().await else {
            continue;
        };
        let now = tokio::time::Instant::now();
        let (up, down) = (
            st.metrics.transfers.bytes_uploaded,
            st.metrics.transfers.bytes_downloaded,
        );
        {
            let mut r = app.rates.lock().expect(crate::HELD);
            if let Some((t, u, d)) = r.last {
                let secs = now.duration_since(t).as_secs_f64().max(0.001);
                r.up = (up.saturating_sub(u) as f64 / secs) as u64;
                r.down = (down.saturating_sub(d) as f64 / secs) as u64;
            }
            r.last = Some((now, up, down));
        }
    }
}
