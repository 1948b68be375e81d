//! Downloads: add a link, watch progress, pause, resume, remove.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::{Page, act, bytes, csrf};
use crate::App;
use crate::auth::{Auth, Post};
use warren_api::control::Request;
use warren_files::DownloadState;

/// Seconds between reloads while a download runs.
const RUNNING_REFRESH: u32 = 3;

fn running(state: &DownloadState) -> bool {
    !state.stopped()
}

pub(crate) async fn page(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let downloads = app.node.files().downloads().await.unwrap_or_default();
    let any_running = downloads.iter().any(|d| running(&d.status.state));
    let folder = app.roots.downloads.display().to_string();
    let body = html! {
        div.card {
            h2 { "Download a link" }
            form method="post" action="/downloads" {
                (csrf(&auth.csrf))
                label for="link" { "Link" }
                input #link type="text" name="link" placeholder="warren://…" required;
                p.muted { "Files go to " code { (folder) } "." }
                p { button type="submit" { "Download" } }
            }
        }
        div.card {
            h2 { "Downloads (" (downloads.len()) ")" }
            @if downloads.is_empty() { p.muted { "Nothing downloaded yet." } }
            @else {
                table {
                    tr { th { "Name" } th { "Progress" } th { "State" } th {} }
                    @for d in &downloads {
                        @let s = &d.status;
                        tr {
                            td { (s.name.as_deref().unwrap_or("(fetching details)")) br; small.muted { (d.out) } }
                            td {
                                progress value=(s.done_bytes) max=(s.total_bytes.max(1)) {}
                                small { (bytes(s.done_bytes)) " of " (bytes(s.total_bytes))
                                    @if running(&s.state) { " · " (bytes(s.rate)) "/s · " (s.providers) " providers" } }
                            }
                            td {
                                @match s.state {
                                    DownloadState::Complete => span.pill.ok { "complete" },
                                    DownloadState::Failed | DownloadState::Changed | DownloadState::Missing => span.pill.bad title=[s.error.as_deref()] { (s.state) },
                                    DownloadState::Paused => span.pill.warn { "paused" },
                                    other => span.pill { (other) },
                                }
                                @if let Some(e) = &s.error { br; small.muted { (e) } }
                                @if let Some(at) = s.retry_at { br; small.muted { "next try " (retry_in(at)) } }
                            }
                            td {
                                @if running(&s.state) {
                                    form method="post" action="/downloads/pause" {
                                        (csrf(&auth.csrf)) input type="hidden" name="link" value=(d.link);
                                        button.small.ghost type="submit" { "Pause" }
                                    }
                                } @else if s.state != DownloadState::Complete {
                                    form method="post" action="/downloads/resume" {
                                        (csrf(&auth.csrf)) input type="hidden" name="link" value=(d.link);
                                        input type="hidden" name="out" value=(d.out);
                                        button.small type="submit" {
                                            @if matches!(s.state, DownloadState::Changed | DownloadState::Missing) { "Fetch again" } @else { "Resume" }
                                        }
                                    }
                                }
                                @if matches!(s.state, DownloadState::Complete | DownloadState::Changed | DownloadState::Missing | DownloadState::Paused) {
                                    " "
                                    form method="post" action="/recheck" {
                                        (csrf(&auth.csrf)) input type="hidden" name="id" value=(d.link);
                                        input type="hidden" name="back" value="/downloads";
                                        button.small.ghost type="submit" { "Check files" }
                                    }
                                }
                                " "
                                form method="post" action="/downloads/remove" {
                                    (csrf(&auth.csrf)) input type="hidden" name="link" value=(d.link);
                                    button.small.danger type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    let refresh = any_running.then_some(RUNNING_REFRESH);
    Page {
        app: &app,
        auth: &auth,
        path: "/downloads",
        title: "Downloads",
        refresh,
    }
    .render(body)
}

#[derive(Deserialize)]
pub(crate) struct AddForm {
    link: String,
}

pub(crate) async fn add(State(app): State<Arc<App>>, post: Post<AddForm>) -> Response {
    let out = app.roots.downloads.display().to_string();
    let req = Request::Get {
        link: post.form.link.trim().to_string(),
        out,
        wait: false,
    };
    act(&app, &post.auth, req, "/downloads", |_| {
        "Download started.".into()
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct LinkForm {
    link: String,
}

pub(crate) async fn pause(State(app): State<Arc<App>>, post: Post<LinkForm>) -> Response {
    let req = Request::Pause {
        link: post.form.link,
    };
    act(&app, &post.auth, req, "/downloads", |_| "Paused.".into()).await
}

#[derive(Deserialize)]
pub(crate) struct ResumeForm {
    link: String,
    out: String,
}

pub(crate) async fn resume(State(app): State<Arc<App>>, post: Post<ResumeForm>) -> Response {
    // Resuming asks for the link again, into the folder it already uses
    // (which must still be one the panel may write to).
    let out = match app.roots.check(&post.form.out) {
        Ok(p) => p.display().to_string(),
        Err(e) => {
            super::flash(&app, &post.auth, false, e.to_string());
            return axum::response::Redirect::to("/downloads").into_response();
        }
    };
    let req = Request::Get {
        link: post.form.link,
        out,
        wait: false,
    };
    act(&app, &post.auth, req, "/downloads", |_| "Resumed.".into()).await
}

pub(crate) async fn remove(State(app): State<Arc<App>>, post: Post<LinkForm>) -> Response {
    let req = Request::Forget {
        link: post.form.link,
    };
    act(&app, &post.auth, req, "/downloads", |_| {
        "Removed; its files stay where they are.".into()
    })
    .await
}

/// "in 40 s"-style time until `at` (unix seconds).
fn retry_in(at: u64) -> String {
    use warren_net::clock::Clock;
    let now = warren_net::clock::SystemClock.unix_now();
    match at.saturating_sub(now) {
        0 => "now".into(),
        s => format!("in {}", super::duration(s)),
    }
}
