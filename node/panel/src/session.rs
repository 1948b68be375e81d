//! Logins and their CSRF tokens, and the login and pairing limits per
//! client.
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

/// Most clients whose attempts are remembered; past it, the one that
/// tried longest ago is forgotten (each entry is a few dozen bytes).
const MAX_CLIENTS: usize = 4096;
/// The longest a client is made to wait after failing again and again.
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(300);
/// Failures in a row that cost no wait (a typo, then another).
pub(crate) const FREE_FAILURES: u32 = 2;

/// One client's attempts.
struct Tries {
    /// Attempts left in its bucket (refilled continuously).
    tokens: f64,
    refilled: Instant,
    /// Failures in a row.
    failures: u32,
    /// No attempt before this (after a failure).
    not_before: Instant,
}

/// Login and pairing attempts, per client ([`warren_net::web::Client`]: the
/// source address on TCP), so that one client's failures never refuse
/// another's correct passphrase. Each client has a bucket of
/// `per_minute` attempts, refilled continuously, and after `n` failures in
/// a row, past the first [`FREE_FAILURES`], waits 2^(n−3) s (1 s, 2 s,
/// 4 s … at most [`MAX_DELAY`]) before its next attempt (OWASP
/// Authentication Cheat Sheet, "Login Throttling"); a success forgets its
/// failures.
pub(crate) struct Attempts {
    per_minute: f64,
    clients: HashMap<String, Tries>,
}

impl Attempts {
    pub(crate) fn new(per_minute: u32) -> Attempts {
        Attempts {
            per_minute: f64::from(per_minute),
            clients: HashMap::new(),
        }
    }

    /// Takes one attempt for `client`, or says how long until its next is
    /// allowed.
    pub(crate) fn take(&mut self, client: &str) -> Result<(), Duration> {
        let now = Instant::now();
        if !self.clients.contains_key(client) && self.clients.len() >= MAX_CLIENTS {
            let stalest = self
                .clients
                .iter()
                .min_by_key(|(_, t)| t.refilled)
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                self.clients.remove(&k);
            }
        }
        let per_minute = self.per_minute;
        let t = self.clients.entry(client.to_string()).or_insert(Tries {
            tokens: per_minute,
            refilled: now,
            failures: 0,
            not_before: now,
        });
        let refill = now.duration_since(t.refilled).as_secs_f64() * per_minute / 60.0;
        t.tokens = (t.tokens + refill).min(per_minute);
        t.refilled = now;
        if now < t.not_before {
            return Err(t.not_before - now);
        }
        if t.tokens >= 1.0 {
            t.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - t.tokens) * 60.0 / per_minute;
            Err(Duration::from_secs_f64(wait))
        }
    }

    /// `client`'s attempt failed: its next waits longer.
    pub(crate) fn failed(&mut self, client: &str) {
        if let Some(t) = self.clients.get_mut(client) {
            t.failures = t.failures.saturating_add(1);
            if t.failures > FREE_FAILURES {
                let doublings = (t.failures - FREE_FAILURES - 1).min(20);
                t.not_before =
                    Instant::now() + Duration::from_secs(1u64 << doublings).min(MAX_DELAY);
            }
        }
    }

    /// `client`'s attempt succeeded: its failures are forgotten.
    pub(crate) fn succeeded(&mut self, client: &str) {
        self.clients.remove(client);
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
    async fn attempts_are_limited_per_client_then_refill() {
        let mut a = Attempts::new(5);
        for _ in 0..5 {
            a.take("10.0.0.1").unwrap();
        }
        let wait = a.take("10.0.0.1").unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        // Another client is not held back by the first.
        a.take("10.0.0.2").unwrap();
        tokio::time::advance(Duration::from_secs(12)).await;
        a.take("10.0.0.1").unwrap();
        assert!(a.take("10.0.0.1").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn failures_in_a_row_double_the_wait_up_to_the_cap() {
        let mut a = Attempts::new(1000);
        a.take("c").unwrap();
        let mut waits = Vec::new();
        for _ in 0..14 {
            a.failed("c");
            match a.take("c") {
                Ok(()) => waits.push(0),
                Err(wait) => {
                    waits.push(wait.as_secs());
                    tokio::time::advance(wait).await;
                    a.take("c").unwrap();
                }
            }
        }
        assert_eq!(
            waits,
            [0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
        );
        // Others try freely meanwhile; a success forgets the failures.
        a.take("owner").unwrap();
        a.take("c").unwrap();
        a.succeeded("c");
        a.take("c").unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_clients_remembered_are_bounded() {
        let mut a = Attempts::new(5);
        for i in 0..MAX_CLIENTS + 10 {
            let c = i.to_string();
            a.take(&c).unwrap();
            for _ in 0..=FREE_FAILURES {
                a.failed(&c);
            }
            tokio::time::advance(Duration::from_millis(1)).await;
        }
        assert_eq!(a.clients.len(), MAX_CLIENTS);
        // The oldest were forgotten; the newest still waits.
        assert!(!a.clients.contains_key("0"));
        assert!(a.take(&(MAX_CLIENTS + 9).to_string()).is_err());
    }
}
