//! `share`, `shares`, `publish`, `unshare`, `get`, `downloads`, `pause`,
//! `catalogue`.

use std::path::{Path, PathBuf};

use clap::Args;
use warren_node::control::{self, Request};
use warren_node::files::{
    DownloadInfo, DownloadState, DownloadStatus, Health, RecheckReport, ShareInfo, ShareOptions,
};
use warren_node::{Error, Result};

use super::progress::{Bar, size};

#[derive(Debug, Args)]
pub(crate) struct ShareArgs {
    /// The file or folder to share.
    path: PathBuf,
    /// Public from the start: in the community's catalogue, fetchable by content id.
    #[arg(long)]
    public: bool,
    /// Encrypted with a key only the link carries, so boxes can seed it without reading it.
    #[arg(long, conflicts_with = "public")]
    sealed: bool,
    /// Reachable at an address of its own (an onion service of its own on
    /// Tor), so the link cannot be tied to this node or to its other shares.
    #[arg(long, conflicts_with = "public")]
    own_address: bool,
    /// A description (at most 1024 bytes).
    #[arg(long)]
    description: Option<String>,
    /// A tag (repeatable; at most 16, each at most 32 bytes).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Ask the connected trusted boxes to keep a copy (a sealed share stays encrypted there).
    #[arg(long)]
    mirror: bool,
    /// Leave out files that cannot be shared (names that are not UTF-8 or
    /// hold control characters, special files, links out of the folder)
    /// instead of refusing the folder; they are listed.
    #[arg(long)]
    skip_unsafe: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The link (warren:… or http://….onion/s/…).
    link: String,
    /// The folder to download into (default: the current folder).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn absolute(p: &Path) -> Result<PathBuf> {
    std::path::absolute(p).map_err(Error::io(format!("resolving {}", p.display())))
}

pub(super) fn parse<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::Remote(format!("unexpected answer: {e}")))
}

pub(super) fn print_json(v: &serde_json::Value) -> Result<()> {
    outln!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| Error::Remote(e.to_string()))?
    );
    Ok(())
}

