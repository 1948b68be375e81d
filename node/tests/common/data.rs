//! Test data and checks on it: random files, tree comparison, HTTP via curl.

use std::path::Path;
use std::process::Command;

/// `len` bytes, the same for the same seed.
pub fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// Writes `len` random bytes at `path`, creating its folders.
pub fn random_file(path: &Path, len: usize, seed: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, random_bytes(len, seed)).unwrap();
}

/// Asserts that two files or trees are identical (`diff -r`).
pub fn same_tree(a: &Path, b: &Path) {
    let out = Command::new("diff")
        .arg("-r")
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} and {} differ:\n{}",
        a.display(),
        b.display(),
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs curl with `args` on `url`; returns (HTTP status, response headers,
/// body). Status 0: no answer at all.
pub fn curl(args: &[&str], url: &str) -> (u16, String, Vec<u8>) {
    let tmp = tempfile::tempdir().unwrap();
    let body = tmp.path().join("body");
    let headers = tmp.path().join("headers");
    let out = Command::new("curl")
        .args(["-s", "-g", "-D"])
        .arg(&headers)
        .arg("-o")
        .arg(&body)
        .args(["-w", "%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("curl runs");
    let code: u16 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    (
        code,
        std::fs::read_to_string(&headers).unwrap_or_default(),
        std::fs::read(&body).unwrap_or_default(),
    )
}

/// A response header's value (the last response's, case-insensitive name).
pub fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// The targets of the links on a gateway page, in order.
pub fn page_links(page: &str) -> Vec<String> {
    page.split("<a href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect()
}
