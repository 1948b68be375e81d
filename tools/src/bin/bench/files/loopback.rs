//! 1 GiB between nodes on loopback TCP, against `openssl dgst -sha256` of
//! the file and `curl | tee | openssl dgst -sha256` from a plain HTTP
//! server (`sendfile`) on the same machine: time, CPU per GiB on both
//! nodes, the downloader's context switches, memory and bytes written.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::super::procs::Proc;
use super::{mb_s, openssl_sha256, random_file, same};

const SIZE: u64 = 1 << 30;

fn tcp(dir: &Path, boot: Option<&str>) -> Proc {
    let mut args = vec!["--transport", "tcp", "--listen", "127.0.0.1:0"];
    if let Some(b) = boot {
        args.extend(["--bootstrap", b]);
    }
    Proc::start(dir, "", &args)
}

/// Downloads `link` on `node` into `out`; the time and `get`'s answer.
fn get(node: &Proc, link: &str, out: &Path) -> (Duration, serde_json::Value) {
    std::fs::create_dir_all(out).unwrap();
    let t = Instant::now();
    let done = node.json(&["get", link, "--out", out.to_str().unwrap(), "--json"]);
    (t.elapsed(), done)
}

/// Serves `file` over HTTP/1.1 on a loopback port, one connection after
/// another, the body with `std::io::copy` (`sendfile` on Linux); the port.
fn http_file(file: &Path) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let file = file.to_path_buf();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut f = std::fs::File::open(&file).unwrap();
            let len = f.metadata().unwrap().len();
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
            if conn.write_all(head.as_bytes()).is_ok() {
                let _ = std::io::copy(&mut f, &mut conn);
            }
        }
    });
    port
}

/// `curl URL | tee OUT | openssl dgst -sha256`: median of three.
fn curl_tee_openssl(port: u16, out: &Path) -> Duration {
    let script = format!(
        "set -o pipefail; curl -sf http://127.0.0.1:{port}/ | tee '{}' | openssl dgst -sha256 >/dev/null",
        out.display()
    );
    let mut runs: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let ok = Command::new("bash")
                .args(["-c", &script])
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "curl | tee | openssl failed (are curl and openssl installed?)"
            );
            t.elapsed()
        })
        .collect();
    let _ = std::fs::remove_file(out);
    super::super::median(&mut runs)
}

