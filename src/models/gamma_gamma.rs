//! The Gamma-Gamma model of monetary value (Fader & Hardie 2013, "The Gamma-Gamma Model of
//! Monetary Value").
//!
//! A customer's transaction values are Gamma(p, ν) with a customer-specific scale
//! ν ~ Gamma(q, v) (`v` is the paper's γ). A repeat buyer is summarised by `x ≥ 1`, the number
//! of repeat transactions, and `m_x > 0`, their mean value. The model assumes spend is
//! independent of the purchase process, so customers with `x = 0` carry no information and are
//! rejected: filter them out first.

use super::special::{digamma, ln_gamma};
use super::{check_count, positive, ModelError, ModelResult};

/// The three Gamma-Gamma parameters, all > 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaParams {
    /// Shape of the per-transaction Gamma distribution.
    pub p: f64,
    /// Shape of the Gamma distribution of ν across customers.
    pub q: f64,
    /// Scale (the paper's γ) of the Gamma distribution of ν across customers.
    pub v: f64,
}

impl GammaGammaParams {
    /// Parameters checked to be finite and > 0.
    pub fn new(p: f64, q: f64, v: f64) -> ModelResult<Self> {
        let params = Self { p, q, v };
        params.validate()?;
        Ok(params)
    }

    /// Checks that every parameter is finite and > 0.
    pub fn validate(&self) -> ModelResult<()> {
        positive("p", self.p)?;
        positive("q", self.q)?;
        positive("v", self.v)?;
        Ok(())
    }
}

/// Repeat buyers sharing one summary `(x, m_x)`, `count` of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepeatBuyers {
    /// Repeat transactions, a whole number ≥ 1.
    pub x: f64,
    /// Mean value of those transactions, > 0.
    pub m_x: f64,
    /// How many customers have this summary (> 0); usually 1.
    pub count: u64,
}

/// Checks one repeat buyer; `index` is only used in the error.
pub fn check_observation(index: Option<usize>, x: f64, m_x: f64) -> ModelResult<()> {
    check_count(index, x)?;
    if x < 1.0 {
        let reason = "the Gamma-Gamma model needs repeat buyers (x >= 1)".to_string();
        return Err(ModelError::InvalidObservation { index, reason });
    }
    if !(m_x.is_finite() && m_x > 0.0) {
        let reason = format!("mean repeat-purchase value m_x = {m_x} must be finite and > 0");
        return Err(ModelError::InvalidObservation { index, reason });
    }
    Ok(())
}

/// The log-likelihood of one repeat buyer: the log of the marginal density of `m_x`,
///
/// `f(m_x | p, q, v; x) = Γ(px+q) / (Γ(px) Γ(q)) · v^q m_x^(px−1) x^(px) / (v + x m_x)^(px+q)`,
///
/// obtained by integrating the Gamma(px, νx) density of `m_x` over ν ~ Gamma(q, v).
pub fn customer_log_likelihood(params: &GammaGammaParams, x: f64, m_x: f64) -> ModelResult<f64> {
    params.validate()?;
    check_observation(None, x, m_x)?;
    Ok(customer_ll(params, x, m_x))
}

fn customer_ll(params: &GammaGammaParams, x: f64, m_x: f64) -> f64 {
    value_terms(params, frequency_terms(params, x), x, m_x)
}

/// The terms that depend on `x` alone (the `ln Γ` calls).
fn frequency_terms(params: &GammaGammaParams, x: f64) -> f64 {
    let GammaGammaParams { p, q, v } = *params;
    let px = p * x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln()
}

/// The log density from the terms in `x` alone and those in `m_x`.
fn value_terms(params: &GammaGammaParams, by_x: f64, x: f64, m_x: f64) -> f64 {
    let GammaGammaParams { p, q, v } = *params;
    let px = p * x;
    by_x + (px - 1.0) * m_x.ln() + px * x.ln() - (px + q) * (v + x * m_x).ln()
}

/// The total log-likelihood `Σ count · ln f(m_x)` (see [`customer_log_likelihood`]).
pub fn log_likelihood(params: &GammaGammaParams, buyers: &[RepeatBuyers]) -> ModelResult<f64> {
    params.validate()?;
    check_buyers(buyers)?;
    Ok(total_ll(params, buyers, 1))
}

/// As for BG/NBD, the `ln Γ` terms once per run of buyers with the same `x`, summed on
/// `threads` threads (0: every core) in a fixed order (see [`super::parallel`]).
fn total_ll(params: &GammaGammaParams, buyers: &[RepeatBuyers], threads: usize) -> f64 {
    let [ll] = super::parallel::chunked_sum(buyers, threads, |chunk| {
        let mut last: Option<(f64, f64)> = None;
        let sum = chunk
            .iter()
            .map(|g| {
                let by_x = match last {
                    Some((x, by_x)) if x == g.x => by_x,
                    _ => frequency_terms(params, g.x),
                };
                last = Some((g.x, by_x));
                g.count as f64 * value_terms(params, by_x, g.x, g.m_x)
            })
            .sum();
        [sum]
    });
    ll
}

