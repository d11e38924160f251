//! A small, seeded generator for the core's randomised tests (xorshift64):
//! the same seed gives the same data on every machine.

/// Seeded xorshift64; the seed must not be 0.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `[0, n)`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `s` with one random typo (a deletion, an insertion, a substitution or a
/// transposition, as the reference's generator makes them), trimmed.
pub(crate) fn typo(rng: &mut Rng, s: &str) -> String {
    let mut cs: Vec<char> = s.chars().collect();
    let i = rng.below(cs.len() as u64) as usize;
    let c = char::from(b'a' + rng.below(26) as u8);
    match rng.below(4) {
        0 if cs.len() > 1 => {
            cs.remove(i);
        }
        1 => cs.insert(i, c),
        2 => cs[i] = c,
        _ if i + 1 < cs.len() => cs.swap(i, i + 1),
        _ => {}
    }
    cs.into_iter().collect::<String>().trim().to_string()
}
