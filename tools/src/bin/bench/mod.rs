//! The benchmarks, one module each.

pub(crate) mod board;
pub(crate) mod discovery;
pub(crate) mod fair;
pub(crate) mod files;
pub(crate) mod messages;
pub(crate) mod onion;
pub(crate) mod panel;
pub(crate) mod pow;
pub(crate) mod procs;
pub(crate) mod proto;
pub(crate) mod proto_net;
pub(crate) mod relay;
pub(crate) mod serve;

use std::time::Duration;

/// The median of `v` (sorted in place).
pub(crate) fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}
