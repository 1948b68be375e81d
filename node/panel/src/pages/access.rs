//! How the owner reaches the panel from anywhere: the admin onion address
//! and the client key Tor Browser asks for.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::Page;
use crate::auth::Auth;
use crate::{AdminOnion, App};

#[derive(Deserialize)]
pub(crate) struct Welcome {
    welcome: Option<u8>,
}

pub(crate) async fn page(
    State(app): State<Arc<App>>,
    auth: Auth,
    Query(q): Query<Welcome>,
) -> Response {
    let (client, admin_id) = {
        let o = app.owner.lock().expect(crate::HELD);
        (o.client.clone(), o.admin.id())
    };
    let key = data_encoding::BASE32_NOPAD.encode(client.secret());
    let line = client.auth_private(&admin_id);
    let state = app.admin_onion();
    let body = html! {
        @if q.welcome.is_some() {
            div.note.ok role="status" { "Paired. Keep your passphrase safe: it is the only way in." }
        }
        div.card {
            h2 { "The panel over Tor" }
            @match &state {
                AdminOnion::Up(onion) => {
                    p { span.pill.ok { "up" } " Open this address in Tor Browser from anywhere:" }
                    input type="text" readonly value={ "http://" (onion) "/" };
                }
                AdminOnion::Starting => {
                    p { span.pill.warn { "starting" } " The admin onion service is being published; its address will be:" }
                    input type="text" readonly value={ "http://" (admin_id) "/" };
                }
                AdminOnion::Unavailable => p { span.pill { "off" } " This node runs on the TCP transport, which has no onion services. Run it on Tor (the default) to reach the panel from anywhere." },
                AdminOnion::Off => p { span.pill { "off" } " Turned off (" code { "panel.onion = false" } ")." },
                AdminOnion::Failed(e) => p { span.pill.bad { "failed" } " " (e) },
            }
            p.muted { "Only holders of the key below can even find this address: Tor encrypts its directory entry to that key." }
        }
        div.card {
            h2 { "Your client key" }
            p { "When Tor Browser asks for a key for this onion site, paste:" }
            input type="text" readonly value=(key);
            p { "For C tor (" code { "ClientOnionAuthDir" } "), save this line as " code { "warren-admin.auth_private" } ":" }
            input type="text" readonly value=(line);
            p.muted { "Anyone with this key can reach the login page, but still needs your passphrase." }
        }
    };
    Page {
        app: &app,
        auth: &auth,
        path: "/access",
        title: "Access",
        refresh: None,
    }
    .render(body)
}
