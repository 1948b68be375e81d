//! Commands that work whether or not the node is running: `init`, `trust`;
//! and `store check`, which needs it stopped.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use warren_node::clock::{Clock, SystemClock};
use warren_node::config::{Config, TransportKind};
use warren_node::control::{self, Request};
use warren_node::daemon::trust;
use warren_node::identity::Identity;
use warren_node::store::{Db, keep};
use warren_node::{Error, Result};
use warren_proto::{NodeId, PeerAddr, TransportHint};

use super::TrustAction;
use super::print;

/// The config file inside the data directory.
pub(crate) const CONFIG_NAME: &str = "warren.toml";
/// The redb file inside the data directory.
pub(crate) const STORE_NAME: &str = "warren.redb";
/// The mail database's file in the data directory (conversations, ratchets; on a
/// box, the mailboxes it holds).
pub(crate) const MAIL_STORE_NAME: &str = "mail.redb";
/// Folder inside the data directory where mirrors are kept.
pub(crate) const MIRROR_DIR: &str = "mirror";

/// Creates the data directory (mode 0700) if needed.
pub(crate) fn open_data_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(Error::io(format!("creating {}", dir.display())))?;
    } else if !dir.is_dir() {
        return Err(Error::Io {
            what: format!("{} is not a directory", dir.display()),
            source: std::io::ErrorKind::NotADirectory.into(),
        });
    }
    // The node's own folder is made private (0700); a shared one (sticky,
    // like /tmp's 1777) or another user's keeps its mode — the secrets in
    // it are files only the owner can read.
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata(dir) {
        let mode = m.permissions().mode() & 0o7777;
        let own = m.uid() == nix::unistd::getuid().as_raw();
        if own && mode & 0o1000 == 0 {
            if mode & 0o077 != 0 {
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
                eprintln!(
                    "note: the data folder {} was made private (0700; it was {mode:o})",
                    dir.display()
                );
            }
        } else if mode & 0o077 != 0 {
            eprintln!(
                "note: the data folder {} is shared ({mode:o}) and left as it is; the node's secret files in it are private",
                dir.display()
            );
        }
    }
    Ok(())
}

pub(crate) async fn init(dir: &Path, json: bool) -> Result<()> {
    open_data_dir(dir)?;
    let config = Config::load(&dir.join(CONFIG_NAME))?;
    let difficulty = config.community.policy()?.difficulty;
    let db = Db::open(&dir.join(STORE_NAME))?;
    if Identity::load(&db)?.is_none() {
        no_kept_identity(dir)?;
    }
    if !json && Identity::load(&db)?.is_none() {
        eprintln!(
            "creating identity: mining {} bits of proof of work…",
            difficulty.bits()
        );
    }
    let (identity, created) =
        tokio::task::spawn_blocking(move || Identity::load_or_create(&db, difficulty)).await??;
    let id = identity.keypair.id();
    // On Tor the address is the key's. On TCP it is known now for a fixed
    // port, and only once the node runs for port 0.
    let address = match (config.node.transport, config.node.listen.port()) {
        (TransportKind::Tcp, 0) => None,
        (TransportKind::Tcp, port) => {
            let hint = TransportHint::Tcp {
                ip: config.node.listen.ip().into(),
                port,
            };
            Some(PeerAddr::new(id, hint).to_string())
        }
        (TransportKind::Arti | TransportKind::Ctor, _) => Some(
            PeerAddr::new(
                id,
                TransportHint::Onion {
                    port: config.tor.onion_port,
                },
            )
            .to_string(),
        ),
    };
    if json {
        let v = serde_json::json!({ "id": id.to_string(), "address": address, "created": created, "data_dir": dir });
        outln!("{v}");
    } else {
        outln!(
            "{} {}",
            if created { "created" } else { "existing" },
            dir.display()
        );
        outln!("id       {id}");
        match address {
            Some(a) => outln!("address  {a}"),
            None => {
                outln!("address  shown by `warren status` once the node runs (listen port 0)")
            }
        }
    }
    Ok(())
}

fn parse_id(s: &str) -> Result<NodeId> {
    match s.parse::<PeerAddr>() {
        Ok(a) => Ok(a.id),
        Err(_) => Ok(NodeId::from_onion(s.trim())?),
    }
}

/// `trust add|remove|list`: through the running node if there is one,
/// else straight into the store (taking effect at the next start).
pub(crate) async fn trust(dir: &Path, action: TrustAction) -> Result<()> {
    let req = match &action {
        TrustAction::Add { address } => {
            address.parse::<PeerAddr>()?;
            Request::TrustAdd {
                address: address.clone(),
            }
        }
        TrustAction::Remove { id } => {
            parse_id(id)?;
            Request::TrustRemove { id: id.clone() }
        }
        TrustAction::List { .. } => Request::TrustList,
    };
    match control::request(dir, &req).await {
        Ok(v) => print::trust(&action, &v, true),
        Err(Error::NotRunning(_)) => {
            let v = trust_offline(dir, &action)?;
            print::trust(&action, &v, false)
        }
        Err(e) => Err(e),
    }
}

