//! The owner's panel over plain HTTP: nothing without a login, no form
//! without its CSRF token, brute force slowed, paths outside the owner's
//! folders refused, the JSON API shares the control socket's answers, and
//! every page stays small.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::web::{Answer, Login, Sender, form, request, request_as};
use common::{NodeProc, wait_for, write_config};

const PASS: &str = "a long enough passphrase";

/// Every page and action, as (method, path).
const ROUTES: [(&str, &str); 26] = [
    ("GET", "/dashboard"),
    ("GET", "/peers"),
    ("POST", "/peers/trust"),
    ("POST", "/peers/untrust"),
    ("GET", "/shares"),
    ("POST", "/shares"),
    ("GET", "/shares/qr?id=x"),
    ("POST", "/shares/publish"),
    ("POST", "/shares/stop"),
    ("POST", "/shares/clear"),
    ("POST", "/recheck"),
    ("GET", "/downloads"),
    ("POST", "/downloads"),
    ("POST", "/downloads/pause"),
    ("POST", "/downloads/resume"),
    ("POST", "/downloads/remove"),
    ("GET", "/relay"),
    ("POST", "/relay"),
    ("GET", "/logs"),
    ("GET", "/settings"),
    ("POST", "/settings"),
    ("GET", "/access"),
    ("POST", "/logout"),
    ("GET", "/"),
    ("POST", "/api"),
    ("GET", "/api/csrf"),
];

fn start(dir: &Path, root: &Path) -> (NodeProc, String) {
    write_config(
        dir,
        &format!("[panel]\nshare_roots = [\"{}\"]\n", root.display()),
    );
    let node = NodeProc::start(dir, &[]);
    let url = node.status()["panel_url"].as_str().unwrap().to_string();
    (node, url)
}

use common::pairing_code as code;

