//! A token bucket: at most `rate` messages a second on average, `rate` at once after a
//! pause. A websocket's receiver takes one per message and, when the bucket is empty, waits:
//! a viewer who floods only slows its own connection (its socket's buffers fill), nobody
//! else's.

use std::time::{Duration, Instant};

/// One connection's allowance.
#[derive(Debug)]
pub struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// `rate` messages a second, a burst of as many (at least one).
    pub fn new(rate: u32) -> Bucket {
        let rate = f64::from(rate.max(1));
        Bucket {
            rate,
            tokens: rate,
            last: Instant::now(),
        }
    }

    /// Takes one message at `now`; answers how long to wait before handling it.
    pub fn take_at(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now.max(self.last);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate) - 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }

    /// Takes one message, waiting while the bucket is empty.
    pub async fn take(&mut self) {
        let wait = self.take_at(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let t = Instant::now();
        let mut bucket = Bucket::new(10);
        bucket.last = t;
        for _ in 0..10 {
            assert_eq!(bucket.take_at(t), Duration::ZERO);
        }
        // The 11th at once waits 0.1 s, the 20th 1 s.
        assert_eq!(bucket.take_at(t).as_millis(), 100);
        for _ in 0..8 {
            bucket.take_at(t);
        }
        assert_eq!(bucket.take_at(t).as_millis(), 1000);
        // After a long pause, a full burst again, no more.
        let later = t + Duration::from_secs(60);
        for _ in 0..10 {
            assert_eq!(bucket.take_at(later), Duration::ZERO);
        }
        assert!(bucket.take_at(later) > Duration::ZERO);
    }
}
