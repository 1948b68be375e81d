//! What verifying every piece on the way out costs.
//!
//! A node reads each piece whole and checks its SHA-256 before it sends any
//! byte of it, to a peer or to a browser. This measures, on loopback TCP
//! with a 512 MiB file in the page cache: a browser download through the
//! gateway (`curl`), a peer download (`warren get`, one seeder), and the
//! seeder's CPU time per GiB sent; and SHA-256 of the `sha2` crate (as the
//! node hashes pieces) on this machine. Given another `warren` binary (an
//! older build), both are measured in the same run, round after round.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::files::{mb_s, random_file, same};
use super::median;
use super::procs::{Proc, warren_bin};

const SIZE: u64 = 512 << 20;
const ROUNDS: usize = 3;

/// One build's seeder and what it shares.
struct Seeder {
    name: String,
    bin: PathBuf,
    node: Proc,
    link: String,
    file_url: String,
    gateway: Vec<Duration>,
    peer: Vec<Duration>,
    /// Seeder CPU ticks (1/100 s) per round of a peer download.
    peer_cpu: Vec<u64>,
    /// The downloader's CPU ticks per round.
    downloader_cpu: Vec<u64>,
    gateway_cpu: Vec<u64>,
}

fn tcp_args() -> [&'static str; 4] {
    ["--transport", "tcp", "--listen", "127.0.0.1:0"]
}

impl Seeder {
    fn start(name: &str, bin: &Path, dir: &Path, src: &Path) -> Seeder {
        let node = Proc::start_bin(bin, &dir.join("seeder"), "", &tcp_args());
        let shared = node.json(&["share", src.to_str().unwrap(), "--json"]);
        let url = shared["url"].as_str().unwrap().to_string();
        // The listing's one link is the file's.
        let page = Command::new("curl").args(["-s", &url]).output().unwrap();
        let page = String::from_utf8_lossy(&page.stdout).to_string();
        let href = page
            .split("<a href=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        let base = &url[..url.find("/s/").unwrap()];
        Seeder {
            name: name.into(),
            bin: bin.to_path_buf(),
            link: shared["link"].as_str().unwrap().to_string(),
            file_url: format!("{base}{href}"),
            node,
            gateway: Vec::new(),
            peer: Vec::new(),
            peer_cpu: Vec::new(),
            downloader_cpu: Vec::new(),
            gateway_cpu: Vec::new(),
        }
    }

    fn gateway_round(&mut self) {
        let cpu = self.node.cpu_ticks();
        let t = Instant::now();
        let o = Command::new("curl")
            .args(["-s", "-f", "-o", "/dev/null", "-w", "%{size_download}"])
            .arg(&self.file_url)
            .output()
            .unwrap();
        let took = t.elapsed();
        let got: u64 = String::from_utf8_lossy(&o.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        assert_eq!(got, SIZE, "{}: the gateway sent {got} bytes", self.name);
        self.gateway.push(took);
        self.gateway_cpu.push(self.node.cpu_ticks() - cpu);
    }

    fn peer_round(&mut self, dir: &Path, src: &Path, round: usize) {
        let addr = self.node.status().unwrap()["address"]
            .as_str()
            .unwrap()
            .to_string();
        let d = dir.join(format!("{}-b{round}", self.name));
        let b = Proc::start_bin(
            &self.bin,
            &d,
            "",
            &[
                "--transport",
                "tcp",
                "--listen",
                "127.0.0.1:0",
                "--bootstrap",
                &addr,
            ],
        );
        b.wait("connected", |s| s["connected_peers"].as_u64() >= Some(1));
        let out = d.join("out");
        std::fs::create_dir_all(&out).unwrap();
        let (cpu, b_cpu) = (self.node.cpu_ticks(), b.cpu_ticks());
        let t = Instant::now();
        let done = b.json(&["get", &self.link, "--out", out.to_str().unwrap(), "--json"]);
        self.peer.push(t.elapsed());
        self.peer_cpu.push(self.node.cpu_ticks() - cpu);
        self.downloader_cpu.push(b.cpu_ticks() - b_cpu);
        assert_eq!(done["state"], "complete", "{done}");
        let name = src.file_name().unwrap();
        assert!(
            same(src, &out.join(name)),
            "{}: the download differs",
            self.name
        );
        drop(b);
        let _ = std::fs::remove_dir_all(&d);
    }

    fn report(&mut self) {
        let gib = SIZE as f64 / (1u64 << 30) as f64;
        let g = median(&mut self.gateway);
        let p = median(&mut self.peer);
        self.gateway_cpu.sort_unstable();
        self.peer_cpu.sort_unstable();
        self.downloader_cpu.sort_unstable();
        let cpu = |v: &[u64]| v[v.len() / 2] as f64 / 100.0 / gib;
        println!("{}:", self.name);
        println!(
            "  gateway        {:>5.0} MB/s, seeder {:.2} CPU s/GiB",
            mb_s(SIZE, g),
            cpu(&self.gateway_cpu),
        );
        println!(
            "  peer download  {:>5.0} MB/s, seeder {:.2} CPU s/GiB, downloader {:.2} CPU s/GiB",
            mb_s(SIZE, p),
            cpu(&self.peer_cpu),
            cpu(&self.downloader_cpu),
        );
    }
}

/// SHA-256 of 256 KiB pieces, as the node hashes them: MB/s.
fn sha256_rate() -> f64 {
    let piece = vec![0x5au8; 256 << 10];
    let n = 1024; // 256 MiB
    let mut runs: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(warren_proto::content::piece_hash(std::hint::black_box(
                    &piece,
                )));
            }
            t.elapsed()
        })
        .collect();
    mb_s(n as u64 * piece.len() as u64, median(&mut runs))
}

pub(crate) fn run(other: Option<&Path>) {
    println!("\n== the cost of verifying every piece sent (loopback TCP, release build, 512 MiB)");
    println!(
        "SHA-256 (sha2 crate, 256 KiB pieces) on this machine: {:.0} MB/s",
        sha256_rate()
    );
    let tmp = std::env::temp_dir().join(format!("warren-bench-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    let src = tmp.join("big.bin");
    random_file(&src, SIZE, 7);
    let mut seeders = vec![Seeder::start(
        "this build",
        &warren_bin(),
        &tmp.join("this"),
        &src,
    )];
    if let Some(o) = other {
        seeders.push(Seeder::start(
            &format!("{}", o.display()),
            o,
            &tmp.join("other"),
            &src,
        ));
    }
    for round in 0..ROUNDS {
        for s in seeders.iter_mut() {
            s.gateway_round();
            s.peer_round(&tmp, &src, round);
        }
    }
    println!("medians of {ROUNDS} interleaved rounds:");
    for s in seeders.iter_mut() {
        s.report();
    }
    drop(seeders);
    let _ = std::fs::remove_dir_all(&tmp);
}
