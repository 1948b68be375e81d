//! Which paths on the box the panel may touch: shares come from, and
//! downloads go into, folders the owner chose (`panel.share_roots`, or the
//! home folder) and the download folder. Paths are resolved (symbolic
//! links and `..` included) before they are checked, so no spelling of a
//! path can leave them.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Why a path was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum PathError {
    /// Not absolute.
    #[error("give a full path, starting with /")]
    NotAbsolute,
    /// Does not exist (or cannot be resolved).
    #[error("{0} does not exist")]
    Missing(String),
    /// Outside every allowed folder.
    #[error("{0} is outside the folders this panel may use ({1})")]
    Outside(String, String),
    /// Would share the node's data folder (its store holds the node's
    /// secret keys).
    #[error(
        "{0} is or holds the node's data folder ({1}), which keeps its secret keys: share a folder beside it"
    )]
    Private(String, String),
}

/// The allowed folders, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Roots {
    roots: Vec<PathBuf>,
    /// The node's data folder, resolved: never shared.
    private: Option<PathBuf>,
    /// Where downloads go by default.
    pub(crate) downloads: PathBuf,
}

impl Roots {
    /// `configured` (empty: `$HOME`) and `downloads` (created if missing);
    /// `private` (the data folder) is never shared.
    pub(crate) fn new(configured: &[String], downloads: PathBuf, private: &Path) -> Result<Roots> {
        std::fs::create_dir_all(&downloads)
            .map_err(Error::io(format!("creating {}", downloads.display())))?;
        let mut wanted: Vec<PathBuf> = configured.iter().map(PathBuf::from).collect();
        if wanted.is_empty() {
            if let Some(home) = std::env::var_os("HOME") {
                wanted.push(PathBuf::from(home));
            }
        }
        wanted.push(downloads.clone());
        let roots = wanted
            .iter()
            .filter_map(|p| match p.canonicalize() {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::warn!(path = %p.display(), error = %e, "panel.share_roots: skipped");
                    None
                }
            })
            .collect();
        let downloads = downloads.canonicalize().unwrap_or(downloads);
        Ok(Roots {
            roots,
            private: private.canonicalize().ok(),
            downloads,
        })
    }

    /// `path` resolved, if it may be shared: inside an allowed folder and
    /// neither the data folder, a folder holding it, nor inside it (but
    /// for the download folder, whose files may be shared again).
    pub(crate) fn check_share(&self, path: &str) -> Result<PathBuf, PathError> {
        let real = self.check(path)?;
        if let Some(private) = &self.private {
            let holds = private.starts_with(&real);
            let inside = real.starts_with(private) && !real.starts_with(&self.downloads);
            if holds || inside {
                return Err(PathError::Private(
                    path.trim().to_string(),
                    private.display().to_string(),
                ));
            }
        }
        Ok(real)
    }

    /// The folders, for the pages.
    pub(crate) fn list(&self) -> &[PathBuf] {
        &self.roots
    }

    /// `path` resolved, if it exists inside an allowed folder.
    pub(crate) fn check(&self, path: &str) -> Result<PathBuf, PathError> {
        let p = Path::new(path.trim());
        if !p.is_absolute() {
            return Err(PathError::NotAbsolute);
        }
        let real = p
            .canonicalize()
            .map_err(|_| PathError::Missing(p.display().to_string()))?;
        if self.roots.iter().any(|r| real.starts_with(r)) {
            Ok(real)
        } else {
            let names: Vec<String> = self.roots.iter().map(|r| r.display().to_string()).collect();
            Err(PathError::Outside(
                p.display().to_string(),
                names.join(", "),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inside_the_roots_however_spelled() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("share");
        let outside = tmp.path().join("secret");
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("key"), b"x").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let roots = Roots::new(
            &[root.display().to_string()],
            tmp.path().join("dl"),
            &tmp.path().join("nowhere"),
        )
        .unwrap();
        assert!(roots.check(&root.join("a").display().to_string()).is_ok());
        assert!(
            roots
                .check(&tmp.path().join("dl").display().to_string())
                .is_ok()
        );
        let sneaky = format!("{}/a/../../secret/key", root.display());
        assert!(matches!(roots.check(&sneaky), Err(PathError::Outside(..))));
        let via_link = format!("{}/link/key", root.display());
        assert!(matches!(
            roots.check(&via_link),
            Err(PathError::Outside(..))
        ));
        assert_eq!(roots.check("a/b"), Err(PathError::NotAbsolute));
        assert!(matches!(
            roots.check("/no/such/thing"),
            Err(PathError::Missing(_))
        ));
    }

    #[test]
    fn the_data_folder_is_never_shared() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let data = home.join(".local/share/warren");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(home.join("photos")).unwrap();
        std::fs::write(data.join("warren.redb"), b"secrets").unwrap();
        let roots =
            Roots::new(&[home.display().to_string()], data.join("downloads"), &data).unwrap();
        let s = |p: &Path| roots.check_share(&p.display().to_string());
        for refused in [
            home.clone(),
            home.join(".local"),
            data.clone(),
            data.join("warren.redb"),
        ] {
            assert!(
                matches!(s(&refused), Err(PathError::Private(..))),
                "{refused:?}"
            );
        }
        assert!(s(&home.join("photos")).is_ok());
        assert!(
            s(&data.join("downloads")).is_ok(),
            "downloads may be shared again"
        );
        // Downloads may still go anywhere allowed.
        assert!(
            roots
                .check(&data.join("downloads").display().to_string())
                .is_ok()
        );
    }
}
