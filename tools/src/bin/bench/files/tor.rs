//! File transfer on the private Tor network, in interleaved rounds, every
//! C tor contender on the same two C tors (one hosting the services, one
//! the client): Warren on arti on one circuit, Warren on C tor on one
//! circuit, a plain HTTP server behind a C tor onion service fetched with
//! curl, OnionShare, Warren on arti on three circuits, and a raw arti
//! stream against a raw C tor stream; then three seeders against one.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::super::median;
use super::super::onion::stream::{self as raw, RawArti};
use super::super::procs::Proc;
use super::{mb_s, random_file, same};

const SIZE: u64 = 32 << 20;
const ROUNDS: usize = 3;

/// Which Tor a node runs on.
#[derive(Clone, Copy)]
enum On {
    /// Its own arti, on the network file.
    Arti(&'static Path),
    /// The C tor with this control port.
    CTor(u16),
}

/// A node on `on`, bootstrapping from `boot`, once it is online.
fn node(dir: &Path, on: On, config: &str, boot: Option<&str>) -> Proc {
    let control;
    let mut args = match on {
        On::Arti(net) => vec![
            "--transport",
            "arti",
            "--tor-network",
            net.to_str().unwrap(),
        ],
        On::CTor(port) => {
            control = format!("127.0.0.1:{port}");
            vec!["--transport", "ctor", "--control-port", &control]
        }
    };
    if let Some(b) = boot {
        args.extend(["--bootstrap", b]);
    }
    let p = Proc::start(
        dir,
        &format!("[tor]\nretry_interval_secs = 2\n{config}"),
        &args,
    );
    p.wait("online", |s| s["online"] == true);
    p
}

/// A fresh downloader fetches `link`; seconds, or None on failure.
fn warren_get(
    dir: &Path,
    on: On,
    circuits: usize,
    boot: &str,
    link: &str,
    src: &Path,
) -> Option<Duration> {
    let config = format!("[files]\ncircuits_per_provider = {circuits}\n");
    let n = node(dir, on, &config, Some(boot));
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let t = Instant::now();
    let o = n.cli(&["get", link, "--out", out.to_str().unwrap(), "--json"]);
    let took = t.elapsed();
    let name = src.file_name().unwrap();
    (o.status.success() && same(src, &out.join(name))).then_some(took)
}

/// curl through a SOCKS proxy into `out`; seconds, or None.
fn curl_get(socks: u16, url: &str, out: &Path, src: &Path) -> Option<Duration> {
    let t = Instant::now();
    let ok = Command::new("curl")
        .args(["-s", "-f", "--max-time", "600", "--proxy"])
        .arg(format!("socks5h://127.0.0.1:{socks}"))
        .arg("-o")
        .arg(out)
        .arg(url)
        .status()
        .is_ok_and(|s| s.success());
    let took = t.elapsed();
    (ok && same(src, out)).then_some(took)
}

/// Waits until `url` answers through the proxy.
fn reachable(socks: u16, url: &str) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(240) {
        let ok = Command::new("curl")
            .args(["-s", "-f", "-I", "--max-time", "60", "--proxy"])
            .arg(format!("socks5h://127.0.0.1:{socks}"))
            .arg(url)
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return true;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    false
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP server for `dir` on loopback.
fn http_server(dir: &Path) -> Option<(Kill, u16)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("python3")
        .args(["-m", "http.server", "--bind", "127.0.0.1"])
        .arg(port.to_string())
        .arg("--directory")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some((Kill(child), port))
}

/// OnionShare on the C tor at `control`; its URL.
fn onionshare(dir: &Path, control: u16, socks: u16, file: &Path) -> Option<(Kill, String)> {
    std::fs::create_dir_all(dir).ok()?;
    let settings = dir.join("onionshare.json");
    std::fs::write(
        &settings,
        format!(
            r#"{{"connection_type": "control_port", "control_port_address": "127.0.0.1", "control_port_port": {control}, "socks_address": "127.0.0.1", "socks_port": {socks}, "auth_type": "no_auth"}}"#
        ),
    )
    .ok()?;
    let mut child = Command::new("onionshare-cli")
        .arg("--config")
        .arg(&settings)
        .args(["--public", "--no-autostop-sharing"])
        .arg(file)
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let kill = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    // Read to the end: OnionShare prints progress while it serves, and a
    // closed pipe would kill it.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find("http://") {
                let url: String = line[at..].split_whitespace().next().unwrap_or("").into();
                if url.contains(".onion") {
                    let _ = tx.send(url);
                }
            }
        }
    });
    match rx.recv_timeout(Duration::from_secs(180)) {
        Ok(url) => Some((kill, url)),
        Err(_) => {
            println!("OnionShare printed no onion URL within 180 s: skipped");
            None
        }
    }
}

