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
//!   holds the admin onion's address, the owner's client key, and, while
//!   the window is open, the code, how many minutes it stays open and the
//!   addresses to open it at on the local network: the box's `.local` name
//!   (announced with mDNS on the community's box, `lan.rs`) and every
//!   address its interfaces have, looked at again every few seconds so a
//!   box that gets its address late still says it. Once the code is used
//!   or retired the file keeps only the address and the key.

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
use crate::{Error, Result};
use warren_net::transport::Listener;

/// The file pairing mode writes on the boot partition.
pub const BOOT_FILE: &str = "warren-pairing.txt";

/// Serves the panel on a listener until the token is cancelled.
pub(crate) type Serve =
    Arc<dyn Fn(Box<dyn Listener>, CancellationToken) -> BoxFuture<'static, ()> + Send + Sync>;

/// How often the box's addresses are looked at while pairing is open.
const ADDRESS_POLL: Duration = Duration::from_secs(5);

/// An open pairing window.
struct Window {
    until: watch::Sender<Instant>,
    /// The local listener's address, if it could listen.
    bound: Option<SocketAddr>,
    /// The `.local` name, while it is announced.
    name: Option<String>,
    _announcer: Option<super::lan::Announcer>,
}

/// Starts pairing mode on the running panel.
#[derive(Clone)]
pub struct PairingHandle {
    app: Arc<App>,
    serve: Serve,
    tasks: TaskTracker,
    shutdown: CancellationToken,
    window: Arc<tokio::sync::Mutex<Option<Window>>>,
    /// Where the pairing page opens on the local network now (none while
    /// closed), for status.
    urls: watch::Sender<Vec<String>>,
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
    /// Where the panel answers on the local network: the `.local` name (when
    /// announced), then each address. Empty when it could not listen, or
    /// while the box has no address on a network.
    pub urls: Vec<String>,
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
            urls: watch::Sender::new(Vec::new()),
        }
    }

    /// Where the pairing page opens on the local network now (empty while
    /// pairing mode is off).
    pub fn urls(&self) -> Vec<String> {
        self.urls.borrow().clone()
    }

    /// Whether the pairing window is open: from `begin` until its code and
    /// files are retired after it ends.
    pub fn is_open(&self) -> bool {
        self.app.pairing_window.lock().expect(crate::HELD).is_some()
    }

    /// Whether an owner has paired (set a passphrase).
    pub fn paired(&self) -> bool {
        self.app.owner.lock().expect(crate::HELD).paired()
    }

    /// Opens pairing mode for `length` (or extends the open window to end
    /// `length` from now), with the panel also listening on `listen`.
    pub async fn begin(&self, length: Duration, listen: SocketAddr) -> Result<PairingInfo> {
        let mut window = self.window.lock().await;
        let code = {
            let mut owner = self.app.owner.lock().expect(crate::HELD);
            owner.open_pairing()?
        };
        write_pairing_file(&self.app.data_dir, Some(&code))?;
        let end = Instant::now() + length;
        let until = self.app.clock.unix_now() + length.as_secs();
        match &*window {
            Some(w) => {
                w.until.send_replace(end);
            }
            None => {
                let stop = self.shutdown.child_token();
                let bound = match super::bind(listen).await {
                    Ok((listener, addr)) => {
                        self.tasks.spawn((self.serve)(listener, stop.clone()));
                        Some(addr)
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "pairing mode: the panel cannot listen on the local network");
                        None
                    }
                };
                let (name, announcer) = match bound.filter(|_| self.app.mdns) {
                    Some(addr) => self.announce(addr.port()),
                    None => (None, None),
                };
                let (tx, rx) = watch::channel(end);
                *window = Some(Window {
                    until: tx,
                    bound,
                    name,
                    _announcer: announcer,
                });
                self.tasks.spawn(self.clone().close_at(rx, stop));
            }
        }
        let urls = self.refresh(window.as_ref(), &code, end);
        Ok(PairingInfo { until, urls })
    }

    /// Announces the box's `.local` name (a failure is logged: the
    /// addresses still work).
    fn announce(&self, port: u16) -> (Option<String>, Option<super::lan::Announcer>) {
        let seed = *self
            .app
            .owner
            .lock()
            .expect(crate::HELD)
            .admin
            .id()
            .as_bytes();
        let name = super::lan::box_name(&seed);
        match super::lan::Announcer::start(&name, port) {
            Ok(a) => {
                tracing::info!(name = %format!("{name}.local"), "pairing mode: announced on the local network");
                (Some(name), Some(a))
            }
            Err(e) => {
                tracing::warn!(error = %e, "pairing mode: the .local name could not be announced");
                (None, None)
            }
        }
    }

    /// Works out where the pairing page opens now, and writes it (with the
    /// time left) to the boot partition's file. The URLs.
    fn refresh(&self, window: Option<&Window>, code: &str, end: Instant) -> Vec<String> {
        let urls = match window.and_then(|w| w.bound.map(|b| (b, w.name.as_deref()))) {
            Some((bound, name)) => super::lan::pairing_urls(bound, name, &super::lan::addresses()),
            None => Vec::new(),
        };
        self.urls.send_replace(urls.clone());
        {
            let mut w = self.app.pairing_window.lock().expect(crate::HELD);
            *w = Some((end, urls.clone()));
        }
        let left = end.saturating_duration_since(Instant::now());
        write_boot_file(&self.app, Some((code, &urls, left)));
        urls
    }

    /// Waits for the window's end (which `begin` may move), then closes it.
    /// Meanwhile looks at the box's addresses every few seconds, and keeps
    /// the boot partition's file saying where and for how long.
    async fn close_at(self, mut until: watch::Receiver<Instant>, stop: CancellationToken) {
        let mut poll = tokio::time::interval(ADDRESS_POLL);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut shown = (self.urls(), minutes_left(*until.borrow()));
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
                _ = poll.tick() => {
                    let now = (self.urls_now().await, minutes_left(end));
                    if now != shown {
                        let window = self.window.lock().await;
                        let code = self.app.owner.lock().expect(crate::HELD).pairing_code().map(str::to_string);
                        if let Some(code) = code {
                            self.refresh(window.as_ref(), &code, end);
                        }
                        shown = now;
                    }
                }
            }
        }
        let mut window = self.window.lock().await;
        stop.cancel();
        *window = None;
        let still = {
            let mut o = self.app.owner.lock().expect(crate::HELD);
            o.close_pairing()
                .map(|open| open.then(|| o.pairing_code().map(str::to_string)))
        };
        match still {
            Ok(code) => {
                if let Err(e) = write_pairing_file(&self.app.data_dir, code.flatten().as_deref()) {
                    tracing::warn!(error = %e, "pairing mode: the code file stays");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "pairing mode: the code could not be retired")
            }
        }
        write_boot_file(&self.app, None);
        // Closed for everyone who asks only now that its code and files are
        // retired (the board's LED waits for this).
        self.urls.send_replace(Vec::new());
        {
            let mut w = self.app.pairing_window.lock().expect(crate::HELD);
            *w = None;
        }
        tracing::info!("pairing mode off");
    }

    /// The URLs the open window would give now.
    async fn urls_now(&self) -> Vec<String> {
        let window = self.window.lock().await;
        match window
            .as_ref()
            .and_then(|w| w.bound.map(|b| (b, w.name.clone())))
        {
            Some((bound, name)) => {
                super::lan::pairing_urls(bound, name.as_deref(), &super::lan::addresses())
            }
            None => Vec::new(),
        }
    }
}