pub(super) fn run(dir: &Path) {
    println!("\n== files on loopback TCP (release build, 1 GiB of random bytes)");
    std::fs::create_dir_all(dir).unwrap();
    let src_dir = dir.join("src");
    std::fs::create_dir_all(&src_dir).unwrap();
    let src = src_dir.join("big.bin");
    random_file(&src, SIZE, 42);
    let floor = openssl_sha256(&src);
    println!(
        "openssl dgst -sha256 of the file: {:.2} s ({:.0} MB/s) — the floor",
        floor.as_secs_f64(),
        mb_s(SIZE, floor)
    );

    let pipeline = curl_tee_openssl(http_file(&src), &dir.join("curl.out"));
    println!(
        "curl | tee file | openssl dgst -sha256 from a plain HTTP server: {:.2} s ({:.0} MB/s)",
        pipeline.as_secs_f64(),
        mb_s(SIZE, pipeline)
    );

    // One seeder.
    let a = tcp(&dir.join("a"), None);
    let addr = a.status().unwrap()["address"].as_str().unwrap().to_string();
    let t = Instant::now();
    let shared = a.json(&["share", src.to_str().unwrap(), "--json", "--public"]);
    let hashing = t.elapsed();
    println!(
        "warren share (hash and store the manifest): {:.2} s ({:.0} MB/s)",
        hashing.as_secs_f64(),
        mb_s(SIZE, hashing)
    );
    let b = tcp(&dir.join("b"), Some(&addr));
    b.wait("b connected", |s| s["connected_peers"].as_u64() >= Some(1));
    let before = b.written();
    let ticks = (a.cpu_ticks(), b.cpu_ticks());
    let (took, done) = get(&b, shared["link"].as_str().unwrap(), &dir.join("out-b"));
    let after = b.written();
    // Clock ticks are 1/100 s on Linux.
    let seeder_cpu = (a.cpu_ticks() - ticks.0) as f64 / 100.0;
    let downloader_cpu = (b.cpu_ticks() - ticks.1) as f64 / 100.0;
    assert_eq!(done["state"], "complete", "{done}");
    assert!(
        same(&src, &dir.join("out-b/big.bin")),
        "the download differs"
    );
    println!(
        "1 GiB download, 1 seeder, verified: {:.2} s ({:.0} MB/s) = {:.2}× openssl's time, {:.2}× curl | tee | openssl's",
        took.as_secs_f64(),
        mb_s(SIZE, took),
        took.as_secs_f64() / floor.as_secs_f64(),
        took.as_secs_f64() / pipeline.as_secs_f64()
    );
    println!(
        "CPU per GiB during the download: seeder {seeder_cpu:.2} s + downloader {downloader_cpu:.2} s = {:.2} s",
        seeder_cpu + downloader_cpu
    );
    println!(
        "peak RSS of the downloading node: {:.1} MiB; of the seeder: {:.1} MiB",
        b.hwm_kib() as f64 / 1024.0,
        a.hwm_kib() as f64 / 1024.0
    );
    println!(
        "bytes written per byte downloaded: {:.3} handed to write() (files and store), {:.3} reaching the disk so far",
        (after.0 - before.0) as f64 / SIZE as f64,
        (after.1 - before.1) as f64 / SIZE as f64
    );
    let life = b.stop_usage();
    println!(
        "downloading node over its whole life (start, connect, 1 GiB, stop): {} context switches, {:.2} CPU-seconds",
        life.context_switches, life.cpu_s
    );

    // Three seeders: two more nodes fetch the share by its public link
    // (and so seed it), then a fresh node downloads it by content id.
    let public = shared["public_link"].as_str().unwrap();
    let c = tcp(&dir.join("c"), Some(&addr));
    let d = tcp(&dir.join("d"), Some(&addr));
    for (n, name) in [(&c, "out-c"), (&d, "out-d")] {
        let (_, done) = get(n, public, &dir.join(name));
        assert_eq!(done["state"], "complete", "{done}");
    }
    let e = tcp(&dir.join("e"), Some(&addr));
    e.wait("e connected to three seeders", |s| {
        s["connected_peers"].as_u64() >= Some(3)
    });
    // Seeders that have been around a moment, as in life.
    std::thread::sleep(Duration::from_secs(2));
    let up = |n: &Proc| {
        n.status().unwrap()["metrics"]["bytes_uploaded"]
            .as_u64()
            .unwrap_or(0)
    };
    let ups: Vec<u64> = [&a, &c, &d].iter().map(|n| up(n)).collect();
    let (took3, done) = get(&e, public, &dir.join("out-e"));
    assert_eq!(done["state"], "complete", "{done}");
    assert!(
        same(&src, &dir.join("out-e/big.bin")),
        "the download differs"
    );
    let shares: Vec<String> = [&a, &c, &d]
        .iter()
        .zip(&ups)
        .map(|(n, u0)| format!("{:.0} %", (up(n) - u0) as f64 * 100.0 / SIZE as f64))
        .collect();
    println!(
        "1 GiB download, 3 seeders, verified: {:.2} s ({:.0} MB/s) = {:.2}× openssl's time; {} providers found, seeders sent {}",
        took3.as_secs_f64(),
        mb_s(SIZE, took3),
        took3.as_secs_f64() / floor.as_secs_f64(),
        done["providers"],
        shares.join(" / ")
    );
    println!(
        "  (on {} cores, four nodes share the CPU: each byte is read and hashed by a seeder, sent, hashed by the receiver, written, read back and hashed again)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
}
