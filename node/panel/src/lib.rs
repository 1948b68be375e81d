//! The owner's web panel: status, peers and trust, shares, downloads, logs
//! and settings, in small server-rendered pages that work without
//! JavaScript, and a JSON API for everything the pages do.
//!
//! ```text
//!  127.0.0.1:7450 (panel.listen) ──┐
//!  admin onion (own key, restricted ├─► web::serve: one task per connection
//!  discovery: owner's client key) ──┘        │ (at most panel.max_connections)
//!                                            ▼
//!                                   routes: security headers on every answer
//!                                            │
//!            ┌───────────────┬───────────────┼────────────────┐
//!            ▼               ▼               ▼                ▼
//!      pair / login     pages (GET)    forms (POST,      /api (JSON,
//!      (rate-limited,   need a login   login + CSRF)     login + CSRF header)
//!       argon2id)                            │                │
//!                                            └──► NodeApi::dispatch
//!                                                 (the daemon's control::dispatch,
//!                                                  as for the control socket)
//! ```
//!
//! The panel reaches the node through [`NodeApi`], which the daemon
//! implements: the requests of the control socket (`warren_api::control`),
//! the status, the peers and trust, the files service. It is given the
//! store (the owner's secrets), the transport (the admin onion) and the
//! clock in [`PanelOptions`], and reads the process's log tail
//! (`warren_api::logging`) itself.
//!
//! Nobody can log in before pairing: the first run makes a one-time
//! pairing code (printed by `warren run` and kept in
//! `DATA_DIR/pairing-code.txt` until used); the owner enters it once with a
//! new passphrase. The admin onion is a separate identity from the node's,
//! so the two addresses cannot be linked, and its descriptor is encrypted
//! to the owner's client key, so nobody else can even reach the login page.

mod api;
mod auth;
mod error;
mod hosts;
mod jobs;
mod lan;
mod owner;
mod pages;
mod pairing;
mod paths;
mod routes;
mod session;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use warren_api::config::{Config, PanelConfig};
use warren_net::clock::SharedClock;
use warren_net::transport::{Listener, Transport};
use warren_net::web::ServeLimits;
use warren_peers::store::Db;

pub use api::NodeApi;
pub use error::{PanelError as Error, Result};

/// What every `Mutex` of the panel's `lock().expect` says: no code panics
/// while holding one of them (each guards a value that is set, taken or
/// cloned in place), so a poisoned lock is a bug, and says so.
pub(crate) const HELD: &str = "a lock of the panel is poisoned: no code panics while holding one";

pub use owner::MIN_PASSPHRASE;
pub use pairing::{BOOT_FILE, PairingHandle, PairingInfo, for_how_long};

/// File in the data directory holding the pairing code until it is used.
pub const PAIRING_FILE: &str = "pairing-code.txt";

/// What the panel needs.
pub struct PanelOptions {
    /// The node's whole configuration (the panel's section and the settings).
    pub config: Config,
    /// The configuration file the settings page edits; none: read-only.
    pub config_path: Option<PathBuf>,
    /// The data directory.
    pub data_dir: PathBuf,
    /// The node's database (the owner's secrets live there).
    pub db: Db,
    /// The running node.
    pub node: Arc<dyn NodeApi>,
    /// The node's transport (for the admin onion).
    pub transport: Arc<dyn Transport>,
    /// Wall time.
    pub clock: SharedClock,
    /// Its listener on this machine ([`bind_local`]); none: it answers only
    /// on the admin onion.
    pub local: Option<LocalListener>,
}

/// The panel's listener on this machine, bound before the panel starts
/// (so its address is known to the services started with it).
pub struct LocalListener {
    listener: Box<dyn Listener>,
    /// `http://127.0.0.1:…`.
    pub url: String,
}

/// Binds `panel.listen`. One that cannot be bound is logged, not fatal:
/// the node runs on without a local panel.
pub async fn bind_local(addr: SocketAddr) -> Option<LocalListener> {
    match bind(addr).await {
        Ok((listener, local)) => Some(LocalListener {
            listener,
            url: format!("http://{local}"),
        }),
        Err(e) => {
            tracing::warn!(error = %e, "the panel cannot listen on this machine");
            None
        }
    }
}

