//! Free loopback ports.

use std::net::TcpListener;

use crate::{Error, Result};

/// Asks the kernel for `n` distinct free ports on 127.0.0.1.
///
/// The ports are free when this returns; a process started right after
/// binds them. Holding all listeners until the end keeps the kernel from
/// handing out one port twice.
pub(crate) fn free_ports(n: usize) -> Result<Vec<u16>> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").map_err(Error::io("finding a free port")))
        .collect::<Result<_>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr().map_err(Error::io("reading a port"))?.port()))
        .collect()
}