/// The total log-likelihood and its gradient in `(p, q, v)`: per buyer, with `s = v + x m_x`,
/// `∂p = x (ψ(px+q) − ψ(px) + ln m_x + ln x − ln s)`, `∂q = ψ(px+q) − ψ(q) + ln v − ln s`,
/// `∂v = q/v − (px+q)/s`.
pub(crate) fn total_ll_gradient(params: &GammaGammaParams, buyers: &[RepeatBuyers], threads: usize) -> [f64; 4] {
    let GammaGammaParams { p, q, v } = *params;
    let (psi_q, ln_v) = (digamma(q), v.ln());
    super::parallel::chunked_sum(buyers, threads, |chunk| {
        let mut sums = [0.0; 4];
        // Per frequency: the ln Γ terms, ψ(px+q), ψ(px) and ln x.
        let mut last: Option<(f64, [f64; 4])> = None;
        for g in chunk {
            let [by_x, psi_pxq, psi_px, ln_x] = match last {
                Some((x, terms)) if x == g.x => terms,
                _ => [frequency_terms(params, g.x), digamma(p * g.x + q), digamma(p * g.x), g.x.ln()],
            };
            last = Some((g.x, [by_x, psi_pxq, psi_px, ln_x]));
            let ll = value_terms(params, by_x, g.x, g.m_x);
            let s = v + g.x * g.m_x;
            let ln_s = s.ln();
            let d_p = g.x * (psi_pxq - psi_px + g.m_x.ln() + ln_x - ln_s);
            let d_q = psi_pxq - psi_q + ln_v - ln_s;
            let d_v = q / v - (p * g.x + q) / s;
            let n = g.count as f64;
            for (sum, d) in sums.iter_mut().zip([ll, d_p, d_q, d_v]) {
                *sum += n * d;
            }
        }
        sums
    })
}

fn check_buyers(buyers: &[RepeatBuyers]) -> ModelResult<()> {
    for (i, g) in buyers.iter().enumerate() {
        check_observation(Some(i), g.x, g.m_x)?;
        super::check_group_count(i, g.count)?;
    }
    Ok(())
}

/// A maximum-likelihood fit of the Gamma-Gamma model.
pub type GammaGammaFit = super::Fit<GammaGammaParams>;

/// Fits the model by maximum likelihood on `(ln p, ln q, ln v)`, minimising the mean negative
/// log-likelihood per customer, from `p = q = v = 1` (see [`super::fit_on_logs`]; more than
/// [`super::START_GROUPS`] buyers start on [`coarsen`]ed ones).
pub fn fit(buyers: &[RepeatBuyers], options: &super::FitOptions) -> ModelResult<GammaGammaFit> {
    check_buyers(buyers)?;
    let customers: f64 = buyers.iter().map(|g| g.count as f64).sum();
    let from_logs = |t: &[f64]| GammaGammaParams { p: t[0].exp(), q: t[1].exp(), v: t[2].exp() };
    let threads = options.threads;
    let total = |p: &GammaGammaParams| p.validate().ok().map(|()| total_ll(p, buyers, threads));
    let gradient = |p: &GammaGammaParams| p.validate().ok().map(|()| total_ll_gradient(p, buyers, threads).to_vec());
    let coarse = (buyers.len() > super::START_GROUPS).then(|| coarsen(buyers, super::START_GROUPS));
    let coarse_total = coarse.as_ref().map(|c| move |p: &GammaGammaParams| p.validate().ok().map(|()| total_ll(p, c, threads)));
    let model = super::LogLikelihood {
        n: 3,
        customers,
        from_logs: &from_logs,
        total: &total,
        gradient: &gradient,
        coarse: coarse_total.as_ref().map(|f| f as &dyn Fn(&GammaGammaParams) -> Option<f64>),
        penalty_scales: &[1.0; 3],
    };
    super::fit_on_logs(&model, options)
}

/// The same buyers with `m_x` rounded to a grid even in `ln m_x` (steps of 1/64, doubled
/// until at most `limit` groups remain or the step reaches 64), equal ones merged: a cheap copy
/// of the data whose fit lies close to the exact one. Sorted by `x`, `m_x` as the input.
pub fn coarsen(buyers: &[RepeatBuyers], limit: usize) -> Vec<RepeatBuyers> {
    let mut step = 1.0 / 64.0;
    loop {
        let round = |m: f64| ((m.ln() / step).round() * step).exp();
        let mut merged: Vec<RepeatBuyers> = Vec::new();
        for g in buyers {
            let m_x = round(g.m_x);
            match merged.last_mut() {
                // Rounding is monotonic, so equal rounded values are adjacent within one x.
                Some(last) if last.x == g.x && last.m_x == m_x => last.count += g.count,
                _ => merged.push(RepeatBuyers { m_x, ..*g }),
            }
        }
        if merged.len() <= limit || step >= 64.0 {
            return merged;
        }
        step *= 2.0;
    }
}

/// The expected average transaction value of a customer with `x` repeat transactions of mean
/// value `m_x`:
///
/// `E[M | p, q, v; x, m_x] = (q−1)/(px+q−1) · vp/(q−1) + px/(px+q−1) · m_x
///                         = p (v + x m_x) / (px + q − 1)`,
///
/// a weighted mean of the population mean `vp/(q−1)` and the customer's own `m_x`. `x = 0`
/// is allowed here and gives the population mean. Needs `px + q > 1` (`q > 1` when `x = 0`),
/// otherwise the expectation is infinite.
pub fn conditional_expected_value(params: &GammaGammaParams, x: f64, m_x: f64) -> ModelResult<f64> {
    params.validate()?;
    check_count(None, x)?;
    if !(m_x.is_finite() && m_x >= 0.0) {
        let reason = format!("mean repeat-purchase value m_x = {m_x} must be finite and >= 0");
        return Err(ModelError::InvalidObservation {
            index: None,
            reason,
        });
    }
    let GammaGammaParams { p, q, v } = *params;
    let denominator = p * x + q - 1.0;
    if denominator <= 0.0 {
        let reason = "the expected value is infinite unless p*x + q > 1";
        return Err(ModelError::InvalidParameter {
            name: "q",
            value: q,
            reason,
        });
    }
    let value = p * (v + x * m_x) / denominator;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ModelError::NonFinite("conditional expected value"))
    }
}