/// Whole minutes (rounded up) until `end`.
fn minutes_left(end: Instant) -> u64 {
    end.saturating_duration_since(Instant::now())
        .as_secs()
        .div_ceil(60)
}

/// The code was used: the boot partition's file keeps only the address
/// and the key.
pub(crate) fn code_used(app: &App) {
    write_boot_file(app, None);
}

/// Writes `warren-pairing.txt` on the boot partition, if there is one;
/// `open`: the usable code, where to open the pairing page, and how long
/// the window stays open.
fn write_boot_file(app: &App, open: Option<(&str, &[String], Duration)>) {
    let Some(dir) = app.boot_partition.as_deref().filter(|d| d.is_dir()) else {
        return;
    };
    let text = boot_text(app, open);
    if let Err(e) = write_private(&dir.join(BOOT_FILE), &text) {
        tracing::warn!(error = %e, "pairing mode: the boot partition's file could not be written");
    }
}

fn boot_text(app: &App, open: Option<(&str, &[String], Duration)>) -> String {
    let (client, admin_id) = {
        let o = app.owner.lock().expect(crate::HELD);
        (o.client.clone(), o.admin.id())
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
    if let Some((code, urls, left)) = open {
        t.push_str(&format!(
            "\nPairing mode is open for {} (the box rewrites this file when it closes).\n\
             One-time pairing code:\n  {code}\n",
            for_how_long(left)
        ));
        if urls.is_empty() {
            t.push_str(
                "The box has no address on a network yet: connect it to your router with a cable.\n\
                 This file names its addresses as soon as it has one.\n",
            );
        } else {
            t.push_str("Pair from a phone or computer on the same network, at any of:\n");
            for u in urls {
                t.push_str(&format!("  {u}\n"));
            }
        }
    }
    t
}

/// "9 more minutes", "1 more minute", "less than a minute": how long a
/// person reads that something stays open.
pub fn for_how_long(left: Duration) -> String {
    match left.as_secs().div_ceil(60) {
        0 => "less than a minute".into(),
        1 => "1 more minute".into(),
        m => format!("{m} more minutes"),
    }
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
