//! Two-proportion statistics for holdout tests: the Wilson score interval of one rate, Newcombe's
//! hybrid score interval for the difference of two rates, and the two-sided p-value of the
//! pooled z-test (the same as Pearson's chi-square test of the 2×2 table without continuity
//! correction).
//!
//! Newcombe's interval (method 10 in Newcombe, "Interval estimation for the difference between
//! independent proportions: comparison of eleven methods", Statistics in Medicine 17, 1998)
//! combines the two Wilson intervals; unlike the textbook Wald interval it stays inside [-1, 1]
//! and keeps its coverage for small groups and rates near 0, which conversion rates are.

/// The standard normal quantile for a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Wilson score interval of `successes` out of `n` (`None` for `n = 0`).
pub fn wilson(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (n, p) = (n as f64, successes as f64 / n as f64);
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// A difference of two rates, `treated - control`, with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Difference {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// Newcombe's hybrid score interval for `x1/n1 - x2/n2` (`None` when a group is empty).
pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64, z: f64) -> Option<Difference> {
    let (l1, u1) = wilson(x1, n1, z)?;
    let (l2, u2) = wilson(x2, n2, z)?;
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let estimate = p1 - p2;
    let low = estimate - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = estimate + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some(Difference { estimate, low, high })
}

/// Two-sided p-value of the pooled two-proportion z-test; 1 when both groups have the same
/// all-or-nothing rate (no variance to test against), `None` when a group is empty.
pub fn two_proportion_p(x1: u64, n1: u64, x2: u64, n2: u64) -> Option<f64> {
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let (a, b) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (a + b);
    let se = (pooled * (1.0 - pooled) * (1.0 / a + 1.0 / b)).sqrt();
    if se == 0.0 {
        return Some(1.0);
    }
    let z = (x1 as f64 / a - x2 as f64 / b) / se;
    // P(|Z| > |z|) = erfc(|z| / sqrt 2).
    Some(statrs::function::erf::erfc(z.abs() / std::f64::consts::SQRT_2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round4(x: f64) -> f64 {
        (x * 10_000.0).round() / 10_000.0
    }

    /// Newcombe (1998), Table II, method 10, examples (a) to (f).
    #[test]
    fn newcombe_matches_the_published_table() {
        let cases = [
            ((56, 70, 48, 80), (0.0524, 0.3339)),
            ((9, 10, 3, 10), (0.1705, 0.8090)),
            ((6, 7, 2, 7), (0.0582, 0.8062)),
            ((5, 56, 0, 29), (-0.0381, 0.1926)),
            ((0, 10, 0, 20), (-0.1611, 0.2775)),
            ((10, 10, 0, 20), (0.6791, 1.0)),
        ];
        for ((x1, n1, x2, n2), (low, high)) in cases {
            let d = newcombe(x1, n1, x2, n2, Z95).unwrap();
            assert_eq!((round4(d.low), round4(d.high)), (low, high), "{x1}/{n1} - {x2}/{n2}");
        }
        assert_eq!(newcombe(1, 0, 1, 2, Z95), None);
    }

    /// Newcombe, "Two-sided confidence intervals for the single proportion" (Statistics in
    /// Medicine 17, 1998), example 81/263: Wilson interval 0.2553 to 0.3662.
    #[test]
    fn wilson_matches_the_published_example() {
        let (low, high) = wilson(81, 263, Z95).unwrap();
        assert_eq!((round4(low), round4(high)), (0.2553, 0.3662));
        assert_eq!(wilson(0, 0, Z95), None);
    }

    /// 56/70 against 48/80: z = 2.6502, the same p as Pearson's chi-square (7.0234, 1 df)
    /// without continuity correction, 0.008045 (Python's statistics.NormalDist).
    #[test]
    fn p_value_of_the_pooled_z_test() {
        assert_eq!((two_proportion_p(56, 70, 48, 80).unwrap() * 1e6).round() / 1e6, 0.008045);
        assert_eq!(two_proportion_p(0, 10, 0, 20), Some(1.0));
        assert_eq!(two_proportion_p(3, 0, 0, 20), None);
    }
}