fn trust_offline(dir: &Path, action: &TrustAction) -> Result<serde_json::Value> {
    if !dir.join(STORE_NAME).exists() {
        return Err(Error::NoIdentity(dir.to_path_buf()));
    }
    let config = Config::load(&dir.join(CONFIG_NAME))?;
    let db = Db::open(&dir.join(STORE_NAME))?;
    let own = Identity::load(&db)?
        .ok_or_else(|| Error::NoIdentity(dir.to_path_buf()))?
        .keypair
        .id();
    let value = match action {
        TrustAction::Add { address } => serde_json::to_value(trust::add_offline(
            &db,
            own,
            address.parse()?,
            SystemClock.unix_now(),
            config.limits.max_trusted,
        )?),
        TrustAction::Remove { id } => {
            serde_json::to_value(warren_node::control::answers::Removed {
                removed: trust::remove_offline(&db, parse_id(id)?)?,
            })
        }
        TrustAction::List { .. } => serde_json::to_value(trust::list_offline(&db)?),
    };
    value.map_err(|e| Error::Remote(e.to_string()))
}

/// `warren store check`.
pub(crate) async fn store_check(dir: &Path, json: bool) -> Result<()> {
    refuse_while_running(dir, "check its store").await?;
    let path = dir.join(STORE_NAME);
    if !path.exists() {
        return Err(Error::NoIdentity(dir.to_path_buf()));
    }
    let report = tokio::task::spawn_blocking(move || warren_node::store::check(&path)).await??;
    if json {
        let v = serde_json::to_value(&report)?;
        outln!("{v}");
        return Ok(());
    }
    outln!(
        "{}: the store is consistent ({} bytes)",
        report.path.display(),
        report.bytes
    );
    match &report.identity {
        Some(id) => outln!("identity   {id} (its keys match)"),
        None => outln!("identity   none yet"),
    }
    for (table, n) in &report.entries {
        outln!("{table:<12} {n} entries");
    }
    Ok(())
}

/// A store without an identity in a folder that kept one (`warren.keep`)
/// lost it: refuse to make a new one (the node would silently become
/// someone else); `warren store restore` brings it back.
pub(crate) fn no_kept_identity(dir: &Path) -> Result<()> {
    let path = dir.join(keep::KEEP_FILE);
    if !path.exists() {
        return Ok(());
    }
    let who = keep::read(&path)
        .ok()
        .and_then(|k| {
            let db = Db::in_memory().ok()?;
            let rows: Vec<_> = k
                .rows
                .into_iter()
                .filter(|(t, _, _)| t == warren_node::store::Table::Identity.name())
                .map(|(_, key, v)| (warren_node::store::Table::Identity, key, Some(v)))
                .collect();
            db.apply(&rows).ok()?;
            Identity::load(&db)
                .ok()?
                .map(|i| i.keypair.id().to_string())
        })
        .unwrap_or_else(|| "another node".into());
    Err(warren_peers::Error::StoreDamaged {
        path: dir.join(STORE_NAME),
        detail: format!(
            "it holds no identity, but this data folder kept one ({who}, in {}); no new identity is made in its place",
            keep::KEEP_FILE
        ),
    }
    .into())
}

/// `warren store restore`.
pub(crate) async fn store_restore(dir: &Path, json: bool) -> Result<()> {
    refuse_while_running(dir, "restore its store").await?;
    let (store, d) = (dir.join(STORE_NAME), dir.to_path_buf());
    let now = SystemClock.unix_now();
    let r = tokio::task::spawn_blocking(move || keep::restore(&store, &d, now)).await??;
    if json {
        let v = serde_json::to_value(&r)?;
        outln!("{v}");
        return Ok(());
    }
    outln!(
        "restored {} from the copy kept {}",
        r.identity,
        print::ago(now, r.written_at)
    );
    for (table, n) in &r.rows {
        outln!("  {table:<12} {n} entries");
    }
    if let Some(p) = &r.set_aside {
        outln!("the damaged store is kept as {}", p.display());
    }
    outln!(
        "peers are found again on start; shares and downloads are not in the copy: share and get them again"
    );
    Ok(())
}

/// A store command needs the node stopped: the store is its while it runs.
async fn refuse_while_running(dir: &Path, then: &str) -> Result<()> {
    if control::request(dir, &Request::Status).await.is_ok() {
        return Err(Error::Refused(warren_node::Refusal::NodeRunning(
            then.to_string(),
        )));
    }
    Ok(())
}
