//! The names the panel answers to, against DNS rebinding: a web page the
//! owner visits can point its own name at `127.0.0.1` and have the
//! owner's browser send it requests, with that name in `Host` (Stanford's
//! "Protecting Browsers from DNS Rebinding Attacks", 2007; the fix it
//! gives is this one: check `Host`). The panel answers only requests for
//! an IP address written as such (nobody can rebind `127.0.0.1` or
//! `192.168.1.20`), `localhost`, the box's `warren-xxxx.local` name while
//! it announces it, and the admin onion's address; anything else gets
//! `421 Misdirected Request` (RFC 9110 §15.5.20). A request that changes
//! something must also come from one of those origins when the browser
//! says where it comes from (`Origin`, RFC 6454 §7; `Sec-Fetch-Site`,
//! Fetch Metadata): otherwise `403`. The port is not checked: an address
//! cannot be rebound on any port, and a router or qemu may forward
//! another port to the panel's.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::pages;
use super::{AdminOnion, App};

/// Requests refused for a foreign name or origin, counted.
#[derive(Default)]
pub(crate) struct Refused {
    /// A `Host` that is not one of the panel's names.
    pub(crate) hosts: AtomicU64,
    /// A state-changing request from another origin.
    pub(crate) origins: AtomicU64,
}

/// Whether `host` (a `Host` value: a name or address, perhaps a port) is
/// one of the panel's names.
pub(crate) fn allowed(host: &str, local_name: Option<&str>, onion: Option<&str>) -> bool {
    if host.contains('@') {
        return false;
    }
    let Ok(authority) = host.parse::<http::uri::Authority>() else {
        return false;
    };
    let name = authority.host();
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || local_name.is_some_and(|l| name.eq_ignore_ascii_case(l))
        || onion.is_some_and(|o| name.eq_ignore_ascii_case(o))
}

/// Whether a request that changes something comes from the panel's own
/// pages, as far as the browser says. `Sec-Fetch-Site` decides when it is
/// sent (every current browser, Tor Browser included): `same-origin` or
/// `none` (typed by the user). An `Origin` naming a host must name one of
/// the panel's; `Origin: null` alone is let through, since a browser sends
/// it for the panel's own forms under its `Referrer-Policy: no-referrer`
/// (the form's CSRF token and the `SameSite=Strict` cookie still guard
/// those).
fn same_origin(headers: &HeaderMap, local_name: Option<&str>, onion: Option<&str>) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return false;
        }
    }
    match headers.get(header::ORIGIN).map(|o| o.to_str()) {
        None | Some(Ok("null")) => true,
        Some(Ok(origin)) => origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .is_some_and(|h| allowed(h, local_name, onion)),
        Some(Err(_)) => false,
    }
}

/// Logs the first refusal of a kind and then every time the count doubles.
fn count(counter: &AtomicU64, what: &str, value: &str) {
    let n = counter.fetch_add(1, Ordering::Relaxed) + 1;
    if n.is_power_of_two() {
        tracing::warn!(
            refused = n,
            value,
            "panel: refused {what} (DNS rebinding or a page of another site?)"
        );
    }
}

/// The middleware: checks `Host`, then the origin of state-changing requests.
pub(crate) async fn check(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let onion = match app.admin_onion() {
        AdminOnion::Up(o) => Some(o),
        _ => None,
    };
    let local = app.local_name.as_deref();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let Some(host) = host else {
        return pages::error(StatusCode::BAD_REQUEST, "A request needs a Host header.");
    };
    if !allowed(&host, local, onion.as_deref()) {
        count(&app.refused.hosts, "a request for another host name", &host);
        return pages::error(
            StatusCode::MISDIRECTED_REQUEST,
            "This panel answers only at its own address (127.0.0.1, localhost, the box's address or .local name, or its onion address).",
        );
    }
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(req.headers(), local, onion.as_deref()) {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|o| o.to_str().ok())
            .unwrap_or("(another site)")
            .to_string();
        count(
            &app.refused.origins,
            "a form sent from another site",
            &origin,
        );
        return pages::error(
            StatusCode::FORBIDDEN,
            "This form was sent from another site. Open the panel at its own address and try again.",
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_localhost_and_own_names_only() {
        let local = Some("warren-abcd.local");
        let onion_name = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";
        let onion = Some(onion_name);
        for ok in [
            "127.0.0.1:7450",
            "127.0.0.1",
            "localhost:7450",
            "LOCALHOST",
            "[::1]:7450",
            "192.168.1.20:7451",
            "10.0.2.15",
            "warren-abcd.local:7451",
            "Warren-ABCD.local",
            "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion",
        ] {
            assert!(allowed(ok, local, onion), "{ok}");
        }
        for bad in [
            "evil.example:7450",
            "evil.example",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "warren-abce.local",
            "other.onion",
            "",
            "127.0.0.1:7450/x",
            "user@127.0.0.1",
        ] {
            assert!(!allowed(bad, local, onion), "{bad}");
        }
        // Without an announced name or an onion, those are foreign too.
        assert!(!allowed("warren-abcd.local", None, None));
        assert!(!allowed(onion_name, None, None));
    }

    #[test]
    fn state_changes_only_from_own_origins() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, v.parse().unwrap());
            }
            m
        };
        assert!(same_origin(&h(&[]), None, None));
        assert!(same_origin(
            &h(&[("origin", "http://127.0.0.1:7450")]),
            None,
            None
        ));
        assert!(same_origin(
            &h(&[("sec-fetch-site", "same-origin")]),
            None,
            None
        ));
        assert!(same_origin(&h(&[("sec-fetch-site", "none")]), None, None));
        assert!(!same_origin(
            &h(&[("origin", "http://evil.example:7450")]),
            None,
            None
        ));
        assert!(same_origin(
            &h(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            None,
            None
        ));
        assert!(!same_origin(
            &h(&[("origin", "null"), ("sec-fetch-site", "cross-site")]),
            None,
            None
        ));
        assert!(!same_origin(
            &h(&[("sec-fetch-site", "cross-site")]),
            None,
            None
        ));
        assert!(!same_origin(
            &h(&[("sec-fetch-site", "same-site")]),
            None,
            None
        ));
        assert!(!same_origin(
            &h(&[
                ("origin", "http://127.0.0.1:7450"),
                ("sec-fetch-site", "cross-site")
            ]),
            None,
            None
        ));
    }
}
