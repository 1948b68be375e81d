//! File transfer on the private Tor network, in interleaved rounds:
//! Warren on one circuit, a plain HTTP server behind a C tor onion service
//! fetched with curl through a C tor client, OnionShare on the same C tor,
//! and Warren on three circuits; then three seeders against one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::super::median;
use super::super::procs::Proc;
use super::{mb_s, random_file, same};

const SIZE: u64 = 32 << 20;
const ROUNDS: usize = 3;

fn arti(dir: &Path, net: &Path, config: &str, boot: Option<&str>) -> Proc {
    let net = net.to_str().unwrap();
    let mut args = vec!["--transport", "arti", "--tor-network", net];
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
    net: &Path,
    circuits: usize,
    boot: &str,
    link: &str,
    src: &Path,
) -> Option<Duration> {
    let n = arti(
        dir,
        net,
        &format!("[files]\ncircuits_per_provider = {circuits}\n"),
        Some(boot),
    );
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
    let netfile: PathBuf = net.file.clone();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let src = dir.join("src/file.bin");
    random_file(&src, SIZE, 5);

    let seeder = arti(&dir.join("seeder"), &netfile, "", None);
    let boot = seeder.status().unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    let shared = seeder.json(&["share", src.to_str().unwrap(), "--json", "--public"]);
    let link = shared["public_link"].as_str().unwrap().to_string();

    // The C tor side: one tor hosting the plain HTTP service (and
    // OnionShare's), another as the client curl goes through.
    let hs_dir = dir.join("hs");
    let (_http, http_port) = http_server(&dir.join("src")).expect("python3 -m http.server");
    let service_tor = warren_localnet::CTor::start(
        &net.network,
        &dir.join("tor-service"),
        &[
            &format!("HiddenServiceDir {}", hs_dir.display()),
            &format!("HiddenServicePort 80 127.0.0.1:{http_port}"),
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
    let http_url = format!("http://{}/file.bin", host.trim());
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

    let (mut w1, mut w3, mut http, mut os) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if let Some(d) = warren_get(
            &dir.join(format!("w1-{round}")),
            &netfile,
            1,
            &boot,
            &link,
            &src,
        ) {
            w1.push(d);
        }
        if http_ok {
            if let Some(d) = curl_get(
                client_tor.socks_port,
                &http_url,
                &dir.join("http.out"),
                &src,
            ) {
                http.push(d);
            }
        }
        if let (true, Some(u)) = (share_ok, &share_url) {
            if let Some(d) = curl_get(client_tor.socks_port, u, &dir.join("os.out"), &src) {
                os.push(d);
            }
        }
        if let Some(d) = warren_get(
            &dir.join(format!("w3-{round}")),
            &netfile,
            3,
            &boot,
            &link,
            &src,
        ) {
            w3.push(d);
        }
    }
    let one = show("Warren, 1 seeder, 1 circuit", &mut w1);
    let three = show("Warren, 1 seeder, 3 circuits", &mut w3);
    let raw = show(
        "plain HTTP through a C tor onion service (curl via C tor)",
        &mut http,
    );
    let osh = show("OnionShare 2.6 on C tor (curl via C tor)", &mut os);
    // Speed of `a` relative to `b`, from their median times.
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.2}×", b / a),
        _ => "n/a".into(),
    };
    println!(
        "speed: Warren on 1 circuit = {} plain HTTP's, {} OnionShare's; 3 circuits = {} 1 circuit's",
        ratio(one, raw),
        ratio(one, osh),
        ratio(three, one)
    );

    // Three seeders: two nodes fetch it and seed; a fresh node downloads.
    let mut seeders = Vec::new();
    for name in ["s2", "s3"] {
        let n = arti(&dir.join(name), &netfile, "", Some(&boot));
        let out = dir.join(name).join("out");
        std::fs::create_dir_all(&out).unwrap();
        let o = n.cli(&["get", &link, "--out", out.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "seeder {name} could not fetch the file");
        seeders.push(n);
    }
    let mut w33 = Vec::new();
    for round in 0..ROUNDS {
        let d = dir.join(format!("w33-{round}"));
        let n = arti(&d, &netfile, "", Some(&boot));
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
    drop(service_tor);
    drop(client_tor);
}
