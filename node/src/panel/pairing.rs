//! Pairing mode: a short press of the box's button makes the pairing code
//! usable for a while (`board.pairing_secs`) from the local network.
//!
//! - The code: the first-run code while the owner has not paired yet;
//!   once paired, a fresh one, which sets a new passphrase (for an owner who
//!   lost theirs: holding the box is what proves ownership). It is retired
//!   when the window ends unused, and at a restart.
//! - The panel also listens on `board.pairing_listen` until the window
//!   ends; then that listener and its connections close.
//! - `warren-pairing.txt` on the boot partition (when the folder exists)
//!   holds the admin onion's address, the owner's client key, and the code
//!   with the local address while the window is open. Once the code is
//!   used or retired the file keeps only the address and the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{AdminOnion, App, write_pairing_file};
use crate::transport::Listener;
use crate::{Error, Result};

/// The file pairing mode writes on the boot partition.
pub const BOOT_FILE: &str = "warren-pairing.txt";

/// Serves the panel on a listener until the token is cancelled.
pub(crate) type Serve =
    Arc<dyn Fn(Box<dyn Listener>, CancellationToken) -> BoxFuture<'static, ()> + Send + Sync>;

/// An open pairing window.
struct Window {
    until: watch::Sender<Instant>,
    url: Option<String>,
}

/// Starts pairing mode on the running panel.
#[derive(Clone)]
pub struct PairingHandle {
    app: Arc<App>,
    serve: Serve,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    window: Arc<tokio::sync::Mutex<Option<Window>>>,
}

impl std::fmt::Debug for PairingHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairingHandle")
    }
}

/// An open pairing window.
#[derive(Debug, Clone)]
pub struct PairingInfo {
    /// When it closes (unix seconds).
    pub until: u64,
    /// Where the panel answers on the local network, if it could listen.
    pub url: Option<String>,
}

impl PairingHandle {
    pub(crate) fn new(
        app: Arc<App>,
        serve: Serve,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> PairingHandle {
        PairingHandle {
            app,
            serve,
            tasks,
            shutdown,
            window: Arc::default(),
        }
    }

    /// Whether an owner has paired (set a passphrase).
    pub fn paired(&self) -> bool {
        self.app.owner.lock().map(|o| o.paired()).unwrap_or(true)
    }

    /// Opens pairing mode for `length` (or extends the open window to end
    /// `length` from now), with the panel also listening on `listen`.
    pub async fn begin(&self, length: Duration, listen: SocketAddr) -> Result<PairingInfo> {
        let mut window = self.window.lock().await;
        let code = {
            let mut owner = self
                .app
                .owner
                .lock()
                .map_err(|_| Error::Store("the owner's secrets are unavailable".into()))?;
            owner.open_pairing()?
        };
        write_pairing_file(&self.app.data_dir, Some(&code))?;
        let end = Instant::now() + length;
        let until = self.app.clock.unix_now() + length.as_secs();
        let url = match &*window {
            Some(w) => {
                w.until.send_replace(end);
                w.url.clone()
            }
            None => {
                let stop = self.shutdown.child_token();
                let url = match super::bind(listen).await {
                    Ok((listener, addr)) => {
                        self.tasks.spawn((self.serve)(listener, stop.clone()));
                        Some(lan_url(addr))
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pairing mode: the panel cannot listen on the local network");
                        None
                    }
                };
                let (tx, rx) = watch::channel(end);
                *window = Some(Window {
                    until: tx,
                    url: url.clone(),
                });
                self.tasks.spawn(self.clone().close_at(rx, stop));
                url
            }
        };
        write_boot_file(&self.app, Some((&code, url.as_deref(), until)));
        Ok(PairingInfo { until, url })
    }

    /// Waits for the window's end (which `begin` may move), then closes it.
    async fn close_at(self, mut until: watch::Receiver<Instant>, stop: CancellationToken) {
        loop {
            let end = *until.borrow_and_update();
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                () = tokio::time::sleep_until(end) => {
                    if Instant::now() >= *until.borrow() {
                        break;
                    }
                }
                r = until.changed() => if r.is_err() { return },
            }
        }
        let mut window = self.window.lock().await;
        stop.cancel();
        *window = None;
        let still = self.app.owner.lock().ok().map(|mut o| {
            o.close_pairing()
                .map(|open| open.then(|| o.pairing_code().map(str::to_string)))
        });
        match still {
            Some(Ok(code)) => {
                if let Err(e) = write_pairing_file(&self.app.data_dir, code.flatten().as_deref()) {
                    tracing::warn!(error = %e, "pairing mode: the code file stays");
                }
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "pairing mode: the code could not be retired")
            }
            None => {}
        }
        write_boot_file(&self.app, None);
        tracing::info!("pairing mode off");
    }
}

