//! A token bucket over the engine's passed-in clock.
//!
//! Used wherever the router must bound what it sends in answer to what it
//! receives: solicited RAs here, ICMP errors (RFC 4443 §2.4(f)) and
//! neighbor solicitations (RFC 6583) later.

use super::time::Instant;

/// `capacity` tokens, refilled at `per_second`; one token per event.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: u32,
    per_second: u32,
    /// Tokens in millionths, so refills of under one token are not lost.
    micro_tokens: u64,
    last: Option<Instant>,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(capacity: u32, per_second: u32) -> TokenBucket {
        TokenBucket {
            capacity,
            per_second,
            micro_tokens: u64::from(capacity) * 1_000_000,
            last: None,
        }
    }

    /// Takes a token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if let Some(last) = self.last {
            let elapsed = now.saturating_since(last).as_micros();
            let refill = elapsed.saturating_mul(u128::from(self.per_second));
            let max = u128::from(self.capacity) * 1_000_000;
            let filled = (u128::from(self.micro_tokens) + refill).min(max);
            self.micro_tokens = u64::try_from(filled).unwrap_or(u64::MAX);
        }
        self.last = Some(now);
        if self.micro_tokens >= 1_000_000 {
            self.micro_tokens -= 1_000_000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let mut b = TokenBucket::new(3, 2);
        let t0 = Instant::from_secs(10);
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        assert!(b.try_take(t0));
        assert!(!b.try_take(t0));
        // Half a second refills one token at 2/s.
        assert!(b.try_take(Instant::from_micros(10_500_000)));
        assert!(!b.try_take(Instant::from_micros(10_500_000)));
        // A long pause refills to capacity, not beyond.
        let t1 = Instant::from_secs(100);
        assert!(b.try_take(t1));
        assert!(b.try_take(t1));
        assert!(b.try_take(t1));
        assert!(!b.try_take(t1));
    }

    #[test]
    fn zero_rate_never_refills() {
        let mut b = TokenBucket::new(1, 0);
        assert!(b.try_take(Instant::ZERO));
        assert!(!b.try_take(Instant::from_secs(1000)));
    }
}
