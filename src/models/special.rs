//! Special functions: `ln Γ` (from statrs) and the Gauss hypergeometric function `₂F₁`.

/// Natural logarithm of the gamma function, `ln Γ(x)`, for `x > 0` (statrs' Lanczos
/// approximation, accurate to about 1e-15 relative).
pub fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

/// Largest number of series terms [`hyp2f1`] sums before giving up.
///
/// The series converges geometrically with ratio `|z|`, so reaching a relative change of
/// 1e-14 takes about `32 / -ln|z|` terms: 320 at `z = 0.9`, 32 000 at `z = 0.999`.
pub const HYP2F1_MAX_TERMS: usize = 200_000;

/// Relative size of the estimated remainder at which [`hyp2f1`] stops.
pub const HYP2F1_REL_TOL: f64 = 1e-14;

/// The Gauss hypergeometric function
/// `₂F₁(a, b; c; z) = Σₙ (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ`, for real `z < 1`.
///
/// - For `0 ≤ z < 1` the defining series is summed directly.
/// - For `z < 0` Pfaff's transformation
///   `₂F₁(a, b; c; z) = (1 − z)^(−a) ₂F₁(a, c − b; c; z / (z − 1))`
///   maps the argument into `[0, 1)`: this avoids the alternating series (and so cancellation)
///   and extends the domain to every `z < 0`.
/// - No transformation is used for `z` close to 1: the series then converges slowly (ratio
///   `z`) and returns `None` once [`HYP2F1_MAX_TERMS`] is reached (around `z > 0.9998`). The
///   BG/NBD predictions fall back on Euler's transformation themselves when the plain value
///   overflows (see [`crate::models::bgnbd`]).
///
/// Returns `None` when an input is not finite, `z ≥ 1`, `c` is zero or a negative integer (a
/// pole), the sum overflows, or the series has not converged within [`HYP2F1_MAX_TERMS`].
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) || z >= 1.0 {
        return None;
    }
    if c <= 0.0 && c.fract() == 0.0 {
        return None;
    }
    if z < 0.0 {
        let w = z / (z - 1.0);
        let value = (1.0 - z).powf(-a) * hyp2f1_series(a, c - b, c, w)?;
        return value.is_finite().then_some(value);
    }
    hyp2f1_series(a, b, c, z)
}

/// Sums the `₂F₁` series for `0 ≤ z < 1`.
///
/// Term `n + 1` is term `n` times `ρₙ = (a + n)(b + n) z / ((c + n)(n + 1))`. Summation stops
/// once the remainder, bounded by `|tₙ| ρ / (1 − ρ)` with `ρ = max(|ρₙ|, z)` (the ratios tend to
/// `z`, from above or below), is below [`HYP2F1_REL_TOL`] times the partial sum. A term that is
/// exactly zero (`a` or `b` a non-positive integer: the series is a polynomial) ends it exactly.
fn hyp2f1_series(a: f64, b: f64, c: f64, z: f64) -> Option<f64> {
    let mut term = 1.0_f64;
    let mut sum = 1.0_f64;
    for n in 0..HYP2F1_MAX_TERMS {
        let nf = n as f64;
        let ratio = (a + nf) * (b + nf) * z / ((c + nf) * (nf + 1.0));
        if !ratio.is_finite() {
            return None;
        }
        term *= ratio;
        if term == 0.0 {
            return Some(sum);
        }
        sum += term;
        if !sum.is_finite() {
            return None;
        }
        let next = ((a + nf + 1.0) * (b + nf + 1.0) * z / ((c + nf + 1.0) * (nf + 2.0))).abs();
        let rho = next.max(z);
        if rho < 1.0 && term.abs() * rho / (1.0 - rho) <= HYP2F1_REL_TOL * sum.abs() {
            return Some(sum);
        }
    }
    None
}

/// The digamma function `ψ(x) = d/dx ln Γ(x)`, for `x > 0` (statrs' asymptotic series after
/// the recurrence up to 12, accurate to about 1e-14).
pub fn digamma(x: f64) -> f64 {
    statrs::function::gamma::digamma(x)
}
