//! A token bucket on tokio's clock.

use std::time::Duration;

use tokio::time::Instant;

/// Allows `rate` events per second on average and `burst` at once.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: u32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            rate: f64::from(rate.max(1)),
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes a token now if there is one.
    pub fn try_take(&mut self) -> bool {
        self.refill(Instant::now());
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes a token, first returning how long to wait for it (zero if one
    /// is available). The caller sleeps that long; the token is already
    /// spoken for.
    pub fn take(&mut self) -> Duration {
        self.take_n(1)
    }

    /// Takes `n` tokens (for a byte bucket: `n` bytes), returning how long
    /// to wait before using them.
    pub fn take_n(&mut self, n: u32) -> Duration {
        self.refill(Instant::now());
        self.tokens -= f64::from(n);
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}
