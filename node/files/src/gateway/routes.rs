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
//! gateway says nothing about which tokens exist. A share whose files are
//! gone answers 410, one whose files changed 409, with a page saying so;
//! before a file's first byte is sent its piece is verified, and a file
//! whose size or modification time changed is checked against its pieces
//! first (503 with `Retry-After` if that takes longer than
//! [`SETTLE_WAIT`]). A listing is paged (`?page=N`) so that no page
//! outgrows `page::PAGE_BYTES`.

use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use warren_proto::content::{ContentId, SwarmId, Token};

use super::body::Body;
use super::page;
use super::range::{self, Want};
use crate::health::Health;
use crate::source::Freshness;
use crate::{FilesError, FilesHandle, Found, Served};

/// How long a request waits for a changed file to be checked.
pub(crate) const SETTLE_WAIT: Duration = Duration::from_secs(10);

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
    let served = match files.lookup(swarm).await {
        None => return not_found(),
        Some(Found::Unavailable { health }) => return unavailable(health),
        Some(Found::Served(s)) => *s,
    };
    let base = format!("/{kind}/{id}");
    match (parts.next(), parts.next()) {
        (None | Some(""), None) => listing(&served, &base, page_number(req.uri().query())),
        (Some(n), _) => match n.parse::<usize>() {
            Ok(n) => file(req, &files, swarm, served, n).await,
            Err(_) => not_found(),
        },
        (None, Some(_)) => not_found(),
    }
}

/// `page=N` in a query (pages count from 1).
fn page_number(query: Option<&str>) -> usize {
    query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| kv.strip_prefix("page=")?.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1)
}

fn listing(served: &Served, base: &str, page_no: usize) -> Response<Body> {
    let Some(view) = &served.view else {
        return sealed();
    };
    let have = served.have.borrow();
    match page::listing(&view.listing, base, (have.count(), have.len()), page_no) {
        Some(p) => html(StatusCode::OK, p),
        None => not_found(),
    }
}

/// Whether the files holding bytes `from .. from + len` are as last
/// verified; a changed stamp is settled by a check first. Gives the share
/// as served after that, or the answer to send instead.
async fn settled(
    files: &FilesHandle,
    swarm: SwarmId,
    served: Served,
    from: u64,
    len: u64,
) -> Result<Served, Response<Body>> {
    let mut served = served;
    for round in 0..2 {
        let fs = served.pieces.files().clone();
        let range = fs.files_of(from, len);
        let fresh = tokio::task::spawn_blocking(move || fs.freshness(range))
            .await
            .map_err(|_| failed())?;
        match fresh {
            Ok(Freshness::Fresh) => return Ok(served),
            Ok(Freshness::Stale(_)) if round == 0 => {
                match tokio::time::timeout(SETTLE_WAIT, files.settle(swarm)).await {
                    Ok(Some(Found::Served(s))) => served = *s,
                    Ok(Some(Found::Unavailable { health })) => return Err(unavailable(health)),
                    Ok(None) => return Err(not_found()),
                    Err(_) => return Err(checking()),
                }
            }
            // Changed again while it was being checked.
            Ok(Freshness::Stale(_)) => return Err(checking()),
            Err(e) => {
                served.pieces.report(&e);
                return Err(refused(&e));
            }
        }
    }
    Err(checking())
}

async fn file<B>(
    req: &Request<B>,
    files: &FilesHandle,
    swarm: SwarmId,
    served: Served,
    n: usize,
) -> Response<Body> {
    let Some(view) = &served.view else {
        return sealed();
    };
    let entries = view.listing.files.as_slice();
    let Some(entry) = entries.get(n) else {
        return not_found();
    };
    let start: u64 = entries[..n].iter().map(|f| f.size).sum();
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
    if !have_bytes(&served, start + first, count) {
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
    let leaf = page::unspoofed(path.rsplit('/').next().unwrap_or(&path));
    let leaf = leaf.as_str();
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
    let key = view.key.clone();
    // Nothing is answered until the files are known to be as verified and
    // the first piece matches its hash.
    let body = if count == 0 {
        Body::empty()
    } else {
        let served = match settled(files, swarm, served.clone(), start + first, count).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        let ps = u64::from(served.content.manifest.piece_size.max(1));
        let index = ((start + first) / ps) as u32;
        match served.pieces.piece(index).await {
            Ok(p) => Body::stream(served.pieces.clone(), p, key, start + first, count),
            Err(e) => return refused(&e),
        }
    };
    let mut r = Response::new(body);
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

/// The answer for a share whose files no longer hold it.
fn unavailable(health: Health) -> Response<Body> {
    match health {
        Health::Missing => html(
            StatusCode::GONE,
            page::notice(
                "File gone",
                "The node that shares this no longer has the file: it was deleted or moved. Nothing can be downloaded from this link here.",
            ),
        ),
        _ => html(
            StatusCode::CONFLICT,
            page::notice(
                "File changed",
                "A file of this share changed on the node that shares it after this link was made, so the share no longer matches the link. Nothing of a changed file is sent. Ask for a new link.",
            ),
        ),
    }
}

/// The answer when reading failed.
fn refused(e: &FilesError) -> Response<Body> {
    match e {
        FilesError::Fault(f) => unavailable(f.health()),
        _ => failed(),
    }
}

fn failed() -> Response<Body> {
    html(
        StatusCode::INTERNAL_SERVER_ERROR,
        page::notice(
            "Cannot read the file",
            "This node could not read the file. Try again later.",
        ),
    )
}

fn checking() -> Response<Body> {
    let mut r = html(
        StatusCode::SERVICE_UNAVAILABLE,
        page::notice(
            "Being checked",
            "The file was modified on this node and is being checked against the link. Try again in a moment.",
        ),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
    r
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
