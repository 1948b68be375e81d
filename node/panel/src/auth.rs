//! Pairing, login and logout, and the extractors every other route uses:
//! [`Auth`] (a live login) and [`Post`] (a login and the form's CSRF token).

use std::sync::Arc;

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::owner::{MAX_PASSPHRASE, MIN_PASSPHRASE};
use super::pages::{self, Empty};
use super::session::{FORM_COOKIE, SESSION_COOKIE, random_token, same};
use super::{App, write_pairing_file};
use warren_net::web::Client;

/// Largest form body read, bytes: a message's 32 KiB of text, up to three
/// times that URL-encoded.
const MAX_FORM: usize = 100 * 1024;

/// The value of cookie `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(name: &str, value: &str, max_age: Option<u64>) -> HeaderValue {
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict{age}"
    ))
    .unwrap_or(HeaderValue::from_static("x=; Max-Age=0"))
}

/// A live login.
pub(crate) struct Auth {
    pub(crate) token: String,
    pub(crate) csrf: String,
}

/// Where someone without a login goes: pairing before there is an owner,
/// the login page after; the API answers 401.
fn turn_away(app: &App, api: bool) -> Response {
    if api {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({"ok": false, "error": "log in first"})),
        )
            .into_response();
    }
    let paired = app.owner.lock().expect(crate::HELD).paired();
    Redirect::to(if paired { "/login" } else { "/pair" }).into_response()
}

impl FromRequestParts<Arc<App>> for Auth {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Auth, Response> {
        let found = cookie(&parts.headers, SESSION_COOKIE).and_then(|token| {
            let csrf = app.sessions.lock().expect(crate::HELD).csrf(&token)?;
            Some(Auth { token, csrf })
        });
        found.ok_or_else(|| turn_away(app, parts.uri.path().starts_with("/api")))
    }
}

#[derive(Deserialize, Default)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

/// A form from a logged-in owner, its CSRF token checked.
pub(crate) struct Post<T> {
    pub(crate) auth: Auth,
    pub(crate) form: T,
}

impl<T: DeserializeOwned> FromRequest<Arc<App>> for Post<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, app: &Arc<App>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let auth = Auth::from_request_parts(&mut parts, app).await?;
        let bytes = axum::body::to_bytes(body, MAX_FORM)
            .await
            .map_err(|_| pages::error(StatusCode::PAYLOAD_TOO_LARGE, "That form was too large."))?;
        let field: CsrfField = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        if !same(&field.csrf, &auth.csrf) {
            return Err(pages::error(
                StatusCode::FORBIDDEN,
                "This form did not come from your panel, or it expired. Go back, reload the page and try again.",
            ));
        }
        let form = serde_urlencoded::from_bytes(&bytes)
            .map_err(|e| pages::error(StatusCode::BAD_REQUEST, &format!("Bad form: {e}")))?;
        Ok(Post { auth, form })
    }
}

/// A pre-login form page: a fresh double-submit token in a cookie and in
/// the form.
fn with_form_token(render: impl FnOnce(&str) -> Response) -> Response {
    let token = random_token();
    let mut r = render(&token);
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FORM_COOKIE, &token, Some(3600)),
    );
    r
}

fn form_token_ok(headers: &HeaderMap, sent: &str) -> bool {
    cookie(headers, FORM_COOKIE).is_some_and(|c| same(&c, sent))
}

fn expired_form() -> Response {
    pages::error(
        StatusCode::FORBIDDEN,
        "This form expired or did not come from your panel. Go back, reload the page and try again.",
    )
}

/// Who is attempting a login or pairing, as the listener tells clients
/// apart (see [`Client`]).
pub(crate) struct Attempter(String);

impl FromRequestParts<Arc<App>> for Attempter {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<App>) -> Result<Attempter, Response> {
        Ok(Attempter(
            parts
                .extensions
                .get::<Client>()
                .map_or_else(|| "unknown".to_string(), |c| c.0.clone()),
        ))
    }
}

/// Records how `who`'s attempt went.
fn attempted(app: &App, who: &Attempter, ok: bool) {
    {
        let mut a = app.attempts.lock().expect(crate::HELD);
        if ok {
            a.succeeded(&who.0);
        } else {
            a.failed(&who.0);
        }
    }
}

/// Takes a login or pairing attempt for `who`, or answers 429.
#[allow(clippy::result_large_err)] // the refusal is the answer itself
fn attempt(app: &App, who: &Attempter) -> Result<(), Response> {
    let r = app.attempts.lock().expect(crate::HELD).take(&who.0);
    r.map_err(|wait| {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let mut resp = pages::error(
            StatusCode::TOO_MANY_REQUESTS,
            &format!("Too many attempts. Wait {secs} seconds, then try again."),
        );
        if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    })
}

/// Logs in: a session cookie, then `to`.
fn logged_in(app: &App, to: &str) -> Response {
    let mut sessions = app.sessions.lock().expect(crate::HELD);
    let (token, _) = sessions.create();
    let mut r = Redirect::to(to).into_response();
    let age = app.cfg.session_hours * 3600;
    r.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &token, Some(age)),
    );
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(FORM_COOKIE, "", Some(0)));
    r
}

