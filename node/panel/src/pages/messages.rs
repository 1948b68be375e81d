//! Messages: the owner's chat client. The Conversations page lists
//! threads (unread counts, the last message) and starts one by address;
//! a conversation page shows the thread in a frame that reloads itself
//! every few seconds (no script: the send form below it keeps what is
//! being typed) and the send form.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;

use super::{Page, ago, csrf, flash, short};
use crate::App;
use crate::auth::{Auth, Post};
use warren_api::control::Request;
use warren_mail::{ConversationView, Delivery, MessageView};

/// Seconds between reloads of a thread's frame.
const THREAD_REFRESH: u32 = 5;
/// Messages a thread's frame shows (the latest).
const THREAD_SHOWN: usize = 100;

async fn ask<T: serde::de::DeserializeOwned>(app: &App, req: Request) -> Result<T, String> {
    let r = app.node.dispatch(req).await;
    match (r.ok, r.result, r.error) {
        (true, Some(v), _) => serde_json::from_value(v).map_err(|e| e.to_string()),
        (_, _, Some(e)) => Err(e),
        _ => Err("The node did not answer.".into()),
    }
}

pub(crate) async fn page(State(app): State<Arc<App>>, auth: Auth) -> Response {
    let list: Vec<ConversationView> = ask(&app, Request::Conversations).await.unwrap_or_default();
    let now = app.clock.unix_now();
    let body = html! {
        div.card {
            h2 { "Write to a member" }
            form method="post" action="/messages/send" {
                (csrf(&auth.csrf))
                input type="text" name="to" aria-label="Their address" placeholder="<onion>.onion:7447" required;
                textarea name="text" aria-label="Message" rows="3" maxlength="32768" required {}
                button type="submit" { "Send" }
            }
        }
        div.card {
            h2 { "Conversations (" (list.len()) ")" }
            @if list.is_empty() { p.muted { "None yet. Write to someone above, or from the Peers page." } } @else {
                table {
                    tr { th { "With" } th { "Last" } th { "When" } }
                    @for c in &list {
                        tr {
                            td {
                                a href=(format!("/messages/c?with={}", c.peer)) { code { (short(&c.peer)) } }
                                @if c.unread > 0 { " " span.pill.ok { (c.unread) " unread" } }
                            }
                            td { (c.preview) }
                            td { (ago(c.last_at, now)) }
                        }
                    }
                }
            }
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/messages",
        title: "Messages",
        refresh: None,
    }
    .render(body)
}

#[derive(Deserialize)]
pub(crate) struct With {
    with: String,
}

/// A conversation: the thread's frame and the send form.
pub(crate) async fn conversation(
    State(app): State<Arc<App>>,
    auth: Auth,
    Query(q): Query<With>,
) -> Response {
    let frame = format!("/messages/thread?with={}", q.with);
    let body = html! {
        p { a href="/messages" { "← Conversations" } " · with " code { (q.with) } }
        // `#end`: the frame opens (and reloads) at the latest message.
        iframe.thread src=(format!("{frame}#end")) title="The conversation" {}
        p.muted { "The conversation reloads every " (THREAD_REFRESH) " s; " a href=(frame) target="_blank" { "open it alone" } "." }
        form method="post" action="/messages/send" {
            (csrf(&auth.csrf))
            input type="hidden" name="to" value=(q.with);
            input type="hidden" name="back" value="1";
            textarea name="text" aria-label="Message" rows="3" maxlength="32768" required autofocus {}
            button type="submit" { "Send" }
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/messages",
        title: "Conversation",
        refresh: None,
    }
    .render(body)
}

fn state(m: &MessageView) -> Markup {
    let (class, text) = match m.delivery {
        Delivery::Sending => ("pill", "sending".to_string()),
        Delivery::Stored(n) => (
            "pill",
            format!("stored on {n} box{}", if n == 1 { "" } else { "es" }),
        ),
        Delivery::Delivered => ("pill ok", "delivered".to_string()),
        Delivery::Read => ("pill ok", "read".to_string()),
    };
    html! {
        span class=(class) { (text) }
        @if let Some(r) = &m.refusal { " " span.pill.bad { (r) } }
    }
}

/// The thread alone, for the conversation page's frame: reloads itself,
/// marks the conversation read.
pub(crate) async fn thread(
    State(app): State<Arc<App>>,
    _auth: Auth,
    Query(q): Query<With>,
) -> Response {
    let req = Request::Messages {
        with: q.with.clone(),
        limit: Some(THREAD_SHOWN),
    };
    let msgs: Result<Vec<MessageView>, String> = ask(&app, req).await;
    let now = app.clock.unix_now();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content=(THREAD_REFRESH);
                link rel="stylesheet" href=(crate::routes::css_path());
                title { "Conversation" }
            }
            body.thread {
                @match &msgs {
                    Err(e) => p.note.bad { (e) },
                    Ok(list) if list.is_empty() => p.muted { "No messages yet." },
                    Ok(list) => ol.thread {
                        @for m in list {
                            li class=(if m.outgoing { "out" } else { "in" }) id=(format!("m-{}", m.seq)) {
                                div.text { (m.text) }
                                div.meta {
                                    (if m.outgoing { "you".to_string() } else { short(&m.author) })
                                    " · " (ago(m.sent_at, now))
                                    @if m.outgoing { " · " (state(m)) }
                                }
                            }
                        }
                    },
                }
                span #end {}
            }
        }
    };
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        warren_proto::content::unspoofed(&markup.into_string()),
    )
        .into_response();
    // Only the panel's own conversation page may frame it.
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    r
}

#[derive(Deserialize)]
pub(crate) struct SendForm {
    to: String,
    text: String,
    #[serde(default)]
    back: Option<String>,
}

pub(crate) async fn send(State(app): State<Arc<App>>, post: Post<SendForm>) -> Response {
    let SendForm { to, text, back } = post.form;
    let text = text.replace("\r\n", "\n");
    let req = Request::Send {
        to: to.trim().to_string(),
        text,
    };
    let sent: Result<MessageView, String> = ask(&app, req).await;
    match sent {
        Ok(_) if back.is_some() => {}
        Ok(_) => flash(&app, &post.auth, true, "Sent.".into()),
        Err(e) => flash(&app, &post.auth, false, e),
    }
    // Back to the conversation (by the node id the address names).
    let to = to.trim();
    let with = match to.parse::<warren_proto::PeerAddr>() {
        Ok(a) => Some(a.id),
        Err(_) => warren_proto::NodeId::from_onion(to).ok(),
    };
    match with {
        Some(id) => Redirect::to(&format!("/messages/c?with={id}")).into_response(),
        None => Redirect::to("/messages").into_response(),
    }
}
