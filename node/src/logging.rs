//! Logging setup.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Logs to stderr at `level` (a level or a tracing filter); `RUST_LOG`
/// overrides it. Safe to call twice (the second call does nothing).
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
