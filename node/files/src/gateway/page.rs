//! The HTML the gateway sends: a share's file list and short notices.
//! Everything from a manifest is escaped; pages carry no script.

use std::fmt::Write as _;

use warren_proto::content::Listing;

/// Escapes text for HTML element content and quoted attributes.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() || is_bidi_control(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub(crate) use warren_proto::content::{is_bidi_control, unspoofed};

/// Percent-encodes everything but unreserved characters (RFC 3986), for a
/// path segment or an RFC 5987 `filename*`.
pub(crate) fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

use crate::size;

const STYLE: &str = "body{font-family:sans-serif;max-width:46em;margin:2em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;width:100%}td{padding:.3em .5em;border-bottom:1px solid #ddd}\
td.n{text-align:right;white-space:nowrap;color:#555}.tags span{background:#eee;border-radius:3px;padding:0 .4em;margin-right:.3em}\
.note{color:#555}";

/// A whole page around `body`.
pub(crate) fn wrap(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        escape(title)
    )
}

/// A short notice page.
pub(crate) fn notice(title: &str, text: &str) -> String {
    wrap(
        title,
        &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(text)),
    )
}

/// Most bytes of file rows on one listing page; with the page around
/// them a listing page stays under 30 KB however many files a share has.
pub(crate) const PAGE_BYTES: usize = 24 * 1024;

/// One file's row.
fn row(base: &str, i: usize, path: &str, size_b: u64) -> String {
    let leaf = path.rsplit('/').next().unwrap_or(path);
    format!(
        "<tr><td><a href=\"{base}/{i}/{}\" download>{}</a></td><td class=\"n\">{}</td></tr>",
        pct(leaf),
        escape(path),
        size(size_b)
    )
}

/// The file list of a share, page `page_no` (from 1; none past the last
/// page). `base` is the share's path (`/s/<token>`); `have` says how many
/// of the content's pieces this node holds.
pub(crate) fn listing(l: &Listing, base: &str, have: (u32, u32), page_no: usize) -> Option<String> {
    let files = l.files.as_slice();
    // Pages hold whole rows up to PAGE_BYTES (at least one row each).
    let rows: Vec<String> = files
        .iter()
        .enumerate()
        .map(|(i, f)| row(base, i, &f.path.to_string(), f.size))
        .collect();
    let mut pages: Vec<std::ops::Range<usize>> = Vec::new();
    let (mut from, mut bytes) = (0, 0);
    for (i, r) in rows.iter().enumerate() {
        if i > from && bytes + r.len() > PAGE_BYTES {
            pages.push(from..i);
            (from, bytes) = (i, 0);
        }
        bytes += r.len();
    }
    pages.push(from..rows.len());
    let shown = pages.get(page_no.checked_sub(1)?)?.clone();

    let mut body = String::new();
    let total: u64 = files.iter().map(|f| f.size).sum();
    let _ = write!(body, "<h1>{}</h1>", escape(l.name.as_str()));
    if let Some(d) = &l.description {
        let _ = write!(body, "<p>{}</p>", escape(d.as_str()));
    }
    if !l.tags.as_slice().is_empty() {
        body.push_str("<p class=\"tags\">");
        for t in l.tags.as_slice() {
            let _ = write!(body, "<span>{}</span>", escape(t.as_str()));
        }
        body.push_str("</p>");
    }
    let _ = write!(
        body,
        "<p class=\"note\">{} {}, {}</p>",
        files.len(),
        if files.len() == 1 { "file" } else { "files" },
        size(total)
    );
    if have.0 < have.1 {
        let _ = write!(
            body,
            "<p class=\"note\">This node holds {} of {} pieces so far; files not yet complete here cannot be downloaded from it yet.</p>",
            have.0, have.1
        );
    }
    let nav = nav(base, page_no, pages.len(), &shown, files.len());
    body.push_str(&nav);
    body.push_str("<table>");
    for r in &rows[shown] {
        body.push_str(r);
    }
    body.push_str("</table>");
    body.push_str(&nav);
    Some(wrap(l.name.as_str(), &body))
}

/// "Files 101–200 of 5000 · previous · next", when there is more than
/// one page.
fn nav(
    base: &str,
    page_no: usize,
    pages: usize,
    shown: &std::ops::Range<usize>,
    n: usize,
) -> String {
    if pages <= 1 {
        return String::new();
    }
    let mut out = format!(
        "<p class=\"note\">Files {}–{} of {n} · page {page_no} of {pages}",
        shown.start + 1,
        shown.end
    );
    if page_no > 1 {
        let _ = write!(
            out,
            " · <a href=\"{base}?page={}\">previous</a>",
            page_no - 1
        );
    }
    if page_no < pages {
        let _ = write!(out, " · <a href=\"{base}?page={}\">next</a>", page_no + 1);
    }
    out.push_str("</p>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script>&\"\u{7}"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;\u{fffd}"
        );
    }

    #[test]
    fn direction_overrides_cannot_disguise_a_name() {
        let spoof = "invoice\u{202e}fdp.exe";
        assert_eq!(escape(spoof), "invoice\u{fffd}fdp.exe");
        assert_eq!(unspoofed(spoof), "invoice\u{fffd}fdp.exe");
        for c in [
            '\u{200e}', '\u{200f}', '\u{202a}', '\u{2066}', '\u{2069}', '\u{061c}',
        ] {
            assert!(is_bidi_control(c), "{c:?}");
        }
        // Right-to-left text itself is left alone.
        assert_eq!(unspoofed("שלום.txt"), "שלום.txt");
    }

    #[test]
    fn names_are_percent_encoded_for_urls() {
        assert_eq!(pct("a b/ç?#.txt"), "a%20b%2F%C3%A7%3F%23.txt");
        assert_eq!(pct("plain-name_1.~"), "plain-name_1.~");
    }
}