/// Where the admin onion stands.
#[derive(Debug, Clone)]
pub(crate) enum AdminOnion {
    /// Turned off in the configuration.
    Off,
    /// The transport has no onion services (TCP).
    Unavailable,
    /// Being published.
    Starting,
    /// Up at this address.
    Up(String),
    /// Failed, in words.
    Failed(String),
}

/// The panel's shared state.
pub(crate) struct App {
    pub(crate) node: Arc<dyn NodeApi>,
    pub(crate) clock: SharedClock,
    pub(crate) cfg: PanelConfig,
    pub(crate) config: Mutex<Config>,
    pub(crate) config_path: Option<PathBuf>,
    pub(crate) data_dir: PathBuf,
    pub(crate) owner: Mutex<owner::Owner>,
    pub(crate) sessions: Mutex<session::Sessions>,
    pub(crate) attempts: Mutex<session::Attempts>,
    /// One passphrase hash at a time (each takes ~19 MiB and tens of ms).
    pub(crate) hashing: Semaphore,
    pub(crate) roots: paths::Roots,
    pub(crate) jobs: jobs::Jobs,
    pub(crate) admin: Mutex<AdminOnion>,
    pub(crate) rates: Mutex<pages::Rates>,
    /// Where pairing mode writes its file (`board.boot_partition`).
    pub(crate) boot_partition: Option<PathBuf>,
    /// Whether pairing mode announces the box's `.local` name.
    pub(crate) mdns: bool,
    /// That name (`warren-xxxx.local`) when it is announced: the panel
    /// answers to it.
    pub(crate) local_name: Option<String>,
    /// Requests refused for a foreign `Host` or origin.
    pub(crate) refused: hosts::Refused,
    /// While pairing mode is open: when it closes, and where the pairing
    /// page opens on the local network (the pairing page shows both).
    pub(crate) pairing_window: Mutex<Option<(tokio::time::Instant, Vec<String>)>>,
}

impl App {
    /// "open for 9 more minutes" and the local URLs, while pairing mode
    /// is open.
    pub(crate) fn pairing_shown(&self) -> Option<(String, Vec<String>)> {
        let w = self.pairing_window.lock().expect(crate::HELD).clone()?;
        let left = w.0.saturating_duration_since(tokio::time::Instant::now());
        Some((pairing::for_how_long(left), w.1))
    }
}

impl App {
    pub(crate) fn admin_onion(&self) -> AdminOnion {
        self.admin.lock().expect(crate::HELD).clone()
    }

    fn set_admin(&self, a: AdminOnion) {
        {
            let mut s = self.admin.lock().expect(crate::HELD);
            *s = a;
        }
    }
}

/// The running panel.
pub struct Panel {
    /// `http://127.0.0.1:…`, when it listens on this machine.
    pub url: Option<String>,
    /// The pairing code, until the owner pairs.
    pub pairing_code: Option<String>,
    /// Pairing mode (the box's button).
    pub pairing: PairingHandle,
    shutdown: CancellationToken,
    tasks: TaskTracker,
}