fn print_share(s: &ShareInfo) {
    outln!(
        "{}{}",
        s.name,
        if s.public {
            " (public)"
        } else if s.sealed {
            " (sealed)"
        } else {
            " (private)"
        }
    );
    outln!("  size     {} in {} file(s)", size(s.size), s.files);
    if s.state != Health::Ok {
        outln!(
            "  state    {}{}",
            s.state.as_str(),
            s.reason
                .as_ref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    for w in &s.warnings {
        outln!("  note     {w}");
    }
    if s.own_address {
        outln!("  address  its own (not this node's)");
    }
    outln!("  link     {}", s.link);
    if let Some(u) = &s.url {
        outln!("  browser  {u}");
    }
    if let Some(p) = &s.public_link {
        outln!("  public   {p}");
    }
}

pub(crate) async fn share(dir: &Path, a: ShareArgs) -> Result<()> {
    let path = absolute(&a.path)?;
    let options = ShareOptions {
        public: a.public,
        sealed: a.sealed,
        own_address: a.own_address,
        description: a.description,
        tags: a.tags,
        skip_unsafe: a.skip_unsafe,
    };
    let req = Request::Share {
        path: path.to_string_lossy().into_owned(),
        options,
    };
    let mut v = with_bar(dir, &req, "hashing", a.json).await?;
    let info: ShareInfo = parse(v.clone())?;
    if !a.json {
        print_share(&info);
    }
    if a.mirror {
        let asked = super::mirror::ask(dir, info.link.clone(), a.json).await?;
        v["mirror_asked"] = asked;
    }
    if a.json {
        return print_json(&v);
    }
    Ok(())
}

pub(crate) async fn shares(dir: &Path, json: bool) -> Result<()> {
    let v = control::request(dir, &Request::Shares).await?;
    if json {
        return print_json(&v);
    }
    let list: Vec<ShareInfo> = parse(v)?;
    if list.is_empty() {
        outln!("nothing shared");
    }
    for s in &list {
        print_share(s);
    }
    Ok(())
}

pub(crate) async fn publish(dir: &Path, id: String) -> Result<()> {
    let v = control::request(dir, &Request::Publish { id }).await?;
    print_share(&parse(v)?);
    Ok(())
}

pub(crate) async fn unshare(dir: &Path, id: String) -> Result<()> {
    control::request(dir, &Request::Unshare { id: id.clone() }).await?;
    outln!("no longer shared: {id}");
    Ok(())
}

pub(crate) async fn get(dir: &Path, a: GetArgs) -> Result<()> {
    let out = match a.out {
        Some(o) => absolute(&o)?,
        None => std::env::current_dir().map_err(Error::io("finding the current folder"))?,
    };
    let req = Request::Get {
        link: a.link.clone(),
        out: out.to_string_lossy().into_owned(),
        wait: true,
    };
    let mut bar = Bar::new();
    let quiet = a.json;
    let mut on_event = |ev: &serde_json::Value| {
        if let (false, Some(d)) = (quiet, ev.get("download")) {
            if let Ok(s) = serde_json::from_value::<DownloadStatus>(d.clone()) {
                let extra = match (s.state, &s.error) {
                    (DownloadState::Downloading, _) => {
                        format!("  {}/s  {} connection(s)", size(s.rate), s.connections)
                    }
                    // Why it waits, shortened to fit the line.
                    (state, Some(e)) => {
                        let e: String = e.chars().take(60).collect();
                        format!("  {state}: {e}")
                    }
                    (state, None) => format!("  {state}"),
                };
                bar.show(
                    s.name.as_deref().unwrap_or("download"),
                    s.done_bytes,
                    s.total_bytes.max(1),
                    &extra,
                );
            }
        }
    };
    let run = control::request_events(dir, &req, &mut on_event);
    // Ctrl-C pauses the download; `warren get` with the same link resumes it.
    let v = tokio::select! {
        r = run => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    bar.finish();
    let Some(v) = v else {
        let _ = control::request(
            dir,
            &Request::Pause {
                link: a.link.clone(),
            },
        )
        .await;
        eprintln!("paused; run the same command again to resume");
        return Err(Error::Remote("interrupted".into()));
    };
    let v = v?;
    if a.json {
        return print_json(&v);
    }
    let s: DownloadStatus = parse(v)?;
    outln!(
        "downloaded {} ({}) into {}",
        s.name.unwrap_or_default(),
        size(s.total_bytes),
        out.display()
    );
    Ok(())
}

pub(crate) async fn downloads(dir: &Path, json: bool) -> Result<()> {
    let v = control::request(dir, &Request::Downloads).await?;
    if json {
        return print_json(&v);
    }
    let list: Vec<DownloadInfo> = parse(v)?;
    if list.is_empty() {
        outln!("no downloads");
    }
    let now = {
        use warren_node::clock::Clock;
        warren_node::clock::SystemClock.unix_now()
    };
    for d in list {
        let s = &d.status;
        let retry = s
            .retry_at
            .map(|at| format!("; next try in {} s", at.saturating_sub(now)))
            .unwrap_or_default();
        outln!(
            "{}  {}  {} / {}  → {}{}",
            s.name.as_deref().unwrap_or("?"),
            s.state,
            size(s.done_bytes),
            size(s.total_bytes),
            d.out,
            s.error
                .as_ref()
                .map(|e| format!("  ({e}{retry})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// A request whose progress events (`{"<what>": {"done", "total"}}`) drive
/// a progress bar on stderr (none with `--json`); its answer.
async fn with_bar(dir: &Path, req: &Request, what: &str, json: bool) -> Result<serde_json::Value> {
    let mut bar = Bar::new();
    let v = control::request_events(dir, req, &mut |ev| {
        if let (false, Some(h)) = (json, ev.get(what)) {
            let done = h["done"].as_u64().unwrap_or(0);
            let total = h["total"].as_u64().unwrap_or(0);
            bar.show(what, done, total, "");
        }
    })
    .await;
    bar.finish();
    v
}

pub(crate) async fn recheck(dir: &Path, id: String, json: bool) -> Result<()> {
    let v = with_bar(dir, &Request::Recheck { id }, "checking", json).await?;
    if json {
        return print_json(&v);
    }
    let r: RecheckReport = parse(v)?;
    outln!(
        "{}: {} of {} pieces match ({})",
        r.name,
        r.good,
        r.pieces,
        r.state.as_str()
    );
    if let Some(reason) = &r.reason {
        outln!("  {reason}");
    }
    if let Some(d) = &r.download {
        if !matches!(d.state, DownloadState::Complete) {
            outln!(
                "  download {}: {} of {} on disk; `warren downloads` shows its progress",
                d.state,
                size(d.done_bytes),
                size(d.total_bytes)
            );
        }
    }
    Ok(())
}

pub(crate) async fn pause(dir: &Path, link: String) -> Result<()> {
    control::request(dir, &Request::Pause { link }).await?;
    outln!("paused");
    Ok(())
}

pub(crate) async fn catalogue(dir: &Path, json: bool) -> Result<()> {
    let v = control::request(dir, &Request::Catalogue).await?;
    if json {
        return print_json(&v);
    }
    let list: Vec<warren_node::control::answers::CatalogueEntry> = parse(v)?;
    if list.is_empty() {
        outln!("the catalogue is empty");
    }
    for e in list {
        outln!(
            "{}  {}  {}\n  {}",
            e.name,
            size(e.size),
            e.description.as_deref().unwrap_or(""),
            e.link
        );
    }
    Ok(())
}
