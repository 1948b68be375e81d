//! HTTP `Range` requests (RFC 9110 §14): one byte range per response.
//!
//! A header naming several ranges is answered with the whole file (which
//! the RFC allows), so no response is ever multipart. A header that does not
//! parse is ignored, as the RFC asks; a range that starts past the end is
//! unsatisfiable (416).

/// What to send for a file of a known length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// The whole file (200).
    Full,
    /// Bytes `first..=last` (206).
    Part {
        /// First byte.
        first: u64,
        /// Last byte, inclusive.
        last: u64,
    },
    /// Nothing in the file matches (416).
    Unsatisfiable,
}

/// Interprets a `Range` header value for a file of `len` bytes.
pub(crate) fn parse(header: Option<&str>, len: u64) -> Want {
    let Some(h) = header else {
        return Want::Full;
    };
    let Some(spec) = h.trim().strip_prefix("bytes=") else {
        return Want::Full;
    };
    if spec.contains(',') {
        return Want::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Want::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if a.is_empty() {
        // Suffix: the last `b` bytes.
        if !digits(b) {
            return Want::Full;
        }
        let Ok(n) = b.parse::<u64>() else {
            // More digits than fit: longer than any file, so all of it.
            return if len == 0 {
                Want::Unsatisfiable
            } else {
                Want::Part {
                    first: 0,
                    last: len - 1,
                }
            };
        };
        if n == 0 || len == 0 {
            return Want::Unsatisfiable;
        }
        return Want::Part {
            first: len.saturating_sub(n),
            last: len - 1,
        };
    }
    if !digits(a) || !(b.is_empty() || digits(b)) {
        return Want::Full;
    }
    let Ok(first) = a.parse::<u64>() else {
        return Want::Unsatisfiable;
    };
    if first >= len {
        return Want::Unsatisfiable;
    }
    let last = if b.is_empty() {
        len - 1
    } else {
        match b.parse::<u64>() {
            Ok(l) if l < first => return Want::Full,
            Ok(l) => l.min(len - 1),
            Err(_) => len - 1,
        }
    };
    Want::Part { first, last }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(first: u64, last: u64) -> Want {
        Want::Part { first, last }
    }

    #[test]
    fn single_ranges() {
        assert_eq!(parse(Some("bytes=0-99"), 1000), part(0, 99));
        assert_eq!(parse(Some("bytes=500-"), 1000), part(500, 999));
        assert_eq!(parse(Some("bytes=-100"), 1000), part(900, 999));
        assert_eq!(parse(Some("bytes=-5000"), 1000), part(0, 999));
        assert_eq!(parse(Some("bytes=990-5000"), 1000), part(990, 999));
        assert_eq!(parse(Some("bytes=999-999"), 1000), part(999, 999));
        assert_eq!(parse(Some(" bytes= 10 - 20 "), 1000), part(10, 20));
        assert_eq!(
            parse(Some("bytes=0-99999999999999999999999"), 1000),
            part(0, 999)
        );
    }

    #[test]
    fn no_range_or_nonsense_means_the_whole_file() {
        assert_eq!(parse(None, 1000), Want::Full);
        assert_eq!(parse(Some("items=0-5"), 1000), Want::Full);
        assert_eq!(parse(Some("bytes=0-5,10-20"), 1000), Want::Full);
        assert_eq!(parse(Some("bytes=abc"), 1000), Want::Full);
        assert_eq!(parse(Some("bytes=5-1"), 1000), Want::Full);
        assert_eq!(parse(Some("bytes=-"), 1000), Want::Full);
        assert_eq!(parse(Some("bytes=+1-2"), 1000), Want::Full);
        assert_eq!(parse(Some("bytes=1-x"), 1000), Want::Full);
    }

    #[test]
    fn ranges_past_the_end_are_unsatisfiable() {
        assert_eq!(parse(Some("bytes=1000-"), 1000), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=5000-6000"), 1000), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-0"), 1000), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=0-"), 0), Want::Unsatisfiable);
        assert_eq!(parse(Some("bytes=-10"), 0), Want::Unsatisfiable);
        assert_eq!(
            parse(Some("bytes=99999999999999999999999-"), 1000),
            Want::Unsatisfiable
        );
    }
}
