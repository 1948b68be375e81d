//! What each URL answers.
//!
//! | path                     | answer                                        |
//! |--------------------------|-----------------------------------------------|
//! | `/`                      | a short page naming the node's purpose        |
//! | `/s/<token>`             | the private share's file list                 |
//! | `/c/<content id>`        | the public share's file list                  |
//! | `/s/<token>/<n>/<name>`  | file number `n` (`name` is for the browser)   |
//! | `/c/<id>/<n>/<name>`     | the same for a public share                   |
//!
//! Unknown tokens and ids get the same 404 as malformed ones, so the
//! gateway says nothing about which tokens exist.

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use warren_proto::content::{ContentId, SwarmId, Token};

use super::body::Body;
use super::page;
use super::range::{self, Want};
use crate::files::FilesHandle;
use crate::files::Served;

/// Answers one request.
pub(crate) async fn handle<B>(req: Request<B>, files: FilesHandle) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    if req.method() != Method::GET && !head {
        let mut r = html(
            StatusCode::METHOD_NOT_ALLOWED,
            page::notice("Not allowed", "Only GET and HEAD are answered here."),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let mut resp = route(&req, files).await;
    if head {
        *resp.body_mut() = Body::empty();
    }
    resp
}

async fn route<B>(req: &Request<B>, files: FilesHandle) -> Response<Body> {
    let path = req.uri().path();
    if path == "/" {
        return html(
            StatusCode::OK,
            page::notice(
                "Warren",
                "This is a Warren node. Open a share link to see what it holds for you.",
            ),
        );
    }
    let mut parts = path.trim_start_matches('/').split('/');
    let kind = parts.next().unwrap_or("");
    let id = parts.next().unwrap_or("");
    let swarm = match kind {
        "s" => Token::from_base32(id).ok().map(|t| t.swarm()),
        "c" => ContentId::from_base32(id).ok().map(SwarmId::from),
        _ => None,
    };
    let Some(swarm) = swarm else {
        return not_found();
    };
    let Some(served) = files.lookup(swarm).await else {
        return not_found();
    };
    let base = format!("/{kind}/{id}");
    match (parts.next(), parts.next()) {
        (None | Some(""), None) => listing(&served, &base),
        (Some(n), _) => match n.parse::<usize>() {
            Ok(n) => file(req, &served, n),
            Err(_) => not_found(),
        },
        (None, Some(_)) => not_found(),
    }
}

fn listing(served: &Served, base: &str) -> Response<Body> {
    let Some(view) = &served.view else {
        return sealed();
    };
    let have = served.have.borrow();
    html(
        StatusCode::OK,
        page::listing(&view.listing, base, (have.count(), have.len())),
    )
}

fn file<B>(req: &Request<B>, served: &Served, n: usize) -> Response<Body> {
    let Some(view) = &served.view else {
        return sealed();
    };
    let files = view.listing.files.as_slice();
    let Some(entry) = files.get(n) else {
        return not_found();
    };
    let start: u64 = files[..n].iter().map(|f| f.size).sum();
    let len = entry.size;
    let etag = format!("\"{}-{n}\"", served.content.id);
    let range_header = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok());
    // If-Range: resume only if the file is still the one the client has.
    let if_range_ok = match req.headers().get(header::IF_RANGE) {
        None => true,
        Some(v) => v.to_str().is_ok_and(|v| v.trim() == etag),
    };
    let want = if if_range_ok {
        range::parse(range_header, len)
    } else {
        Want::Full
    };
    let (status, first, count) = match want {
        Want::Full => (StatusCode::OK, 0, len),
        Want::Part { first, last } => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
        Want::Unsatisfiable => {
            let mut r = html(
                StatusCode::RANGE_NOT_SATISFIABLE,
                page::notice("Range not satisfiable", "The file is shorter than that."),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    if !have_bytes(served, start + first, count) {
        let mut r = html(
            StatusCode::SERVICE_UNAVAILABLE,
            page::notice(
                "Not here yet",
                "This node has not finished downloading that part of the file. Try again later.",
            ),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return r;
    }
    let path = entry.path.to_string();
    let leaf = path.rsplit('/').next().unwrap_or(&path);
    let ascii: String = leaf
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut r = Response::new(Body::stream(view.plain.clone(), start + first, count));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        page::pct(leaf)
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        let last = first + count - 1;
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {first}-{last}/{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    secure(h);
    r
}

/// Whether every piece under content bytes `from..from+len` is held.
fn have_bytes(served: &Served, from: u64, len: u64) -> bool {
    if len == 0 {
        return true;
    }
    let piece = u64::from(served.content.manifest.piece_size.max(1));
    let have = served.have.borrow();
    let (a, b) = (from / piece, (from + len - 1) / piece);
    (a..=b).all(|i| u32::try_from(i).is_ok_and(|i| have.get(i)))
}

fn sealed() -> Response<Body> {
    html(
        StatusCode::FORBIDDEN,
        page::notice(
            "Sealed share",
            "This node stores the share encrypted and cannot read it. Open the link with `warren get` to download and decrypt it.",
        ),
    )
}

fn not_found() -> Response<Body> {
    html(
        StatusCode::NOT_FOUND,
        page::notice(
            "No share here",
            "Nothing is shared at this link on this node.",
        ),
    )
}

fn html(status: StatusCode, text: String) -> Response<Body> {
    let mut r = Response::new(Body::text(text));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(h);
    r
}

/// Headers on every answer: no scripts, frames, referrers or sniffing.
fn secure(h: &mut http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