#[test]
fn nothing_without_a_login_and_no_form_without_its_token() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    std::fs::create_dir_all(&root).unwrap();
    let (_node, base) = start(&tmp.path().join("n"), &root);

    // Before pairing every route leads to pairing (the API: 401).
    for (method, path) in ROUTES {
        let r = request(
            &base,
            method,
            path,
            &[],
            &[],
            Some(("application/x-www-form-urlencoded", "")),
        );
        if path.starts_with("/api") {
            assert_eq!(r.status, 401, "{method} {path}");
        } else {
            assert_eq!(
                (r.status, r.header("location")),
                (303, "/pair"),
                "{method} {path}"
            );
        }
    }
    // Pairing: a form without its token, a wrong code, a short passphrase.
    let page = request(&base, "GET", "/pair", &[], &[], None);
    let token = page.cookie("warren_form").unwrap();
    let good = code(&tmp.path().join("n"));
    let post = |cookie: &str, fields: &[(&str, &str)]| {
        request(
            &base,
            "POST",
            "/pair",
            &[("warren_form", cookie)],
            &[],
            Some(("application/x-www-form-urlencoded", &form(fields))),
        )
    };
    let r = post(
        "forged",
        &[
            ("csrf", "forged2"),
            ("code", &good),
            ("passphrase", PASS),
            ("confirm", PASS),
        ],
    );
    assert_eq!(
        r.status, 403,
        "a pairing form with a token that does not match its cookie"
    );
    let r = post(
        &token,
        &[
            ("csrf", &token),
            ("code", "AAAA-AAAA-AAAA-AAAA"),
            ("passphrase", PASS),
            ("confirm", PASS),
        ],
    );
    assert_eq!(r.status, 401);
    let r = post(
        &token,
        &[
            ("csrf", &token),
            ("code", &good),
            ("passphrase", "short"),
            ("confirm", "short"),
        ],
    );
    assert_eq!(r.status, 401);
    assert!(r.cookie("warren_session").is_none());
    let login = Login::pair(&base, &good, PASS);
    assert!(
        !tmp.path().join("n/pairing-code.txt").exists(),
        "a used code is removed"
    );
    // The code works once.
    let again = request(&base, "GET", "/pair", &[], &[], None);
    assert_eq!((again.status, again.header("location")), (303, "/login"));

    // After pairing: every route without a login leads to the login page;
    // a forged session cookie is no login.
    for (method, path) in ROUTES {
        let r = request(
            &base,
            method,
            path,
            &[("warren_session", "forged")],
            &[],
            Some(("application/x-www-form-urlencoded", "")),
        );
        if path.starts_with("/api") {
            assert_eq!(r.status, 401, "{method} {path}");
        } else {
            assert_eq!(
                (r.status, r.header("location")),
                (303, "/login"),
                "{method} {path}"
            );
        }
    }
    // With a login, every form needs its token.
    for (method, path) in ROUTES
        .iter()
        .filter(|(m, p)| *m == "POST" && !p.starts_with("/api"))
    {
        let r = login.post(path, &[("csrf", "wrong")]);
        assert_eq!(r.status, 403, "{method} {path} with a wrong token");
        let r = login.post(path, &[("csrf", "")]);
        assert_eq!(r.status, 403, "{method} {path} without a token");
    }
    // The API needs its header.
    assert_eq!(login.api(r#"{"cmd":"status"}"#, None).status, 403);
    assert_eq!(login.api(r#"{"cmd":"status"}"#, Some("wrong")).status, 403);
    let ok = login.api(r#"{"cmd":"status"}"#, Some(&login.csrf));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let v: serde_json::Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["result"]["panel_url"].as_str(), Some(base.as_str()));
    // Still logged in after all that, and logging out ends it.
    assert_eq!(login.get("/dashboard").status, 200);
    assert_eq!(login.post("/logout", &[]).status, 303);
    assert_eq!(login.get("/dashboard").status, 303);
}

/// A shared name with a right-to-left override reaches the panel's pages
/// with U+FFFD in its place.
#[test]
fn the_panel_never_shows_a_direction_override() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    std::fs::create_dir_all(&root).unwrap();
    let spoof = root.join("invoice\u{202e}fdp.exe");
    std::fs::write(&spoof, b"MZ").unwrap();
    let dir = tmp.path().join("n");
    let (_node, base) = start(&dir, &root);
    let login = Login::pair(&base, &code(&dir), PASS);
    let path = spoof.to_str().unwrap();
    assert_eq!(login.post("/shares", &[("path", path)]).status, 303);
    let page = wait_for(Duration::from_secs(30), "the share", || {
        let page = login.get("/shares");
        page.body.contains("fdp.exe</strong>").then_some(page)
    });
    assert!(
        page.body.contains("invoice\u{fffd}fdp.exe"),
        "{}",
        page.body
    );
    assert!(
        !page
            .body
            .chars()
            .any(warren_proto::content::is_bidi_control),
        "{}",
        page.body
    );
}

#[test]
fn paths_outside_the_owners_folders_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::write(root.join("sub/ok.txt"), b"shared on purpose").unwrap();
    std::fs::write(tmp.path().join("secret.txt"), b"not for sharing").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("secret.txt"), root.join("link.txt")).unwrap();
    let dir = tmp.path().join("n");
    let (_node, base) = start(&dir, &root);
    let login = Login::pair(&base, &code(&dir), PASS);

    let sneaky = [
        format!("{}/sub/../../secret.txt", root.display()),
        format!("{}/link.txt", root.display()),
        "/etc/passwd".to_string(),
        "../secret.txt".to_string(),
    ];
    for path in &sneaky {
        let r = login.post("/shares", &[("path", path)]);
        assert_eq!(r.status, 303);
        let page = login.get("/shares");
        assert!(
            page.body.contains("outside the folders") || page.body.contains("full path"),
            "{path}: {}",
            page.body
        );
        let json = format!(
            r#"{{"cmd":"share","path":{}}}"#,
            serde_json::to_string(path).unwrap()
        );
        let r = login.api(&json, Some(&login.csrf));
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        let json = format!(
            r#"{{"cmd":"get","link":"x","out":{}}}"#,
            serde_json::to_string(&format!("{}/..", root.display())).unwrap()
        );
        assert_eq!(login.api(&json, Some(&login.csrf)).status, 403);
    }
    let shares = login.api(r#"{"cmd":"shares"}"#, Some(&login.csrf));
    assert!(
        shares.body.contains(r#""result":[]"#),
        "nothing was shared: {}",
        shares.body
    );

    // A path inside is shared (in the background, then listed).
    let inside = format!("{}/sub/ok.txt", root.display());
    assert_eq!(login.post("/shares", &[("path", &inside)]).status, 303);
    wait_for(Duration::from_secs(30), "the share", || {
        login
            .get("/shares")
            .body
            .contains("ok.txt</strong>")
            .then_some(())
    });
}

/// A login attempt from `source` (another loopback address is another
/// client).
fn login_from(base: &str, source: &str, pass: &str) -> Answer {
    let from = Sender {
        source: Some(source.parse().unwrap()),
        host: None,
    };
    let page = request_as(base, from, "GET", "/login", &[], &[], None);
    let token = page.cookie("warren_form").unwrap();
    request_as(
        base,
        from,
        "POST",
        "/login",
        &[("warren_form", &token)],
        &[],
        Some((
            "application/x-www-form-urlencoded",
            &form(&[("csrf", &token), ("passphrase", pass)]),
        )),
    )
}

#[test]
fn login_brute_force_is_slowed_per_client_and_never_keeps_the_owner_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("n");
    // The per-minute bucket is wide here: this is about the doubling wait
    // (the bucket has its unit test).
    write_config(&dir, "[panel]\nlogin_attempts_per_minute = 100\n");
    let _node = NodeProc::start(&dir, &[]);
    let base = _node.status()["panel_url"].as_str().unwrap().to_string();
    let _ = Login::pair(&base, &code(&dir), PASS);
    // A guesser on 127.0.0.1: two typos cost nothing…
    for i in 0..2 {
        let r = login_from(&base, "127.0.0.1", &format!("typo {i}"));
        assert_eq!(r.status, 401, "{}", r.body);
    }
    // …then each failure doubles its wait.
    let mut waits = Vec::new();
    for i in 0..4 {
        let r = login_from(&base, "127.0.0.1", &format!("guess number {i}"));
        assert_eq!(r.status, 401, "{}", r.body);
        let early = login_from(&base, "127.0.0.1", &format!("early guess {i}"));
        assert_eq!(early.status, 429, "a guess before its wait is refused");
        let wait: u64 = early.header("retry-after").parse().unwrap();
        waits.push(wait);
        // Meanwhile the owner on another address logs in at once.
        let t = std::time::Instant::now();
        let owner = login_from(&base, "127.0.0.2", PASS);
        assert_eq!(
            owner.status, 303,
            "the owner is never refused: {}",
            owner.body
        );
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        std::thread::sleep(Duration::from_secs(wait));
    }
    assert_eq!(waits, [1, 2, 4, 8], "exponential delay per client");
    // The right passphrase from the guesser's address, after its wait, is
    // let in and forgets its failures.
    assert_eq!(login_from(&base, "127.0.0.1", PASS).status, 303);
    for _ in 0..2 {
        assert_eq!(login_from(&base, "127.0.0.1", "one more typo").status, 401);
    }
}

#[test]
fn a_login_flood_from_many_clients_still_lets_the_owner_in() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    std::fs::create_dir_all(&root).unwrap();
    let dir = tmp.path().join("n");
    let (_node, base) = start(&dir, &root);
    let _ = Login::pair(&base, &code(&dir), PASS);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flooders: Vec<_> = (0..4)
        .map(|k| {
            let (base, stop) = (base.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = login_from(&base, &format!("127.0.1.{k}"), &format!("wrong {n}"));
                    n += 1;
                    std::thread::sleep(Duration::from_millis(200));
                }
                n
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let mut times = Vec::new();
    for _ in 0..6 {
        let t = std::time::Instant::now();
        let r = login_from(&base, "127.0.0.2", PASS);
        times.push(t.elapsed());
        assert_eq!(r.status, 303, "{}", r.body);
        std::thread::sleep(Duration::from_millis(300));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let tries: u32 = flooders.into_iter().map(|f| f.join().unwrap()).sum();
    assert!(tries > 20, "the flood ran: {tries}");
    times.sort();
    assert!(times[5] < Duration::from_secs(3), "{times:?}");
}

#[test]
fn requests_for_another_host_name_or_from_another_site_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    std::fs::create_dir_all(&root).unwrap();
    let dir = tmp.path().join("n");
    let (node, base) = start(&dir, &root);
    let port = base.rsplit(':').next().unwrap().to_string();
    let foreign = format!("evil.example:{port}");
    let as_host = |host: &str, method: &str, path: &str| {
        request_as(
            &base,
            Sender {
                source: None,
                host: Some(host),
            },
            method,
            path,
            &[],
            &[],
            None,
        )
    };
    // DNS rebinding: a page of evil.example pointed at 127.0.0.1.
    for (method, path) in [
        ("GET", "/login"),
        ("GET", "/pair"),
        ("POST", "/api"),
        ("GET", "/"),
    ] {
        let r = as_host(&foreign, method, path);
        assert_eq!(r.status, 421, "{method} {path}: {}", r.body);
        assert!(!r.headers.contains_key("set-cookie"), "{method} {path}");
    }
    for ok in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(as_host(&ok, "GET", "/pair").status, 200, "{ok}");
    }
    // A pairing form sent from another site's page (the browser says so).
    let login = {
        let page = request(&base, "GET", "/pair", &[], &[], None);
        let token = page.cookie("warren_form").unwrap();
        let body = form(&[
            ("csrf", &token),
            ("code", &code(&dir)),
            ("passphrase", PASS),
            ("confirm", PASS),
        ]);
        for extra in [
            ("Origin", foreign.as_str()),
            ("Origin", "http://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Site", "same-site"),
        ] {
            let r = request(
                &base,
                "POST",
                "/pair",
                &[("warren_form", &token)],
                &[extra],
                Some(("application/x-www-form-urlencoded", &body)),
            );
            assert_eq!(r.status, 403, "{extra:?}: {}", r.body);
        }
        // The same form from the panel's own page pairs (under the
        // panel's `Referrer-Policy: no-referrer` a browser sends `Origin:
        // null` with it).
        let r = request(
            &base,
            "POST",
            "/pair",
            &[("warren_form", &token)],
            &[("Origin", "null"), ("Sec-Fetch-Site", "same-origin")],
            Some(("application/x-www-form-urlencoded", &body)),
        );
        assert_eq!(r.status, 303, "{}", r.body);
        r.cookie("warren_session").unwrap()
    };
    // A logged-in API call from another site is refused too.
    let r = request(
        &base,
        "POST",
        "/api",
        &[("warren_session", &login)],
        &[("Origin", "http://evil.example")],
        Some(("application/json", r#"{"cmd":"status"}"#)),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    // Refusals are counted in the log.
    wait_for(Duration::from_secs(10), "the refusals logged", || {
        let log = node.log();
        (log.contains("refused a request for another host name")
            && log.contains("refused a form sent from another site"))
        .then_some(())
    });
}

#[test]
fn every_page_is_small_and_says_how_to_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("a.txt"), b"hello").unwrap();
    let dir = tmp.path().join("n");
    let (_node, base) = start(&dir, &root);
    let login = Login::pair(&base, &code(&dir), PASS);
    login.post("/shares", &[("path", &format!("{}/a.txt", root.display()))]);
    let content = wait_for(Duration::from_secs(30), "the share", || {
        let v: serde_json::Value =
            serde_json::from_str(&login.api(r#"{"cmd":"shares"}"#, Some(&login.csrf)).body)
                .unwrap();
        v["result"][0]["content"].as_str().map(str::to_string)
    });
    let page = login.get("/dashboard");
    let css_path = page
        .body
        .split("rel=\"stylesheet\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let css = request(&base, "GET", &css_path, &[], &[], None);
    assert_eq!(css.status, 200);
    assert!(css.header("cache-control").contains("immutable"));
    let qr = format!("/shares/qr?id={content}");
    for path in [
        "/dashboard",
        "/peers",
        "/shares",
        &qr,
        "/downloads",
        "/relay",
        "/logs",
        "/settings",
        "/access",
    ] {
        let r = login.get(path);
        assert_eq!(r.status, 200, "{path}");
        let weight = r.body.len() + css.body.len();
        println!(
            "{path:<24} {:>6} bytes + css {} = {weight}",
            r.body.len(),
            css.body.len()
        );
        assert!(weight <= 30 * 1024, "{path} weighs {weight} bytes");
        assert_eq!(r.header("cache-control"), "no-store", "{path}");
        assert!(
            r.header("content-security-policy")
                .contains("default-src 'none'"),
            "{path}"
        );
        assert!(!r.body.contains("<script"), "{path}");
    }
    for path in ["/pair", "/login"] {
        let r = request(&base, "GET", path, &[], &[], None);
        assert!(r.body.len() + css.body.len() <= 30 * 1024);
    }
    // No directory listing, no files outside the routes.
    for path in [
        "/static/",
        "/static",
        "/../warren.toml",
        "/static/../warren.toml",
    ] {
        let r = login.get(path);
        assert_eq!(r.status, 404, "{path}");
    }
}

#[test]
fn the_owner_sees_a_share_whose_file_is_gone_and_checks_it_again() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("share");
    std::fs::create_dir_all(&root).unwrap();
    let file = root.join("minutes.txt");
    std::fs::write(&file, "minutes of the meeting\n".repeat(5000)).unwrap();
    let dir = tmp.path().join("n");
    write_config(
        &dir,
        &format!(
            "[panel]\nshare_roots = [\"{}\"]\n\n[files]\ncheck_interval_secs = 1\n",
            root.display()
        ),
    );
    let node = NodeProc::start(&dir, &[]);
    let base = node.status()["panel_url"].as_str().unwrap().to_string();
    let login = Login::pair(&base, &code(&dir), PASS);
    let path = file.display().to_string();
    assert_eq!(login.post("/shares", &[("path", &path)]).status, 303);
    wait_for(Duration::from_secs(30), "the share", || {
        login
            .get("/shares")
            .body
            .contains("minutes.txt</strong>")
            .then_some(())
    });

    std::fs::remove_file(&file).unwrap();
    let dash = wait_for(Duration::from_secs(30), "the dashboard's warning", || {
        let b = login.get("/dashboard").body;
        b.contains("Share minutes.txt missing").then_some(b)
    });
    assert!(dash.contains("Needs your attention"), "{dash}");
    let page = login.get("/shares").body;
    assert!(page.contains("pill bad\">missing"), "{page}");
    assert!(page.contains("is gone"), "{page}");

    // Put back, and checked from the panel: all its pieces match.
    std::fs::write(&file, "minutes of the meeting\n".repeat(5000)).unwrap();
    let shares = login.api(r#"{"cmd":"shares"}"#, Some(&login.csrf));
    let v: serde_json::Value = serde_json::from_str(&shares.body).unwrap();
    let content = v["result"][0]["content"].as_str().unwrap().to_string();
    let r = login.post("/recheck", &[("id", &content), ("back", "/shares")]);
    assert_eq!((r.status, r.header("location")), (303, "/shares"));
    let page = login.get("/shares").body;
    assert!(
        page.contains("minutes.txt: 2 of 2 pieces match its link."),
        "{page}"
    );
    assert!(!page.contains("pill bad\">missing"), "{page}");
}
