//! Peers and trust.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::{Page, act, ago, csrf, short};
use crate::App;
use crate::auth::{Auth, Post};
use warren_api::control::Request;

pub(crate) async fn page(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let (peers, trusted) = tokio::join!(app.node.peers(), app.node.trust_list());
    let peers = peers.unwrap_or_default();
    let trusted = trusted.unwrap_or_default();
    let now = app.clock.unix_now();
    let body = html! {
        div.card {
            h2 { "Trust a node" }
            p.muted { "Paste the address its owner gives you (" code { "warren status" } " or their panel shows it)." }
            form method="post" action="/peers/trust" {
                (csrf(&auth.csrf))
                div.row {
                    input type="text" name="address" aria-label="Peer address" placeholder="<onion>.onion:7447" required;
                    button type="submit" { "Trust" }
                }
            }
        }
        div.card {
            h2 { "Trusted nodes (" (trusted.len()) ")" }
            @if trusted.is_empty() { p.muted { "None yet." } } @else {
                table {
                    tr { th { "Node" } th { "Trusted" } th {} }
                    @for t in &trusted {
                        tr {
                            td { code title=(t.address) { (short(&t.id)) } }
                            td { (ago(t.added_at, now)) }
                            td { form method="post" action="/peers/untrust" {
                                (csrf(&auth.csrf))
                                input type="hidden" name="id" value=(t.id);
                                button.small.danger type="submit" { "Remove" }
                            } }
                        }
                    }
                }
            }
        }
        div.card {
            h2 { "Known nodes (" (peers.len()) ")" }
            @if peers.is_empty() { p.muted { "None yet: trust a node to meet its community." } } @else {
                table {
                    tr { th { "Node" } th { "Role" } th { "Reachable" } th { "Last seen" } th {} }
                    @for p in &peers {
                        tr {
                            td { code { (short(&p.id)) } @if p.trusted { " " span.pill.ok { "trusted" } } }
                            td { (p.role.as_deref().unwrap_or("?")) }
                            td {
                                @if p.connected.is_some() { span.pill.ok { "connected" } }
                                @else if p.failures > 0 { span.pill.bad title=[p.last_error.as_deref()] { (p.failures) " failures" } }
                                @else { span.pill { "not now" } }
                            }
                            td { (p.last_connected.map(|t| ago(t, now)).unwrap_or_else(|| "never".into())) }
                            td { a href=(format!("/messages/c?with={}", p.id)) { "Message" } }
                        }
                    }
                }
            }
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/peers",
        title: "Peers and trust",
        refresh: None,
    }
    .render(body)
}

#[derive(Deserialize)]
pub(crate) struct TrustForm {
    address: String,
}

pub(crate) async fn trust(State(app): State<Arc<App>>, post: Post<TrustForm>) -> Response {
    let req = Request::TrustAdd {
        address: post.form.address,
    };
    act(&app, &post.auth, req, "/peers", |v| {
        format!(
            "Trusted {}.",
            v["id"].as_str().map(short).unwrap_or_default()
        )
    })
    .await
}

#[derive(Deserialize)]
pub(crate) struct UntrustForm {
    id: String,
}

pub(crate) async fn untrust(State(app): State<Arc<App>>, post: Post<UntrustForm>) -> Response {
    let id = post.form.id;
    let name = short(&id);
    act(
        &app,
        &post.auth,
        Request::TrustRemove { id },
        "/peers",
        move |_| format!("{name} is no longer trusted."),
    )
    .await
}
