//! A plain HTTP/1.1 client for the panel's tests and benchmarks: one
//! request per connection, cookies kept by hand, nothing followed
//! automatically. Panics on I/O errors (it serves tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// The status code (0 if the answer did not parse).
    pub status: u16,
    /// Lower-case names; repeated headers joined with "\n".
    pub headers: BTreeMap<String, String>,
    /// The body, as text.
    pub body: String,
}

impl Answer {
    /// A header's value ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    /// `name=value` from the Set-Cookie headers.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.header("set-cookie")
            .lines()
            .filter_map(|l| l.split(';').next()?.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }

    /// The value of the hidden `csrf` field of the page's first form.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field")
            + 19;
        self.body[at..].split('"').next().unwrap().to_string()
    }
}

/// Sends one request to `base` (`http://127.0.0.1:port`).
pub fn request(
    base: &str,
    method: &str,
    path: &str,
    cookies: &[(&str, &str)],
    extra: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Answer {
    request_as(base, Sender::default(), method, path, cookies, extra, body)
}

/// Who sends a request: from which loopback address (`127.0.0.2` is
/// another client than `127.0.0.1`), naming which `Host`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Sender<'a> {
    /// The source address (default: the system's choice).
    pub source: Option<IpAddr>,
    /// The `Host` header (default: `base`'s address).
    pub host: Option<&'a str>,
}

/// Sends one request to `base` as `sender`.
pub fn request_as(
    base: &str,
    sender: Sender<'_>,
    method: &str,
    path: &str,
    cookies: &[(&str, &str)],
    extra: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Answer {
    let at = base.trim_start_matches("http://");
    let mut s = connect_from(at, sender.source);
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let host = sender.host.unwrap_or(at);
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if !cookies.is_empty() {
        let c: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        req.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
    }
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let payload = match body {
        Some((ctype, b)) => {
            req.push_str(&format!(
                "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
                b.len()
            ));
            b.to_string()
        }
        None => String::new(),
    };
    req.push_str("\r\n");
    req.push_str(&payload);
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            let e = headers.entry(k.trim().to_ascii_lowercase()).or_default();
            if !e.is_empty() {
                e.push('\n');
            }
            e.push_str(v.trim());
        }
    }
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A connection to `at` (`IP:PORT`), from `source` when given.
pub fn connect_from(at: &str, source: Option<IpAddr>) -> TcpStream {
    let Some(source) = source else {
        return TcpStream::connect(at).unwrap();
    };
    let to: SocketAddr = at.parse().expect("an IP:PORT address");
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(to),
        socket2::Type::STREAM,
        None,
    )
    .unwrap();
    socket.bind(&SocketAddr::new(source, 0).into()).unwrap();
    socket.connect(&to.into()).unwrap();
    socket.into()
}

/// `application/x-www-form-urlencoded` from pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A logged-in panel session: (session cookie, CSRF token).
pub struct Login {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The session cookie's value.
    pub session: String,
    /// The login's CSRF token.
    pub csrf: String,
}

impl Login {
    /// Pairs a fresh node's panel with `code` and `passphrase`.
    pub fn pair(base: &str, code: &str, passphrase: &str) -> Login {
        let page = request(base, "GET", "/pair", &[], &[], None);
        assert_eq!(page.status, 200, "{}", page.body);
        let token = page.cookie("warren_form").unwrap();
        let body = form(&[
            ("csrf", &token),
            ("code", code),
            ("passphrase", passphrase),
            ("confirm", passphrase),
        ]);
        let r = request(
            base,
            "POST",
            "/pair",
            &[("warren_form", &token)],
            &[],
            Some(("application/x-www-form-urlencoded", &body)),
        );
        assert_eq!(r.status, 303, "{}", r.body);
        Self::from_answer(base, &r)
    }

    fn from_answer(base: &str, r: &Answer) -> Login {
        let session = r.cookie("warren_session").expect("a session cookie");
        let page = request(
            base,
            "GET",
            "/dashboard",
            &[("warren_session", &session)],
            &[],
            None,
        );
        assert_eq!(page.status, 200, "{}", page.body);
        Login {
            base: base.to_string(),
            session,
            csrf: page.csrf(),
        }
    }

    /// `GET path` with the login.
    pub fn get(&self, path: &str) -> Answer {
        request(
            &self.base,
            "GET",
            path,
            &[("warren_session", &self.session)],
            &[],
            None,
        )
    }

    /// Posts a form (the CSRF token is added unless `csrf` is given in `pairs`).
    pub fn post(&self, path: &str, pairs: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = pairs.to_vec();
        if !pairs.iter().any(|(k, _)| *k == "csrf") {
            all.push(("csrf", &self.csrf));
        }
        let body = form(&all);
        request(
            &self.base,
            "POST",
            path,
            &[("warren_session", &self.session)],
            &[],
            Some(("application/x-www-form-urlencoded", &body)),
        )
    }

    /// `POST /api` with a JSON request.
    pub fn api(&self, json: &str, csrf: Option<&str>) -> Answer {
        let mut extra = Vec::new();
        if let Some(c) = csrf {
            extra.push(("X-CSRF-Token", c));
        }
        request(
            &self.base,
            "POST",
            "/api",
            &[("warren_session", &self.session)],
            &extra,
            Some(("application/json", json)),
        )
    }
}
