//! `send`, `messages`, `conversations`, `mailboxes`: talking with members.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use warren_node::clock::{Clock, SystemClock};
use warren_node::control::{self, Request};
use warren_node::mail::{ConversationView, Delivery, MailboxInfo, MessageView};
use warren_node::{Error, Result};

use super::files::{parse, print_json};
use super::print::ago;
use super::progress::size;

/// How often `messages --follow` asks for new messages.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

fn now() -> u64 {
    SystemClock.unix_now()
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn delivery(m: &MessageView) -> String {
    if !m.outgoing {
        return String::new();
    }
    let state = match m.delivery {
        Delivery::Sending => "sending".to_string(),
        Delivery::Stored(1) => "stored on a box".to_string(),
        Delivery::Stored(n) => format!("stored on {n} boxes"),
        Delivery::Delivered => "delivered".to_string(),
        Delivery::Read => "read".to_string(),
    };
    match &m.refusal {
        Some(r) => format!("  [{state}: {r}]"),
        None => format!("  [{state}]"),
    }
}

fn print_message(m: &MessageView, now: u64) {
    let who = if m.outgoing { "you" } else { short(&m.author) };
    outln!("{who} ({}): {}{}", ago(now, m.sent_at), m.text, delivery(m));
}

/// `warren send ADDR [TEXT]` (the text from stdin when absent or `-`).
pub(crate) async fn send(dir: &Path, to: String, text: Option<String>, json: bool) -> Result<()> {
    let text = match text.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Error::Remote(format!("reading the text from stdin: {e}")))?;
            s.trim_end_matches('\n').to_string()
        }
        Some(t) => t.to_string(),
    };
    if text.is_empty() {
        return Err(Error::Remote("nothing to send: the text is empty".into()));
    }
    let v = control::request(dir, &Request::Send { to, text }).await?;
    if json {
        return print_json(&v);
    }
    let m: MessageView = parse(v)?;
    outln!("kept; it goes out now (`warren messages ADDR` shows when it is stored and delivered)");
    print_message(&m, now());
    Ok(())
}

/// `warren conversations`.
pub(crate) async fn conversations(dir: &Path, json: bool) -> Result<()> {
    let v = control::request(dir, &Request::Conversations).await?;
    if json {
        return print_json(&v);
    }
    let list: Vec<ConversationView> = parse(v)?;
    if list.is_empty() {
        outln!("no conversations: `warren send ADDR TEXT` starts one");
    }
    let now = now();
    for c in &list {
        let unread = if c.unread > 0 {
            format!("  {} unread", c.unread)
        } else {
            String::new()
        };
        outln!("{}{unread}  ({})", c.peer, ago(now, c.last_at));
        if !c.preview.is_empty() {
            outln!("  {}", c.preview);
        }
    }
    Ok(())
}

async fn thread(dir: &Path, with: &str, limit: usize) -> Result<Vec<MessageView>> {
    let v = control::request(
        dir,
        &Request::Messages {
            with: with.to_string(),
            limit: Some(limit),
        },
    )
    .await?;
    parse(v)
}

/// `warren messages [ADDR] [--follow]`: one thread, or every conversation's.
pub(crate) async fn messages(
    dir: &Path,
    with: Option<String>,
    json: bool,
    follow: bool,
    limit: usize,
) -> Result<()> {
    let peers: Vec<String> = match with {
        Some(w) => vec![w],
        None => {
            let v = control::request(dir, &Request::Conversations).await?;
            let list: Vec<ConversationView> = parse(v)?;
            list.into_iter().map(|c| c.peer).collect()
        }
    };
    let mut seen: HashSet<(String, Option<String>)> = HashSet::new();
    loop {
        for p in &peers {
            let msgs = thread(dir, p, limit).await?;
            let new: Vec<&MessageView> = msgs
                .iter()
                .filter(|m| {
                    let state = m.outgoing.then(|| format!("{:?}", m.delivery));
                    seen.insert((m.id.clone(), state))
                })
                .collect();
            if new.is_empty() {
                continue;
            }
            if json {
                for m in new {
                    outln!("{}", serde_json::to_string(m)?);
                }
            } else {
                if peers.len() > 1 {
                    outln!("— {p}");
                }
                for m in new {
                    print_message(m, now());
                }
            }
        }
        if !follow {
            return Ok(());
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}

/// `warren mailboxes` (on a box).
pub(crate) async fn mailboxes(dir: &Path, json: bool) -> Result<()> {
    let v = control::request(dir, &Request::Mailboxes).await?;
    if json {
        return print_json(&v);
    }
    let list: Vec<MailboxInfo> = parse(v)?;
    if list.is_empty() {
        outln!("no mailboxes (members register with boxes they trust and that trust them)");
    }
    let now = now();
    for m in &list {
        outln!("{}", m.member);
        outln!(
            "  {} messages, {}{}",
            m.envelopes,
            size(m.bytes),
            m.oldest
                .map(|t| format!(", oldest {}", ago(now, t)))
                .unwrap_or_default()
        );
        outln!(
            "  {} one-time keys left, registered {}",
            m.one_time_keys,
            ago(now, m.registered_at)
        );
    }
    Ok(())
}
