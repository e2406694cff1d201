//! A small, seedable PRNG (xoshiro256++ seeded through SplitMix64).
//!
//! Why not `rand::rngs::StdRng`: rand documents that `StdRng`'s algorithm may change between
//! releases, and the simulator promises "same seed ⇒ same output" across builds, because
//! recorded scenarios (`simulate --seed 7 --cluster ...`) end up in bug reports and test
//! fixtures. xoshiro256++ is 20 lines, fast, and will never change under us.

/// Deterministic random source. Each agent and each concern (scenario, noise) has its own
/// stream, so changing one never shifts the others.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    s: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// The stream `stream` of the simulation seeded with `seed`.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut a = seed;
        let mut x = splitmix64(&mut a) ^ stream.wrapping_mul(0xD134_2543_DE82_EF95).rotate_left(17);
        let s = [splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x), splitmix64(&mut x)];
        Rng { s }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub(crate) fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n); `n` must be positive.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        // Lemire's multiply-shift; the bias (< n / 2^64) is irrelevant here.
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform integer in [lo, hi] (inclusive); `lo <= hi`.
    pub(crate) fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo) as u64 + 1) as i64
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal (Box–Muller; the second value is thrown away to keep no state).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.f64(); // (0, 1]: ln is finite
        let u2 = self.f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and shape `sigma` (the sd of its logarithm).
    pub(crate) fn log_normal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential with the given mean.
    pub(crate) fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.f64()).ln()
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(1, 0).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut r1 = Rng::new(1, 1);
        let mut r2 = Rng::new(1, 2);
        let mut r3 = Rng::new(2, 1);
        let (x1, x2, x3) = (r1.next_u64(), r2.next_u64(), r3.next_u64());
        assert!(x1 != x2 && x1 != x3 && x2 != x3);
    }

    #[test]
    fn pinned_first_values() {
        // Pins the algorithm: if this changes, every recorded scenario changes with it.
        let mut r = Rng::new(1, 0);
        let first = r.next_u64();
        let mut again = Rng::new(1, 0);
        assert_eq!(first, again.next_u64());
        assert_eq!(first, PINNED);
    }
    const PINNED: u64 = 8_089_978_747_140_965_633;

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Rng::new(42, 7);
        let n = 200_000;
        let mean = (0..n).map(|_| r.f64()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
        let mut v: Vec<f64> = (0..n).map(|_| r.log_normal(240.0, 0.6)).collect();
        v.sort_by(f64::total_cmp);
        let median = v[n / 2];
        assert!((median - 240.0).abs() < 5.0, "{median}");
        let e = (0..n).map(|_| r.exp(30.0)).sum::<f64>() / n as f64;
        assert!((e - 30.0).abs() < 0.5, "{e}");
        assert!((0..1000).all(|_| (3..=9).contains(&r.range(3, 9))));
        assert!((0..1000).all(|_| r.below(5) < 5));
    }
}
