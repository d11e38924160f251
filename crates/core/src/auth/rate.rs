//! The sign-in rate limit per client address (DESIGN §9: 10 a minute, burst
//! 20): a token bucket per address, kept in the store so that it holds
//! however the attempts are spread over instances. Lockout protects each
//! account; this protects the service from one address trying many.

use std::net::IpAddr;

use jiff::{SignedDuration, Timestamp};

/// How many sign-in attempts an address may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInRate {
    /// Tokens a minute the bucket refills.
    pub per_minute: u32,
    /// The bucket's size: attempts at once.
    pub burst: u32,
}

/// An address's bucket: the tokens left when last taken from, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Tokens left.
    pub tokens: f64,
    /// When they were counted.
    pub at: Timestamp,
}

impl SignInRate {
    /// A limit, at least one a minute and a burst of one.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self { per_minute: per_minute.max(1), burst: burst.max(1) }
    }

    fn per_second(&self) -> f64 {
        f64::from(self.per_minute) / 60.0
    }

    /// Takes one token from `held` (a full bucket when none is kept) at
    /// `now`: the bucket to keep, and `Err(wait)` when none was left, with
    /// how long until one is. A bucket counted later than `now` (another
    /// instance's clock a little ahead) refills nothing meanwhile.
    pub fn take(&self, held: Option<Bucket>, now: Timestamp) -> (Bucket, Result<(), std::time::Duration>) {
        let burst = f64::from(self.burst);
        let tokens = held.map_or(burst, |b| {
            let elapsed = now.duration_since(b.at).as_secs_f64().max(0.0);
            (b.tokens + elapsed * self.per_second()).min(burst)
        });
        if tokens >= 1.0 {
            (Bucket { tokens: tokens - 1.0, at: now }, Ok(()))
        } else {
            let wait = std::time::Duration::from_secs_f64(((1.0 - tokens) / self.per_second()).ceil());
            (Bucket { tokens, at: now }, Err(wait))
        }
    }

    /// How long an empty bucket takes to fill: a bucket last counted longer
    /// ago than this is full again, and need not be kept.
    pub fn full_after(&self) -> SignedDuration {
        SignedDuration::from_secs((f64::from(self.burst) / self.per_second()).ceil() as i64)
    }
}

/// The key an address counts under: IPv4 whole, IPv6 by its /64 (one
/// network hands out a whole /64 at once).
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/64", std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        IpAddr::V4(v4) => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    #[test]
    fn a_burst_then_refusals_then_one_a_refill() {
        let rate = SignInRate::new(10, 20);
        let mut held = None;
        for i in 0..20 {
            let (b, r) = rate.take(held, at(0));
            assert!(r.is_ok(), "attempt {i}");
            held = Some(b);
        }
        let (b, r) = rate.take(held, at(0));
        let wait = r.unwrap_err();
        assert_eq!(wait.as_secs(), 6, "one token in 6 s at 10 a minute");
        let (b, r) = rate.take(Some(b), at(6));
        assert!(r.is_ok(), "a token after 6 s");
        assert!(rate.take(Some(b), at(6)).1.is_err(), "and only one");
    }

    #[test]
    fn a_bucket_fills_to_its_burst_and_no_further() {
        let rate = SignInRate::new(10, 20);
        let (b, _) = rate.take(Some(Bucket { tokens: 0.0, at: at(0) }), at(rate.full_after().as_secs() * 10));
        assert_eq!(b.tokens, 19.0);
        assert_eq!(rate.full_after(), SignedDuration::from_secs(120));
    }

    #[test]
    fn a_bucket_counted_ahead_of_this_clock_refills_nothing() {
        let rate = SignInRate::new(10, 20);
        let (b, r) = rate.take(Some(Bucket { tokens: 0.5, at: at(30) }), at(0));
        assert!(r.is_err());
        assert_eq!(b.tokens, 0.5);
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        let a = address_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        assert_eq!(a, address_key("2001:db8:1:2:bbbb::9".parse().unwrap()));
        assert_ne!(a, address_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(address_key("192.0.2.1".parse().unwrap()), "192.0.2.1");
    }
}
