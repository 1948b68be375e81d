//! Shares: create from a path on the box, make public, copy the link, show
//! it as a QR code, stop sharing.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;

use super::{Empty, Page, act, bytes, csrf, flash};
use crate::App;
use crate::auth::{Auth, Post};
use warren_api::control::Request;
use warren_files::{Health, ShareOptions};

/// Seconds between reloads while a share is being hashed.
const HASHING_REFRESH: u32 = 2;

pub(crate) async fn page(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let shares = app.node.files().shares().await.unwrap_or_default();
    let jobs = app.jobs.list();
    let hashing = jobs.iter().any(|j| j.outcome.is_none());
    let roots: Vec<String> = app
        .roots
        .list()
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    let body = html! {
        div.card {
            h2 { "Share a file or folder" }
            form method="post" action="/shares" {
                (csrf(&auth.csrf))
                label for="path" { "Path on this machine" }
                input #path type="text" name="path" placeholder=(roots.first().map(|r| format!("{r}/…")).unwrap_or_default()) required;
                p.muted { "Allowed folders: " @for (i, r) in roots.iter().enumerate() { @if i > 0 { ", " } code { (r) } } }
                label for="description" { "Description (optional)" }
                input #description type="text" name="description" maxlength="200";
                label.check { input type="checkbox" name="public" value="on"; "Public: listed in the community catalogue" }
                label.check { input type="checkbox" name="own_address" value="on"; "On an onion address of its own (cannot be linked to this node)" }
                p { button type="submit" { "Share" } }
            }
        }
        @if !jobs.is_empty() {
            div.card {
                h2 { "Preparing" }
                table {
                    @for j in &jobs {
                        tr {
                            td { code { (j.path) } }
                            td {
                                @match &j.outcome {
                                    None => { progress value=(j.done) max=(j.total.max(1)) {} " hashing " (bytes(j.done)) " of " (bytes(j.total)) }
                                    Some(Ok(name)) => { span.pill.ok { "shared" } " as " (name) }
                                    Some(Err(e)) => { span.pill.bad { "failed" } " " (e) }
                                }
                            }
                        }
                    }
                }
                @if !hashing {
                    form method="post" action="/shares/clear" { (csrf(&auth.csrf)) button.small.ghost type="submit" { "Clear" } }
                }
            }
        }
        div.card {
            h2 { "Your shares (" (shares.len()) ")" }
            @if shares.is_empty() { p.muted { "Nothing shared yet." } }
            @for s in &shares {
                div.card {
                    p {
                        strong { (s.name) } " · " (bytes(s.size)) " · " (s.files) " files "
                        @if s.public { span.pill.ok { "public" } } @else { span.pill { "private" } }
                        @if s.sealed { " " span.pill { "sealed" } }
                        @if s.own_address { " " span.pill { "own address" } }
                        @match s.state {
                            Health::Ok => {},
                            Health::Checking => { " " span.pill.warn { "checking" } },
                            _ => { " " span.pill.bad { (s.state.as_str()) } },
                        }
                    }
                    @if let Some(r) = &s.reason { p.muted { (r) } }
                    label { "Link (select and copy)" }
                    input type="text" readonly value=(s.link) aria-label={ "Link to " (s.name) };
                    @if let Some(u) = &s.url {
                        label { "In a browser" }
                        input type="text" readonly value=(u) aria-label={ "Browser link to " (s.name) };
                    }
                    p {
                        a.button.small href={ "/shares/qr?id=" (s.content) } { "QR code" } " "
                        @if !s.public {
                            form method="post" action="/shares/publish" {
                                (csrf(&auth.csrf)) input type="hidden" name="id" value=(s.content);
                                button.small.ghost type="submit" { "Make public" }
                            } " "
                        }
                        form method="post" action="/recheck" {
                            (csrf(&auth.csrf)) input type="hidden" name="id" value=(s.content);
                            input type="hidden" name="back" value="/shares";
                            button.small.ghost type="submit" { "Check files" }
                        } " "
                        form method="post" action="/shares/stop" {
                            (csrf(&auth.csrf)) input type="hidden" name="id" value=(s.content);
                            button.small.danger type="submit" { "Stop sharing" }
                        }
                    }
                }
            }
        }
    };
    let refresh = hashing.then_some(HASHING_REFRESH);
    Page {
        app: &app,
        auth: &auth,
        path: "/shares",
        title: "Shares",
        refresh,
    }
    .render(body)
}

