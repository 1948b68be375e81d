//! Free space on the data folder's disk.

use std::path::Path;

/// Percent of the disk holding `dir` that is free for the node's user;
/// none when it cannot be read.
pub(crate) fn free_percent(dir: &Path) -> Option<f64> {
    let st = nix::sys::statvfs::statvfs(dir).ok()?;
    let total = st.blocks() as f64;
    (total > 0.0).then(|| st.blocks_available() as f64 * 100.0 / total)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_temp_folder_has_a_plausible_share_free() {
        let dir = tempfile::tempdir().unwrap();
        let p = super::free_percent(dir.path()).unwrap();
        assert!((0.0..=100.0).contains(&p), "{p}");
        assert_eq!(super::free_percent(&dir.path().join("missing")), None);
    }
}
