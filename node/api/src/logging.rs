//! Logging setup: stderr, and a bounded tail of recent lines for the panel.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// Lines the tail keeps; older ones are dropped.
pub const TAIL_LINES: usize = 500;
/// Longest line kept, bytes (longer ones are cut).
const MAX_LINE: usize = 1024;

/// One log line.
#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// Unix seconds.
    pub at: u64,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: &'static str,
    /// Where it came from (the module).
    pub target: String,
    /// The message and its fields.
    pub text: String,
}

/// The most recent log lines, at most [`TAIL_LINES`].
#[derive(Debug, Default)]
pub struct LogTail {
    lines: Mutex<VecDeque<LogLine>>,
}

impl LogTail {
    fn push(&self, line: LogLine) {
        {
            let mut l = self.lines.lock().expect(crate::HELD);
            if l.len() >= TAIL_LINES {
                l.pop_front();
            }
            l.push_back(line);
        }
    }

    /// The last `n` lines at `min` severity or worse, oldest first.
    pub fn recent(&self, min: Level, n: usize) -> Vec<LogLine> {
        let l = self.lines.lock().expect(crate::HELD);
        let mut v: Vec<LogLine> = l
            .iter()
            .rev()
            .filter(|x| x.level.parse::<Level>().is_ok_and(|lv| lv <= min))
            .take(n)
            .cloned()
            .collect();
        v.reverse();
        v
    }
}

static TAIL: OnceLock<LogTail> = OnceLock::new();

/// The process's log tail (empty until [`init`]).
pub fn tail() -> &'static LogTail {
    TAIL.get_or_init(LogTail::default)
}

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if self.0.len() >= MAX_LINE {
            return;
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

struct TailLayer;

impl<S: Subscriber> Layer<S> for TailLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut text = Text(String::new());
        event.record(&mut text);
        let mut text = text.0;
        if text.len() > MAX_LINE {
            let mut cut = MAX_LINE;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        // A log line's time stamp is the operating system's wall time
        // (the log layer is process-wide: it has no node's clock).
        let at = warren_net::clock::Clock::unix_now(&warren_net::clock::SystemClock);
        let meta = event.metadata();
        tail().push(LogLine {
            at,
            level: meta.level().as_str(),
            target: meta.target().to_string(),
            text,
        });
    }
}

/// Logs to stderr, and to the tail, at `level` (a level or a tracing
/// filter); `RUST_LOG` overrides it. Safe to call twice (the second call
/// does nothing).
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(TailLayer)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_is_bounded_and_filters_by_level() {
        let t = LogTail::default();
        for i in 0..(TAIL_LINES + 10) {
            t.push(LogLine {
                at: i as u64,
                level: if i % 2 == 0 { "WARN" } else { "INFO" },
                target: "x".into(),
                text: format!("line {i}"),
            });
        }
        assert_eq!(t.recent(Level::TRACE, usize::MAX).len(), TAIL_LINES);
        let warn = t.recent(Level::WARN, 3);
        assert_eq!(warn.len(), 3);
        assert!(warn.iter().all(|l| l.level == "WARN"));
        assert_eq!(warn[2].text, format!("line {}", TAIL_LINES + 8));
    }
}
