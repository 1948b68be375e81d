//! The panel's routes, the headers every answer carries, and the JSON API.
//!
//! | path                | what                                          |
//! |---------------------|-----------------------------------------------|
//! | `/pair`             | first run: pairing code → passphrase          |
//! | `/login`, `/logout` | logging in and out                            |
//! | `/dashboard`        | online or not and why, peers, storage, rates  |
//! | `/peers`            | peers, trusted nodes; trust and untrust       |
//! | `/shares`           | shares: create, publish, stop; `/shares/qr`   |
//! | `/downloads`        | downloads: add, pause, resume, remove         |
//! | `/messages`         | conversations; write to a member              |
//! | `/messages/c`       | a conversation: its thread (framed), send     |
//! | `/logs`             | the recent log tail, by level                 |
//! | `/settings`         | memory profile, seeding quota, upload cap     |
//! | `/access`           | the admin onion address and its client key    |
//! | `/api`              | JSON: one control request per POST            |
//!
//! Every page but pairing and login needs a login; every form, its CSRF
//! token; the API, a login and the token in `X-CSRF-Token`.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hyper::body::Incoming;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

use super::App;
use super::auth::{self, Auth};
use super::pages::{
    self, access, dashboard, downloads, logs, messages, peers, relay, settings, shares,
};
use super::session::same;
use warren_api::control::{Request, Response as ApiResponse};

const CSS: &str = include_str!("style.css");

/// The stylesheet's path: it names the content, so browsers may keep it
/// for a year.
pub(crate) fn css_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let h = Sha256::digest(CSS.as_bytes());
        let hex: String = h[..6].iter().map(|b| format!("{b:02x}")).collect();
        format!("/static/panel-{hex}.css")
    })
}

/// Every route.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(root))
        .route("/pair", get(auth::pair_page).post(auth::pair))
        .route("/login", get(auth::login_page).post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/dashboard", get(dashboard::page))
        .route("/peers", get(peers::page))
        .route("/peers/trust", post(peers::trust))
        .route("/peers/untrust", post(peers::untrust))
        .route("/shares", get(shares::page).post(shares::create))
        .route("/shares/qr", get(shares::qr))
        .route("/shares/publish", post(shares::publish))
        .route("/shares/stop", post(shares::stop))
        .route("/shares/clear", post(shares::clear))
        .route("/recheck", post(shares::recheck))
        .route("/downloads", get(downloads::page).post(downloads::add))
        .route("/downloads/pause", post(downloads::pause))
        .route("/downloads/resume", post(downloads::resume))
        .route("/downloads/remove", post(downloads::remove))
        .route("/messages", get(messages::page))
        .route("/messages/c", get(messages::conversation))
        .route("/messages/thread", get(messages::thread))
        .route("/messages/send", post(messages::send))
        .route("/relay", get(relay::page).post(relay::switch_post))
        .route("/logs", get(logs::page))
        .route("/settings", get(settings::page).post(settings::save))
        .route("/access", get(access::page))
        .route("/api", post(api))
        .route("/api/csrf", get(api_csrf))
        .route(css_path(), get(css))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            super::hosts::check,
        ))
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(app)
}

/// Answers one request.
pub(crate) async fn answer(router: Router, req: http::Request<Incoming>) -> Response {
    match router.oneshot(req.map(axum::body::Body::new)).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

async fn secure_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &'static str| {
        h.insert(k, HeaderValue::from_static(v));
    };
    // A page that may be framed (a conversation's thread, by the panel
    // itself) sets its own policy; every other is never framed.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            h,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        );
    }
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    if !h.contains_key(header::X_FRAME_OPTIONS) {
        set(h, header::X_FRAME_OPTIONS, "DENY");
    }
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages hold the owner's data: never kept by the browser or a proxy.
        set(h, header::CACHE_CONTROL, "no-store");
    }
    r
}

async fn root(auth: Result<Auth, Response>) -> Response {
    match auth {
        Ok(_) => Redirect::to("/dashboard").into_response(),
        Err(r) => r,
    }
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        CSS,
    )
        .into_response()
}

async fn not_found() -> Response {
    pages::error(StatusCode::NOT_FOUND, "There is no such page.")
}

fn api_error(status: StatusCode, e: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "ok": false, "error": e })),
    )
        .into_response()
}

async fn api_csrf(auth: Auth) -> Response {
    axum::Json(serde_json::json!({ "csrf": auth.csrf })).into_response()
}

/// `POST /api` with a control request (`{"cmd":"status"}`); answers as the
/// control socket does. Paths must lie in the panel's folders; downloads
/// never wait.
async fn api(State(app): State<Arc<App>>, auth: Auth, headers: HeaderMap, body: Bytes) -> Response {
    let sent = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !same(sent, &auth.csrf) {
        return api_error(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token");
    }
    let req: Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return api_error(StatusCode::BAD_REQUEST, &format!("bad request: {e}")),
    };
    let req = match req {
        Request::Share { path, options } => match app.roots.check_share(&path) {
            Ok(p) => Request::Share {
                path: p.display().to_string(),
                options,
            },
            Err(e) => return api_error(StatusCode::FORBIDDEN, &e.to_string()),
        },
        Request::Get { link, out, .. } => match app.roots.check(&out) {
            Ok(p) => Request::Get {
                link,
                out: p.display().to_string(),
                wait: false,
            },
            Err(e) => return api_error(StatusCode::FORBIDDEN, &e.to_string()),
        },
        other => other,
    };
    let r: ApiResponse = app.node.dispatch(req).await;
    axum::Json(r).into_response()
}