fn show(name: &str, v: &mut [Duration]) -> Option<f64> {
    if v.is_empty() {
        println!("{name}: no successful run");
        return None;
    }
    let runs: Vec<String> = v
        .iter()
        .map(|d| format!("{:.1}", d.as_secs_f64()))
        .collect();
    let m = median(v);
    println!(
        "{name}: median {:.1} s = {:.2} MB/s (runs: {} s)",
        m.as_secs_f64(),
        mb_s(SIZE, m),
        runs.join(", ")
    );
    Some(m.as_secs_f64())
}

pub(super) fn run(dir: &Path) {
    println!(
        "\n== files over the private Tor network ({} MiB, {ROUNDS} interleaved rounds)",
        SIZE >> 20
    );
    let net = warren_localnet::shared();
    let netfile: &'static Path = &net.file;
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let src = dir.join("src/file.bin");
    random_file(&src, SIZE, 5);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let seeder = node(&dir.join("seeder"), On::Arti(netfile), "", None);
    let boot = seeder.status().unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    let shared = seeder.json(&["share", src.to_str().unwrap(), "--json", "--public"]);
    let link = shared["public_link"].as_str().unwrap().to_string();

    // The C tor side: one tor hosting the plain HTTP service, the raw
    // stream's sink, OnionShare's service and a Warren seeder on C tor;
    // another as the client curl, the raw stream and Warren on C tor go
    // through.
    let hs_dir = dir.join("hs");
    let (_http, http_port) = http_server(&dir.join("src")).expect("python3 -m http.server");
    let sink_port = rt.block_on(async {
        let at = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = at.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((s, _)) = at.accept().await {
                tokio::spawn(raw::sink(s));
            }
        });
        port
    });
    let service_tor = warren_localnet::CTor::start(
        &net.network,
        &dir.join("tor-service"),
        &[
            &format!("HiddenServiceDir {}", hs_dir.display()),
            &format!("HiddenServicePort 80 127.0.0.1:{http_port}"),
            &format!(
                "HiddenServicePort {} 127.0.0.1:{sink_port}",
                raw::RAW_PORT + 1
            ),
        ],
        Duration::from_secs(120),
    )
    .expect("C tor for the onion services");
    let client_tor = warren_localnet::CTor::start(
        &net.network,
        &dir.join("tor-client"),
        &[],
        Duration::from_secs(120),
    )
    .expect("C tor client");
    let host = std::fs::read_to_string(hs_dir.join("hostname")).unwrap();
    let host = host.trim().to_string();
    let http_url = format!("http://{host}/file.bin");
    let http_ok = reachable(client_tor.socks_port, &http_url);
    if !http_ok {
        println!("the plain HTTP onion service never became reachable");
    }
    let share = if Command::new("onionshare-cli")
        .arg("--help")
        .output()
        .is_ok()
    {
        onionshare(
            &dir.join("onionshare"),
            service_tor.control_port,
            service_tor.socks_port,
            &src,
        )
    } else {
        println!("onionshare-cli is not installed (apt-get install onionshare-cli): skipped");
        None
    };
    let share_url = share.as_ref().map(|(_, u)| {
        let base = u.trim_end_matches('/');
        format!("{base}/download")
    });
    let share_ok = share_url
        .as_ref()
        .is_some_and(|u| reachable(client_tor.socks_port, u));
    // Warren on C tor: a seeder of its own (not connected to the arti
    // one, so each downloader has exactly one provider).
    let cseeder = node(
        &dir.join("ctor-seeder"),
        On::CTor(service_tor.control_port),
        "",
        None,
    );
    let cboot = cseeder.status().unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    let cshared = cseeder.json(&["share", src.to_str().unwrap(), "--json", "--public"]);
    let clink = cshared["public_link"].as_str().unwrap().to_string();
    let raw_arti = rt.block_on(RawArti::start(
        &dir.join("raw-arti"),
        &warren_node::tor::TorNetwork::load(netfile).unwrap(),
    ));
    let raw_rate = |r: f64| Duration::from_secs_f64(SIZE as f64 / r);

    let names = [
        "Warren on arti, 1 seeder, 1 circuit",
        "Warren on C tor, 1 seeder, 1 circuit",
        "plain HTTP through a C tor onion service (curl via C tor)",
        "OnionShare on C tor (curl via C tor)",
        "Warren on arti, 1 seeder, 3 circuits",
        "raw arti stream (an arti client to an arti onion service)",
        "raw C tor stream (a C tor client to a C tor onion service)",
    ];
    let mut runs: [Vec<Duration>; 7] = Default::default();
    for round in 0..ROUNDS {
        let d = |name: &str| dir.join(format!("{name}-{round}"));
        let arti_on = On::Arti(netfile);
        let got = [
            warren_get(&d("w1"), arti_on, 1, &boot, &link, &src),
            warren_get(
                &d("c1"),
                On::CTor(client_tor.control_port),
                1,
                &cboot,
                &clink,
                &src,
            ),
            http_ok
                .then(|| {
                    curl_get(
                        client_tor.socks_port,
                        &http_url,
                        &dir.join("http.out"),
                        &src,
                    )
                })
                .flatten(),
            share_url
                .as_ref()
                .filter(|_| share_ok)
                .and_then(|u| curl_get(client_tor.socks_port, u, &dir.join("os.out"), &src)),
            warren_get(&d("w3"), arti_on, 3, &boot, &link, &src),
            // The raw streams carry `raw::BYTES`; their rates give the
            // time SIZE would take.
            Some(raw_rate(rt.block_on(raw::retry(|| raw_arti.send())))),
            Some(raw_rate(rt.block_on(raw::retry(|| {
                raw::ctor_raw_send(client_tor.socks_port, &host, raw::RAW_PORT + 1)
            })))),
        ];
        for (v, g) in runs.iter_mut().zip(got) {
            v.extend(g);
        }
    }
    let [w1, c1, http, os, w3, ra, rc] = runs
        .iter_mut()
        .zip(names)
        .map(|(v, n)| show(n, v))
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    // Speed of `a` relative to `b`, from their median times.
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}×", b / a),
        _ => "n/a".into(),
    };
    println!(
        "speed: Warren on arti, 1 circuit = {} plain HTTP's, {} OnionShare's, {} a raw C tor stream's, {} Warren on C tor's",
        ratio(w1, http),
        ratio(w1, os),
        ratio(w1, rc),
        ratio(w1, c1)
    );
    println!(
        "speed: Warren on C tor, 1 circuit = {} plain HTTP's, {} OnionShare's; raw arti = {} raw C tor's; Warren on arti, 3 circuits = {} 1 circuit's",
        ratio(c1, http),
        ratio(c1, os),
        ratio(ra, rc),
        ratio(w3, w1)
    );
    let three = w3;

    // Three seeders: two nodes fetch it and seed; a fresh node downloads.
    let mut seeders = Vec::new();
    for name in ["s2", "s3"] {
        let n = node(&dir.join(name), On::Arti(netfile), "", Some(&boot));
        let out = dir.join(name).join("out");
        std::fs::create_dir_all(&out).unwrap();
        let o = n.cli(&["get", &link, "--out", out.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "seeder {name} could not fetch the file");
        seeders.push(n);
    }
    let mut w33 = Vec::new();
    for round in 0..ROUNDS {
        let d = dir.join(format!("w33-{round}"));
        let n = node(&d, On::Arti(netfile), "", Some(&boot));
        n.wait("three peers", |s| s["connected_peers"].as_u64() >= Some(3));
        let out = d.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let t = Instant::now();
        let o = n.cli(&["get", &link, "--out", out.to_str().unwrap(), "--json"]);
        if o.status.success() && same(&src, &out.join("file.bin")) {
            w33.push(t.elapsed());
        }
    }
    let many = show("Warren, 3 seeders, 3 circuits each", &mut w33);
    println!(
        "speed: 3 seeders = {} 1 seeder's (3 circuits each)",
        ratio(many, three)
    );
    drop(seeders);
    drop(share);
    drop(cseeder);
    drop(service_tor);
    drop(client_tor);
}
