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
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

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

use crate::files::size;

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

/// The file list of a share. `base` is the share's path (`/s/<token>`);
/// `have` says how many of the content's pieces this node holds.
pub(crate) fn listing(l: &Listing, base: &str, have: (u32, u32)) -> String {
    let mut body = String::new();
    let total: u64 = l.files.as_slice().iter().map(|f| f.size).sum();
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
    let files = l.files.as_slice();
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
    body.push_str("<table>");
    for (i, f) in files.iter().enumerate() {
        let path = f.path.to_string();
        let leaf = path.rsplit('/').next().unwrap_or(&path);
        let _ = write!(
            body,
            "<tr><td><a href=\"{base}/{i}/{}\" download>{}</a></td><td class=\"n\">{}</td></tr>",
            pct(leaf),
            escape(&path),
            size(f.size)
        );
    }
    body.push_str("</table>");
    wrap(l.name.as_str(), &body)
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
    fn names_are_percent_encoded_for_urls() {
        assert_eq!(pct("a b/ç?#.txt"), "a%20b%2F%C3%A7%3F%23.txt");
        assert_eq!(pct("plain-name_1.~"), "plain-name_1.~");
    }
}
