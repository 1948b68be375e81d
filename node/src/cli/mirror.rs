//! `mirror`, `mirrors`, `unmirror`, `ask-mirror`: content a node keeps for
//! others within its seeding quota.

use std::path::Path;

use warren_node::Result;
use warren_node::control::{self, Request};
use warren_node::files::{MirrorInfo, MirrorList};

use super::files::{parse, print_json};
use super::progress::size;

fn print_mirror(m: &MirrorInfo) {
    let s = &m.status;
    outln!(
        "{}  {}  {} / {}{}",
        s.name.as_deref().unwrap_or("(content not known yet)"),
        s.state,
        size(s.done_bytes),
        size(s.total_bytes),
        s.error
            .as_ref()
            .map(|e| format!("  ({e})"))
            .unwrap_or_default()
    );
    outln!("  swarm    {}", m.swarm);
    if let Some(by) = &m.asked_by {
        outln!("  for      {by}");
    }
    outln!("  quota    {}", size(m.quota_bytes));
}

/// `warren mirror LINK`.
pub(crate) async fn mirror(dir: &Path, link: String, json: bool) -> Result<()> {
    let sealed_key = link.contains('#');
    let v = control::request(dir, &Request::Mirror { link }).await?;
    if json {
        return print_json(&v);
    }
    let m: MirrorInfo = parse(v)?;
    if sealed_key {
        outln!("the link's key was not given to the node: it keeps the content encrypted");
    }
    outln!("mirroring (`warren mirrors` shows progress):");
    print_mirror(&m);
    Ok(())
}

/// `warren mirrors`.
pub(crate) async fn mirrors(dir: &Path, json: bool) -> Result<()> {
    let v = control::request(dir, &Request::Mirrors).await?;
    if json {
        return print_json(&v);
    }
    let list: MirrorList = parse(v)?;
    outln!(
        "seeding quota: {} of {} used",
        size(list.used_bytes),
        size(list.quota_bytes)
    );
    if list.mirrors.is_empty() {
        outln!("no mirrors");
    }
    for m in &list.mirrors {
        print_mirror(m);
    }
    Ok(())
}

/// `warren unmirror ID`.
pub(crate) async fn unmirror(dir: &Path, id: String) -> Result<()> {
    control::request(dir, &Request::Unmirror { id: id.clone() }).await?;
    outln!("no longer mirrored: {id}");
    Ok(())
}

/// Asks the connected trusted boxes to mirror a share; prints who was asked.
pub(crate) async fn ask(dir: &Path, id: String, json: bool) -> Result<serde_json::Value> {
    let v = control::request(dir, &Request::AskMirror { id }).await?;
    if !json {
        let asked: Vec<String> = parse(v.clone())?;
        if asked.is_empty() {
            outln!(
                "no trusted box is connected to ask for a mirror; run `warren ask-mirror` again later"
            );
        }
        for b in &asked {
            outln!("asked {b} to mirror it");
        }
    }
    Ok(v)
}