#[derive(Deserialize)]
pub(crate) struct CreateForm {
    path: String,
    #[serde(default)]
    description: String,
    public: Option<String>,
    own_address: Option<String>,
}

pub(crate) async fn create(State(app): State<Arc<App>>, post: Post<CreateForm>) -> Response {
    let f = post.form;
    let path = match app.roots.check_share(&f.path) {
        Ok(p) => p,
        Err(e) => {
            flash(&app, &post.auth, false, e.to_string());
            return (
                StatusCode::SEE_OTHER,
                [(axum::http::header::LOCATION, "/shares")],
            )
                .into_response();
        }
    };
    let description = f.description.trim();
    let options = ShareOptions {
        public: f.public.is_some(),
        own_address: f.own_address.is_some(),
        description: (!description.is_empty()).then(|| description.to_string()),
        ..ShareOptions::default()
    };
    if let Err(e) = app
        .jobs
        .start(app.node.clone(), path.display().to_string(), options)
    {
        flash(&app, &post.auth, false, e);
    }
    Redirect::to("/shares").into_response()
}

#[derive(Deserialize)]
pub(crate) struct IdForm {
    id: String,
}

pub(crate) async fn publish(State(app): State<Arc<App>>, post: Post<IdForm>) -> Response {
    let req = Request::Publish { id: post.form.id };
    act(&app, &post.auth, req, "/shares", |v| {
        format!(
            "{} is public now.",
            v["name"].as_str().unwrap_or("The share")
        )
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct RecheckForm {
    id: String,
    back: String,
}

/// Checks a share's or a download's files against its pieces; the answer
/// says how many matched.
pub(crate) async fn recheck(State(app): State<Arc<App>>, post: Post<RecheckForm>) -> Response {
    let back = if post.form.back == "/downloads" {
        "/downloads"
    } else {
        "/shares"
    };
    let req = Request::Recheck { id: post.form.id };
    act(&app, &post.auth, req, back, |v| {
        let (good, n) = (
            v["good"].as_u64().unwrap_or(0),
            v["pieces"].as_u64().unwrap_or(0),
        );
        let name = v["name"].as_str().unwrap_or("it");
        match v["reason"].as_str() {
            Some(r) => format!("{name}: {good} of {n} pieces match. {r}"),
            None => format!("{name}: {good} of {n} pieces match its link."),
        }
    })
    .await
}

pub(crate) async fn stop(State(app): State<Arc<App>>, post: Post<IdForm>) -> Response {
    let req = Request::Unshare { id: post.form.id };
    act(&app, &post.auth, req, "/shares", |_| {
        "No longer shared.".into()
    })
    .await
}

pub(crate) async fn clear(State(app): State<Arc<App>>, _post: Post<Empty>) -> Response {
    app.jobs.clear_finished();
    Redirect::to("/shares").into_response()
}

#[derive(Deserialize)]
pub(crate) struct QrQuery {
    id: String,
}

/// One share's link as a QR code (SVG, inline).
pub(crate) async fn qr(
    State(app): State<Arc<App>>,
    auth: Auth,
    Query(q): Query<QrQuery>,
) -> Response {
    let shares = app.node.files().shares().await.unwrap_or_default();
    let Some(s) = shares.iter().find(|s| s.content == q.id) else {
        return super::error(StatusCode::NOT_FOUND, "No such share.");
    };
    let link = s.url.clone().unwrap_or_else(|| s.link.clone());
    let code = match QrCode::new(link.as_bytes()) {
        Ok(c) => c
            .render::<svg::Color<'_>>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build(),
        Err(e) => return super::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let body = html! {
        div.card.qr {
            p { strong { (s.name) } }
            (super::svg(code.find("<svg").map(|i| code[i..].to_string()).unwrap_or_default()))
            input type="text" readonly value=(link) aria-label="Link";
            p { a href="/shares" { "Back to shares" } }
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/shares",
        title: "Share link",
        refresh: None,
    }
    .render(body)
}
