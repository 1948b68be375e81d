//! The recent log tail, by level.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use tracing::Level;

use super::Page;
use crate::App;
use crate::auth::Auth;

/// Lines shown (the page stays small).
const SHOWN: usize = 100;
const LEVELS: [(&str, Level); 4] = [
    ("error", Level::ERROR),
    ("warn", Level::WARN),
    ("info", Level::INFO),
    ("debug", Level::DEBUG),
];

#[derive(Deserialize)]
pub(crate) struct Filter {
    level: Option<String>,
}

fn hms(at: u64) -> String {
    let s = at % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

pub(crate) async fn page(
    State(app): State<Arc<App>>,
    auth: Auth,
    Query(f): Query<Filter>,
) -> Response {
    let chosen = f.level.as_deref().unwrap_or("info");
    let level = LEVELS
        .iter()
        .find(|(n, _)| *n == chosen)
        .map(|(_, l)| *l)
        .unwrap_or(Level::INFO);
    let mut lines = warren_api::logging::tail().recent(level, SHOWN);
    lines.reverse();
    let body = html! {
        p {
            "Show: "
            @for (name, _) in LEVELS {
                @if name == chosen { strong { (name) } } @else { a href={ "/logs?level=" (name) } { (name) } }
                " "
            }
            span.muted { "(newest first, times in UTC, at most " (SHOWN) " lines)" }
        }
        div.card {
            @if lines.is_empty() { p.muted { "Nothing at this level." } }
            @else {
                table.logs {
                    @for l in &lines {
                        tr {
                            td.mono { (hms(l.at)) }
                            td class={ "lvl-" (l.level) } { (l.level) }
                            td.mono { (l.text) }
                        }
                    }
                }
            }
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/logs",
        title: "Logs",
        refresh: None,
    }
    .render(body)
}