/// The code was used: the boot partition's file keeps only the address
/// and the key.
pub(crate) fn code_used(app: &App) {
    write_boot_file(app, None);
}

/// `http://IP:PORT/pair`; for an address that listens everywhere, the
/// first IPv4 address of this machine's network interfaces that is not
/// loopback.
fn lan_url(addr: SocketAddr) -> String {
    let ip = if addr.ip().is_unspecified() {
        local_ipv4().map_or_else(|| addr.ip().to_string(), |ip| ip.to_string())
    } else {
        addr.ip().to_string()
    };
    format!("http://{ip}:{}/pair", addr.port())
}

fn local_ipv4() -> Option<std::net::Ipv4Addr> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|i| {
        let ip = i.address?.as_sockaddr_in()?.ip();
        (!ip.is_loopback()).then_some(ip)
    })
}

/// Writes `warren-pairing.txt` on the boot partition, if there is one;
/// `open`: the usable code, the local address and the window's end.
fn write_boot_file(app: &App, open: Option<(&str, Option<&str>, u64)>) {
    let Some(dir) = app.boot_partition.as_deref().filter(|d| d.is_dir()) else {
        return;
    };
    let text = boot_text(app, open);
    if let Err(e) = write_private(&dir.join(BOOT_FILE), &text) {
        tracing::warn!(error = %e, "pairing mode: the boot partition's file could not be written");
    }
}

fn boot_text(app: &App, open: Option<(&str, Option<&str>, u64)>) -> String {
    let (client, admin_id) = match app.owner.lock() {
        Ok(o) => (o.client.clone(), o.admin.id()),
        Err(_) => return String::new(),
    };
    let address = match app.admin_onion() {
        AdminOnion::Up(a) => format!("http://{a}"),
        AdminOnion::Starting => format!("http://{admin_id} (being published)"),
        AdminOnion::Failed(e) => format!("http://{admin_id} (not published: {e})"),
        AdminOnion::Off | AdminOnion::Unavailable => {
            format!("http://{admin_id} (not published: the panel's onion service is off)")
        }
    };
    let mut t = format!(
        "Warren box: how to reach its panel\n\n\
         Open this address in Tor Browser:\n  {address}\n\n\
         When Tor Browser asks for a key, enter:\n  {}\n\n\
         For C tor (ClientOnionAuthDir), save this line as warren-admin.auth_private:\n  {}\n",
        data_encoding::BASE32_NOPAD.encode(client.secret()),
        client.auth_private(&admin_id),
    );
    if let Some((code, url, until)) = open {
        t.push_str(&format!(
            "\nPairing mode is on until {until} (unix time).\n\
             One-time pairing code:\n  {code}\n"
        ));
        if let Some(url) = url {
            t.push_str(&format!("Pair from the local network at:\n  {url}\n"));
        }
    }
    t
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp: PathBuf = path.with_extension("tmp");
    let what = || format!("writing {}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(Error::io(what()))?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(Error::io(what()))?;
    f.sync_all().map_err(Error::io(what()))?;
    std::fs::rename(&tmp, path).map_err(Error::io(what()))?;
    // The rename itself must reach the card: on FAT (the boot partition)
    // a power cut before the directory is written back can leave neither
    // the old file nor the new one.
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(Error::io(format!("syncing {}", dir.display())))?;
    }
    Ok(())
}