impl Panel {
    /// Starts serving on `local` (the admin onion comes up in the
    /// background).
    pub async fn start(opts: PanelOptions) -> Result<Panel> {
        let cfg = opts.config.panel.clone();
        let owner = owner::Owner::load_or_create(&opts.db)?;
        let pairing_code = owner.pairing_code().map(str::to_string);
        write_pairing_file(&opts.data_dir, pairing_code.as_deref())?;
        let downloads = match opts.config.files.download_dir.as_str() {
            "" => opts.data_dir.join("downloads"),
            d => PathBuf::from(d),
        };
        let roots = paths::Roots::new(&cfg.share_roots, downloads, &opts.data_dir)?;
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();
        let mdns =
            opts.config.board.mdns && opts.config.node.role == warren_api::config::RoleName::Box;
        let app = Arc::new(App {
            node: opts.node.clone(),
            clock: opts.clock.clone(),
            cfg: cfg.clone(),
            config: Mutex::new(opts.config.clone()),
            config_path: opts.config_path,
            data_dir: opts.data_dir,
            owner: Mutex::new(owner.clone()),
            sessions: Mutex::new(session::Sessions::new(
                cfg.max_sessions,
                Duration::from_secs(cfg.session_hours * 3600),
            )),
            attempts: Mutex::new(session::Attempts::new(cfg.login_attempts_per_minute)),
            hashing: Semaphore::new(1),
            roots,
            jobs: jobs::Jobs::default(),
            admin: Mutex::new(AdminOnion::Off),
            rates: Mutex::new(pages::Rates::default()),
            boot_partition: match opts.config.board.boot_partition.as_str() {
                "" => None,
                p => Some(PathBuf::from(p)),
            },
            mdns,
            local_name: mdns
                .then(|| format!("{}.local", lan::box_name(owner.admin.id().as_bytes()))),
            refused: hosts::Refused::default(),
            pairing_window: Mutex::new(None),
        });
        let limits = ServeLimits {
            max_connections: cfg.max_connections,
            header_timeout: Duration::from_secs(cfg.header_timeout_secs),
            name: "panel",
        };
        let router = routes::router(app.clone());
        let serve: pairing::Serve = {
            let tasks = tasks.clone();
            Arc::new(
                move |listener: Box<dyn Listener>, stop: CancellationToken| {
                    let router = router.clone();
                    let handler = move |req| routes::answer(router.clone(), req);
                    Box::pin(warren_net::web::serve(
                        listener,
                        limits,
                        handler,
                        stop,
                        tasks.clone(),
                    ))
                },
            )
        };
        let url = opts.local.map(|l| {
            tasks.spawn(serve(l.listener, shutdown.clone()));
            l.url
        });
        if cfg.enabled && cfg.onion {
            app.set_admin(AdminOnion::Starting);
            let transport = opts.transport.clone();
            let serve_onion = serve.clone();
            let app2 = app.clone();
            let stop = shutdown.clone();
            tasks.spawn(async move {
                let Some(onion_host) = transport.onion() else {
                    app2.set_admin(AdminOnion::Unavailable);
                    return;
                };
                let hosted = tokio::select! {
                    () = stop.cancelled() => return,
                    h = onion_host.listen_admin(&owner.admin, std::slice::from_ref(&owner.client)) => h,
                };
                match hosted {
                    Ok((listener, onion)) => {
                        tracing::info!(address = %onion, "admin onion service up (restricted discovery)");
                        app2.set_admin(AdminOnion::Up(onion));
                        serve_onion(listener, stop).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the admin onion service failed");
                        app2.set_admin(AdminOnion::Failed(e.to_string()));
                    }
                }
            });
        }
        tasks.spawn(pages::sample_rates(app.clone(), shutdown.clone()));
        let pairing = PairingHandle::new(app.clone(), serve, tasks.clone(), shutdown.clone());
        Ok(Panel {
            url,
            pairing_code,
            pairing,
            shutdown,
            tasks,
        })
    }

    /// Stops serving.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.tasks.close();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.tasks.wait()).await;
    }
}

async fn bind(addr: SocketAddr) -> Result<(Box<dyn Listener>, SocketAddr)> {
    let l = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(Error::io(format!("binding the panel to {addr}")))?;
    let local = l
        .local_addr()
        .map_err(Error::io("the panel's address".to_string()))?;
    Ok((Box::new(warren_net::transport::TcpIncoming::new(l)), local))
}

/// Keeps `DATA_DIR/pairing-code.txt` (mode 0600) while there is a code;
/// removes it once paired.
pub(crate) fn write_pairing_file(dir: &Path, code: Option<&str>) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(PAIRING_FILE);
    match code {
        Some(code) => {
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)
                .map_err(Error::io(format!("writing {}", path.display())))?;
            std::io::Write::write_all(&mut f, format!("{code}\n").as_bytes())
                .map_err(Error::io(format!("writing {}", path.display())))
        }
        None => match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::io(format!("removing {}", path.display()))(e))
            }
            _ => Ok(()),
        },
    }
}
