//! Logins and their CSRF tokens, and the login rate limit.
//!
//! A login is a random 32-byte token in an `HttpOnly`, `SameSite=Strict`
//! cookie. The panel keeps only its SHA-256, with the login's CSRF token
//! and expiry, in a table of at most `panel.max_sessions` (a new login
//! pushes out the oldest). Forms before a login (pairing, login) use a
//! double-submit token: the same random value in a cookie and in the form.

use std::collections::HashMap;
use std::time::Duration;

use data_encoding::BASE64URL_NOPAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

/// The login cookie's name.
pub(crate) const SESSION_COOKIE: &str = "warren_session";
/// The pre-login CSRF cookie's name.
pub(crate) const FORM_COOKIE: &str = "warren_form";

/// 32 random bytes, base64url.
pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    // Without randomness the token is all zeros and matches nothing stored.
    if getrandom::fill(&mut b).is_err() {
        tracing::error!("no randomness for a panel token");
    }
    BASE64URL_NOPAD.encode(&b)
}

/// Constant-time equality of two tokens.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

struct Session {
    csrf: String,
    created: Instant,
    /// A message for the next page shown: (good news?, text).
    flash: Option<(bool, String)>,
}

/// The live logins.
pub(crate) struct Sessions {
    map: HashMap<[u8; 32], Session>,
    max: usize,
    ttl: Duration,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    pub(crate) fn new(max: usize, ttl: Duration) -> Sessions {
        Sessions {
            map: HashMap::with_capacity(max),
            max,
            ttl,
        }
    }

    /// A new login: its cookie token and its CSRF token.
    pub(crate) fn create(&mut self) -> (String, String) {
        let now = Instant::now();
        self.map
            .retain(|_, s| now.duration_since(s.created) < self.ttl);
        while self.map.len() >= self.max {
            let oldest = self
                .map
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(k, _)| *k);
            match oldest {
                Some(k) => self.map.remove(&k),
                None => break,
            };
        }
        let token = random_token();
        let csrf = random_token();
        self.map.insert(
            key(&token),
            Session {
                csrf: csrf.clone(),
                created: now,
                flash: None,
            },
        );
        (token, csrf)
    }

    /// The CSRF token of a live login.
    pub(crate) fn csrf(&mut self, token: &str) -> Option<String> {
        let k = key(token);
        let live = self.map.get(&k).map(|s| s.created.elapsed() < self.ttl)?;
        if !live {
            self.map.remove(&k);
            return None;
        }
        self.map.get(&k).map(|s| s.csrf.clone())
    }

    /// Leaves a message for the login's next page.
    pub(crate) fn set_flash(&mut self, token: &str, good: bool, text: String) {
        if let Some(s) = self.map.get_mut(&key(token)) {
            s.flash = Some((good, text));
        }
    }

    /// Takes the login's message, if any.
    pub(crate) fn take_flash(&mut self, token: &str) -> Option<(bool, String)> {
        self.map.get_mut(&key(token)).and_then(|s| s.flash.take())
    }

    /// Ends a login.
    pub(crate) fn remove(&mut self, token: &str) {
        self.map.remove(&key(token));
    }

    /// Ends every login (the owner paired again with a new passphrase).
    pub(crate) fn clear(&mut self) {
        self.map.clear();
    }
}

/// Attempts allowed per minute, all clients together (over onion every
/// client arrives from the same place). Refilled continuously.
pub(crate) struct Attempts {
    per_minute: f64,
    tokens: f64,
    last: Instant,
}

impl Attempts {
    pub(crate) fn new(per_minute: u32) -> Attempts {
        Attempts {
            per_minute: f64::from(per_minute),
            tokens: f64::from(per_minute),
            last: Instant::now(),
        }
    }

    /// Takes one attempt, or says how long until the next is allowed.
    pub(crate) fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.per_minute / 60.0;
        self.tokens = (self.tokens + refill).min(self.per_minute);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - self.tokens) * 60.0 / self.per_minute;
            Err(Duration::from_secs_f64(wait.max(1.0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_and_are_bounded() {
        let mut s = Sessions::new(2, Duration::from_secs(3600));
        let (a, csrf_a) = s.create();
        assert!(same(&s.csrf(&a).unwrap(), &csrf_a));
        assert!(s.csrf("not a token").is_none());
        tokio::time::advance(Duration::from_secs(1)).await;
        let (b, _) = s.create();
        tokio::time::advance(Duration::from_secs(1)).await;
        let (c, _) = s.create();
        // The oldest was pushed out.
        assert!(s.csrf(&a).is_none() && s.csrf(&b).is_some() && s.csrf(&c).is_some());
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(s.csrf(&c).is_none());
        s.remove(&b);
        assert!(s.csrf(&b).is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_limited_then_refill() {
        let mut a = Attempts::new(5);
        for _ in 0..5 {
            a.take().unwrap();
        }
        let wait = a.take().unwrap_err();
        assert!(
            wait >= Duration::from_secs(1) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        tokio::time::advance(Duration::from_secs(12)).await;
        a.take().unwrap();
        assert!(a.take().is_err());
    }
}
