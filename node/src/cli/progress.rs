//! A progress line on stderr: redrawn in place on a terminal, printed every
//! few seconds otherwise.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub(crate) struct Bar {
    tty: bool,
    last: Option<Instant>,
    drawn: bool,
}

pub(crate) use warren_node::files::size;

impl Bar {
    pub(crate) fn new() -> Bar {
        Bar {
            tty: std::io::stderr().is_terminal(),
            last: None,
            drawn: false,
        }
    }

    /// Shows `done` of `total` with a text after it.
    #[allow(clippy::disallowed_methods)] // a progress display runs on real time
    pub(crate) fn show(&mut self, what: &str, done: u64, total: u64, extra: &str) {
        let every = if self.tty {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(5)
        };
        let now = Instant::now();
        if self.last.is_some_and(|l| now.duration_since(l) < every) && done < total {
            return;
        }
        self.last = Some(now);
        let pct = if total == 0 {
            100.0
        } else {
            done as f64 * 100.0 / total as f64
        };
        let width = 30;
        let filled = ((pct / 100.0) * width as f64) as usize;
        let bar: String = "#".repeat(filled.min(width)) + &"-".repeat(width - filled.min(width));
        let line = format!(
            "{what} [{bar}] {pct:5.1}% {} / {}{extra}",
            size(done),
            size(total)
        );
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
        self.drawn = true;
    }

    /// Ends the line.
    pub(crate) fn finish(&mut self) {
        if self.tty && self.drawn {
            eprintln!();
        }
        self.drawn = false;
    }
}
