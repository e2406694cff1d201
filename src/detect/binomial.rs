//! The binomial tail P(X ≥ k), X ~ Bin(n, p), used by aux_cluster (SPEC §4.2).

/// P(X ≥ k) for X ~ Bin(n, p), summed term by term from the k-th probability (computed in
/// log space so large n neither overflows nor underflows prematurely).
pub fn tail(n: u32, k: u32, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (n_f, k_f) = (n as f64, k as f64);
    let ln_choose: f64 = (1..=k).map(|i| ((n - k + i) as f64 / i as f64).ln()).sum();
    let mut term = (ln_choose + k_f * p.ln() + (n_f - k_f) * (1.0 - p).ln()).exp();
    let odds = p / (1.0 - p);
    let mut sum = 0.0;
    for i in k..=n {
        sum += term;
        term *= (n - i) as f64 / (i + 1) as f64 * odds;
        if term < sum * 1e-18 {
            break;
        }
    }
    sum.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Straightforward formula: 1 − Σ_{i<k} C(n,i) p^i (1−p)^(n−i), with exact binomial
    /// coefficients as f64 (fine for n ≤ 60).
    fn naive(n: u32, k: u32, p: f64) -> f64 {
        let choose = |n: u32, i: u32| (0..i).fold(1.0f64, |acc, j| acc * (n - j) as f64 / (j + 1) as f64);
        (k..=n).map(|i| choose(n, i) * p.powi(i as i32) * (1.0 - p).powi((n - i) as i32)).sum()
    }

    #[test]
    fn known_values() {
        // 3 of 12 at p = 0.085: 1 - P(0) - P(1) - P(2).
        let p = 0.085f64;
        let q = 1.0 - p;
        let expect = 1.0 - q.powi(12) - 12.0 * p * q.powi(11) - 66.0 * p * p * q.powi(10);
        assert!((tail(12, 3, p) - expect).abs() < 1e-12);
        assert_eq!(tail(5, 0, p), 1.0);
        assert_eq!(tail(5, 6, p), 0.0);
    }

    proptest! {
        #[test]
        fn agrees_with_the_naive_sum(n in 1u32..60, k in 0u32..61, p in 0.001f64..0.999) {
            let k = k.min(n + 1);
            let (a, b) = (tail(n, k, p), naive(n, k, p));
            prop_assert!((a - b).abs() <= 1e-9 * b.max(1e-300) + 1e-13, "n={n} k={k} p={p}: {a} vs {b}");
        }
    }
}
