//! Per-address rate limit on sign-in (DESIGN §9: 10 a minute, burst 20): a
//! token bucket per client address, held in memory. Lockout protects each
//! account; this protects the service from one address trying many.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets by address.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    burst: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

/// Addresses tracked before full buckets are forgotten.
const PRUNE_AT: usize = 10_000;

impl RateLimiter {
    /// A limiter refilling `per_minute` tokens a minute up to `burst`.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute: per_minute.max(1), burst: burst.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    fn refill(&self, tokens: f64, since: Instant, now: Instant) -> f64 {
        let rate = f64::from(self.per_minute) / 60.0;
        (tokens + now.duration_since(since).as_secs_f64() * rate).min(f64::from(self.burst))
    }

    /// Takes a token for `ip`; `Err(wait)` when none is left. IPv6 addresses
    /// count by /64: one network hands out a whole /64 at once.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let ip = match ip {
            IpAddr::V6(v6) => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            v4 => v4,
        };
        let now = Instant::now();
        let Ok(mut map) = self.buckets.lock() else { return Ok(()) };
        if map.len() >= PRUNE_AT {
            let burst = f64::from(self.burst);
            map.retain(|_, (t, at)| self.refill(*t, *at, now) < burst);
        }
        let (tokens, at) = map.get(&ip).copied().unwrap_or((f64::from(self.burst), now));
        let tokens = self.refill(tokens, at, now);
        if tokens >= 1.0 {
            map.insert(ip, (tokens - 1.0, now));
            Ok(())
        } else {
            map.insert(ip, (tokens, now));
            let rate = f64::from(self.per_minute) / 60.0;
            Err(Duration::from_secs_f64(((1.0 - tokens) / rate).ceil()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusals_per_address() {
        let l = RateLimiter::new(10, 20);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..20 {
            assert!(l.check(a).is_ok());
        }
        let wait = l.check(a).unwrap_err();
        assert!(wait.as_secs() >= 1 && wait.as_secs() <= 6);
        assert!(l.check(b).is_ok(), "another address has its own bucket");
    }

    #[test]
    fn ipv6_addresses_share_a_bucket_per_64() {
        let l = RateLimiter::new(10, 2);
        assert!(l.check("2001:db8::1".parse().unwrap()).is_ok());
        assert!(l.check("2001:db8::ffff".parse().unwrap()).is_ok());
        assert!(l.check("2001:db8::abcd".parse().unwrap()).is_err());
        assert!(l.check("2001:db8:0:1::1".parse().unwrap()).is_ok());
    }
}