/// Whether a pairing code is usable: before the first pairing, or during
/// pairing mode (the box's button).
fn can_pair(app: &App) -> bool {
    app.owner
        .lock()
        .expect(crate::HELD)
        .pairing_code()
        .is_some()
}

pub(crate) async fn pair_page(State(app): State<Arc<App>>) -> Response {
    if !can_pair(&app) {
        return Redirect::to("/login").into_response();
    }
    let window = app.pairing_shown();
    with_form_token(|t| pages::auth::pair(t, None, window.as_ref()))
}

#[derive(Deserialize)]
pub(crate) struct PairForm {
    csrf: String,
    code: String,
    passphrase: String,
    confirm: String,
}

pub(crate) async fn pair(
    State(app): State<Arc<App>>,
    who: Attempter,
    headers: HeaderMap,
    Form(f): Form<PairForm>,
) -> Response {
    if !form_token_ok(&headers, &f.csrf) {
        return expired_form();
    }
    let owner = app.owner.lock().expect(crate::HELD).clone();
    if owner.pairing_code().is_none() {
        return Redirect::to("/login").into_response();
    }
    let again = owner.paired();
    if let Err(r) = attempt(&app, &who) {
        return r;
    }
    let problem = if !owner.pairing_matches(&f.code) {
        Some("That pairing code is not right. It is printed by `warren run`, kept in pairing-code.txt in the data folder, and in pairing mode written to warren-pairing.txt on the boot partition.".to_string())
    } else if f.passphrase.chars().count() < MIN_PASSPHRASE || f.passphrase.len() > MAX_PASSPHRASE {
        Some(format!(
            "Choose a passphrase of {MIN_PASSPHRASE} to {MAX_PASSPHRASE} characters."
        ))
    } else if f.passphrase != f.confirm {
        Some("The two passphrases differ.".to_string())
    } else {
        None
    };
    if !owner.pairing_matches(&f.code) {
        attempted(&app, &who, false);
    }
    if let Some(p) = problem {
        return with_form_token(|t| {
            let mut r = pages::auth::pair(t, Some(&p), app.pairing_shown().as_ref());
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        });
    }
    let Ok(_permit) = app.hashing.acquire().await else {
        return pages::error(StatusCode::SERVICE_UNAVAILABLE, "Shutting down.");
    };
    let mut owner = owner;
    let pass = f.passphrase;
    let done =
        tokio::task::spawn_blocking(move || owner.set_passphrase(&pass).map(|()| owner)).await;
    match done {
        Ok(Ok(owner)) => {
            {
                let mut o = app.owner.lock().expect(crate::HELD);
                *o = owner;
            }
            if let Err(e) = write_pairing_file(&app.data_dir, None) {
                tracing::warn!(error = %e, "the used pairing code file stays");
            }
            super::pairing::code_used(&app);
            attempted(&app, &who, true);
            if again {
                // A new passphrase: the logins made with the old one end.
                {
                    let mut s = app.sessions.lock().expect(crate::HELD);
                    s.clear();
                }
                tracing::warn!(
                    "the panel was paired again: new passphrase, every other login ended"
                );
            } else {
                tracing::info!("the panel is paired with its owner");
            }
            logged_in(&app, "/access?welcome=1")
        }
        Ok(Err(e)) => pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => pages::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

pub(crate) async fn login_page(State(app): State<Arc<App>>) -> Response {
    if !app.owner.lock().expect(crate::HELD).paired() {
        return Redirect::to("/pair").into_response();
    }
    let pairing = can_pair(&app);
    with_form_token(|t| pages::auth::login(t, None, pairing))
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    csrf: String,
    passphrase: String,
}

pub(crate) async fn login(
    State(app): State<Arc<App>>,
    who: Attempter,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !form_token_ok(&headers, &f.csrf) {
        return expired_form();
    }
    if let Err(r) = attempt(&app, &who) {
        return r;
    }
    let owner = app.owner.lock().expect(crate::HELD).clone();
    let Ok(_permit) = app.hashing.acquire().await else {
        return pages::error(StatusCode::SERVICE_UNAVAILABLE, "Shutting down.");
    };
    let ok = tokio::task::spawn_blocking(move || owner.verify(&f.passphrase))
        .await
        .unwrap_or(false);
    attempted(&app, &who, ok);
    if ok {
        logged_in(&app, "/dashboard")
    } else {
        tracing::warn!(client = %who.0, "panel: a login with a wrong passphrase");
        with_form_token(|t| {
            let mut r = pages::auth::login(t, Some("Wrong passphrase."), can_pair(&app));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        })
    }
}

pub(crate) async fn logout(State(app): State<Arc<App>>, post: Post<Empty>) -> Response {
    {
        let mut s = app.sessions.lock().expect(crate::HELD);
        s.remove(&post.auth.token);
    }
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", Some(0)));
    r
}
