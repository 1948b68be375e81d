//! File transfer figures: a 1 GiB download between two nodes on loopback
//! against `openssl dgst -sha256` of the same file (every byte must be
//! hashed, so that is the floor), the same from three seeders, peak memory
//! and bytes written per byte; and on the private Tor network, Warren
//! against a plain HTTP download through an onion service and against
//! OnionShare, one circuit against several, three seeders against one.

mod loopback;
mod tor;

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Writes `len` pseudo-random bytes to `path`.
pub(crate) fn random_file(path: &Path, len: u64, seed: u64) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut buf = vec![0u8; 8 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len() as u64) as usize;
        rng.fill(&mut buf[..n]);
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
}

/// How long `openssl dgst -sha256 PATH` takes (median of three; the file
/// is in the page cache after the first).
fn openssl_sha256(path: &Path) -> Duration {
    let mut runs: Vec<Duration> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let ok = Command::new("openssl")
                .args(["dgst", "-sha256"])
                .arg(path)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            assert!(ok, "openssl dgst -sha256 failed (is openssl installed?)");
            t.elapsed()
        })
        .collect();
    super::median(&mut runs)
}

/// Whether two files hold the same bytes (`cmp`).
pub(crate) fn same(a: &Path, b: &Path) -> bool {
    Command::new("cmp")
        .arg("-s")
        .arg(a)
        .arg(b)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

pub(crate) fn mb_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e6
}

/// `loopback`, `tor`, or both.
pub(crate) fn run(loopback: bool, tor: bool) {
    let tmp = std::env::temp_dir().join(format!("warren-bench-files-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap();
    if loopback {
        loopback::run(&tmp.join("loopback"));
    }
    if tor {
        tor::run(&tmp.join("tor"));
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
