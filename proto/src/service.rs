//! Services: what a connection opened with `Purpose::Service` is for, and
//! the channel its messages travel on (protocol version 4, SPEC.md §6).
//!
//! A service is named the way ALPN names a protocol (RFC 7301) and libp2p
//! a protocol id: a short ASCII string both sides know, conventionally
//! `warren/NAME/VERSION` (`warren/chat/1`). The frames of a service
//! connection carry the service's own bytes on [`crate::frame::Channel::Service`];
//! this crate does not read them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{BoundedString, Error, Result};

/// Longest service name, in bytes.
pub const MAX_SERVICE_NAME: usize = 32;

/// A service's name: 1 to [`MAX_SERVICE_NAME`] bytes of lowercase ASCII
/// letters, digits, `.`, `_`, `-` and `/`, starting with a letter.
///
/// On the wire it is a postcard string (length, then the bytes); a name
/// breaking the rules fails to decode.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(
    try_from = "BoundedString<MAX_SERVICE_NAME>",
    into = "BoundedString<MAX_SERVICE_NAME>"
)]
pub struct ServiceName(String);

impl ServiceName {
    /// Checks `s`.
    ///
    /// # Errors
    /// [`Error::ServiceName`] when `s` is empty, longer than
    /// [`MAX_SERVICE_NAME`], does not start with a lowercase letter, or has
    /// another character than `a-z 0-9 . _ - /`.
    pub fn new(s: &str) -> Result<ServiceName> {
        if s.is_empty() {
            return Err(Error::ServiceName("empty"));
        }
        if s.len() > MAX_SERVICE_NAME {
            return Err(Error::ServiceName("longer than 32 bytes"));
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(Error::ServiceName("does not start with a lowercase letter"));
        }
        let allowed = |c: char| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/')
        };
        if !s.chars().all(allowed) {
            return Err(Error::ServiceName(
                "a character other than a-z, 0-9, '.', '_', '-', '/'",
            ));
        }
        Ok(ServiceName(s.to_string()))
    }

    /// The name's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ServiceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ServiceName {
    type Err = Error;
    fn from_str(s: &str) -> Result<ServiceName> {
        ServiceName::new(s)
    }
}

impl TryFrom<BoundedString<MAX_SERVICE_NAME>> for ServiceName {
    type Error = Error;
    fn try_from(s: BoundedString<MAX_SERVICE_NAME>) -> Result<ServiceName> {
        ServiceName::new(s.as_str())
    }
}

impl From<ServiceName> for BoundedString<MAX_SERVICE_NAME> {
    fn from(n: ServiceName) -> Self {
        // A ServiceName is at most MAX_SERVICE_NAME bytes by construction.
        BoundedString::new(n.0).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rules() {
        for good in ["warren/chat/1", "a", "x.y_z-1/2", &"a".repeat(32)] {
            assert_eq!(
                ServiceName::new(good).map(|n| n.to_string()).ok(),
                Some(good.to_string())
            );
        }
        for bad in [
            "",
            "Chat",
            "1chat",
            "/chat",
            "chat room",
            "chät",
            "a\u{202e}",
            &"a".repeat(33),
        ] {
            assert!(ServiceName::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_bad_name_on_the_wire_fails_to_decode() {
        let wire =
            crate::encode(&BoundedString::<MAX_SERVICE_NAME>::new("Chat").unwrap_or_default());
        assert!(crate::decode_exact::<ServiceName>(&wire).is_err());
        let good = crate::encode(&ServiceName::new("chat").unwrap_or_else(|_| unreachable!()));
        assert_eq!(good, [4, b'c', b'h', b'a', b't']);
    }
}
