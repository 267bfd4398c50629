//! The BG/NBD model of Fader, Hardie & Lee (2005), "Counting your customers the easy way: an
//! alternative to the Pareto/NBD model" (equation numbers below are the paper's).
//!
//! While alive, a customer buys as a Poisson process of rate λ ~ Gamma(r, α); after each
//! purchase the customer drops out with probability p ~ Beta(a, b). A customer is summarised
//! by `x`, the number of repeat purchases, `t_x`, the time of the last one (0 when `x = 0`),
//! and `T`, the time since the first purchase, all in one time unit (CDNOW uses weeks).
//!
//! The likelihood is summed over customers grouped by `(x, t_x, T)` with counts, so a fit costs
//! as much as the number of distinct summaries, not the number of customers.

use std::collections::BTreeMap;

use super::special::{digamma, hyp2f1, ln_gamma};
use super::{check_count, positive, ModelError, ModelResult};

/// The four BG/NBD parameters, all > 0: `r`, `alpha` (shape and scale of the Gamma
/// distribution of purchase rates) and `a`, `b` (of the Beta distribution of drop-out
/// probabilities).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbdParams {
    /// Parameters checked to be finite and > 0.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> ModelResult<Self> {
        let params = Self { r, alpha, a, b };
        params.validate()?;
        Ok(params)
    }

    /// Checks that every parameter is finite and > 0.
    pub fn validate(&self) -> ModelResult<()> {
        positive("r", self.r)?;
        positive("alpha", self.alpha)?;
        positive("a", self.a)?;
        positive("b", self.b)?;
        Ok(())
    }
}

/// Customers sharing one summary `(x, t_x, T)`, `count` of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerGroup {
    /// Repeat purchases (a whole number ≥ 0).
    pub x: f64,
    /// Time of the last repeat purchase, `0 ≤ t_x ≤ T` (ignored when `x = 0`).
    pub t_x: f64,
    /// Time since the first purchase (the customer's age), `T ≥ 0`.
    pub big_t: f64,
    /// How many customers have this summary (> 0).
    pub count: u64,
}

/// Checks one customer summary; `index` is only used in the error.
pub fn check_observation(index: Option<usize>, x: f64, t_x: f64, big_t: f64) -> ModelResult<()> {
    check_count(index, x)?;
    if !(big_t.is_finite() && big_t >= 0.0 && t_x.is_finite() && t_x >= 0.0 && t_x <= big_t) {
        return Err(ModelError::InvalidObservation {
            index,
            reason: format!("need 0 <= t_x <= T, finite; got t_x = {t_x}, T = {big_t}"),
        });
    }
    Ok(())
}

/// Groups customer summaries `(x, t_x, T)` into [`CustomerGroup`]s (sorted by `x`, `t_x`, `T`),
/// checking each one.
pub fn group_customers<I>(customers: I) -> ModelResult<Vec<CustomerGroup>>
where
    I: IntoIterator<Item = (f64, f64, f64)>,
{
    // Keys are the values' bits (with -0.0 made 0.0); for non-negative floats the bit
    // patterns sort like the values.
    let bits = |v: f64| (v + 0.0).to_bits();
    let mut groups: BTreeMap<(u64, u64, u64), CustomerGroup> = BTreeMap::new();
    for (index, (x, t_x, big_t)) in customers.into_iter().enumerate() {
        check_observation(Some(index), x, t_x, big_t)?;
        let (x, t_x, big_t) = (x + 0.0, t_x + 0.0, big_t + 0.0);
        groups
            .entry((bits(x), bits(t_x), bits(big_t)))
            .or_insert(CustomerGroup {
                x,
                t_x,
                big_t,
                count: 0,
            })
            .count += 1;
    }
    Ok(groups.into_values().collect())
}

/// The log-likelihood of one customer, `ln L(r, α, a, b | x, t_x, T)`, equation (6):
///
/// `L = B(a, b+x)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+T)^(r+x))
///    + δ(x>0) · B(a+1, b+x−1)/B(a, b) · Γ(r+x) α^r / (Γ(r) (α+t_x)^(r+x))`,
///
/// computed in logs as `A₁ + A₂ + ln(e^A₃ + δ(x>0) e^A₄)` with
/// `A₁ = ln Γ(r+x) − ln Γ(r) + r ln α`, `A₂ = ln Γ(a+b) + ln Γ(b+x) − ln Γ(b) − ln Γ(a+b+x)`,
/// `A₃ = −(r+x) ln(α+T)`, `A₄ = ln a − ln(b+x−1) − (r+x) ln(α+t_x)`.
pub fn customer_log_likelihood(
    params: &BgNbdParams,
    x: f64,
    t_x: f64,
    big_t: f64,
) -> ModelResult<f64> {
    params.validate()?;
    check_observation(None, x, t_x, big_t)?;
    Ok(customer_ll(params, x, t_x, big_t))
}

/// [`customer_log_likelihood`] without the checks.
fn customer_ll(p: &BgNbdParams, x: f64, t_x: f64, big_t: f64) -> f64 {
    let terms = FrequencyTerms::new(p, x);
    terms.group(p, (p.alpha + t_x).ln(), (p.alpha + big_t).ln()).0
}

/// The terms of one frequency `x`: `A₁ + A₂` (the `ln Γ` calls, most of the work) and
/// `ln a − ln(b+x−1)`, the part of `A₄` without `t_x`.
#[derive(Clone, Copy)]
struct FrequencyTerms {
    x: f64,
    a12: f64,
    a4: f64,
}

impl FrequencyTerms {
    fn new(p: &BgNbdParams, x: f64) -> Self {
        let (r, alpha, a, b) = (p.r, p.alpha, p.a, p.b);
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a4 = if x > 0.0 { a.ln() - (b + x - 1.0).ln() } else { 0.0 };
        Self { x, a12: a1 + a2, a4 }
    }

    /// The log-likelihood of a customer of this frequency from `ln(α+t_x)` and `ln(α+T)`,
    /// with the weight `w = e^A₄ / (e^A₃ + e^A₄)` of the second term (0 when `x = 0`), which
    /// the gradient needs.
    fn group(&self, p: &BgNbdParams, ln_t_x: f64, ln_big_t: f64) -> (f64, f64) {
        let a3 = -(p.r + self.x) * ln_big_t;
        if self.x > 0.0 {
            let a4 = self.a4 - (p.r + self.x) * ln_t_x;
            let hi = a3.max(a4);
            let (e3, e4) = ((a3 - hi).exp(), (a4 - hi).exp());
            (self.a12 + hi + (e3 + e4).ln(), e4 / (e3 + e4))
        } else {
            (self.a12 + a3, 0.0)
        }
    }
}

/// Groups with `t_x` and `T` as indices into the table of their distinct values, so that a pass
/// over hundreds of thousands of groups computes `ln(α + t)` once per distinct time (a few
/// thousand at day resolution).
pub(crate) struct IndexedGroups {
    times: Vec<f64>,
    /// `x`, the indices of `t_x` and `T` in `times`, and the count.
    groups: Vec<(f64, u32, u32, f64)>,
}

impl IndexedGroups {
    pub(crate) fn new(groups: &[CustomerGroup]) -> Self {
        let mut times: Vec<f64> = groups.iter().flat_map(|g| [g.t_x, g.big_t]).collect();
        times.sort_by(f64::total_cmp);
        times.dedup_by(|a, b| a.total_cmp(b).is_eq());
        // Every time is in the table, so the search always finds it.
        let at = |v: f64| times.binary_search_by(|t| t.total_cmp(&v)).unwrap_or_default() as u32;
        let groups = groups.iter().map(|g| (g.x, at(g.t_x), at(g.big_t), g.count as f64)).collect();
        Self { times, groups }
    }

    /// `ln(α + t)` per distinct time.
    fn logs(&self, alpha: f64) -> Vec<f64> {
        self.times.iter().map(|t| (alpha + t).ln()).collect()
    }
}

/// The total log-likelihood `Σ count · ln L` over grouped customers (see
/// [`customer_log_likelihood`]).
pub fn log_likelihood(params: &BgNbdParams, groups: &[CustomerGroup]) -> ModelResult<f64> {
    params.validate()?;
    check_groups(groups)?;
    Ok(total_ll(params, &IndexedGroups::new(groups), 1))
}

/// The terms in `x` alone are computed once per run of groups with the same `x` (groups come
/// sorted by `x`), so a fit costs a few `ln Γ` calls per distinct frequency, not per group.
/// Summed on `threads` threads (0: every core) in a fixed order (see [`super::parallel`]).
pub(crate) fn total_ll(p: &BgNbdParams, data: &IndexedGroups, threads: usize) -> f64 {
    let logs = data.logs(p.alpha);
    let [ll] = super::parallel::chunked_sum(&data.groups, threads, |chunk| {
        let mut terms: Option<FrequencyTerms> = None;
        let mut sum = 0.0;
        for &(x, t_x, big_t, n) in chunk {
            let f = match terms {
                Some(f) if f.x == x => f,
                _ => FrequencyTerms::new(p, x),
            };
            terms = Some(f);
            sum += n * f.group(p, logs[t_x as usize], logs[big_t as usize]).0;
        }
        [sum]
    });
    ll
}

/// The derivatives of `A₁ + A₂` of frequency `x` in `(r, α, a, b)`, from the digammas `ψ(r)`,
/// `ψ(a+b)` and `ψ(b)` that do not depend on `x` (`psi`).
fn frequency_gradient(p: &BgNbdParams, psi: [f64; 3], x: f64) -> [f64; 4] {
    let (r, alpha, a, b) = (p.r, p.alpha, p.a, p.b);
    let [psi_r, psi_ab, psi_b] = psi;
    let psi_abx = digamma(a + b + x);
    [digamma(r + x) - psi_r + alpha.ln(), r / alpha, psi_ab - psi_abx, psi_ab + digamma(b + x) - psi_b - psi_abx]
}

/// The total log-likelihood and its gradient in `(r, α, a, b)`:
/// `∂ ln L = ∂(A₁ + A₂) + (1 − w) ∂A₃ + w ∂A₄` per group, `w` as in [`FrequencyTerms::group`].
pub(crate) fn total_ll_gradient(p: &BgNbdParams, data: &IndexedGroups, threads: usize) -> [f64; 5] {
    let psi = [digamma(p.r), digamma(p.a + p.b), digamma(p.b)];
    let logs = data.logs(p.alpha);
    let inverses: Vec<f64> = data.times.iter().map(|t| 1.0 / (p.alpha + t)).collect();
    super::parallel::chunked_sum(&data.groups, threads, |chunk| {
        let mut sums = [0.0; 5];
        let mut terms: Option<(FrequencyTerms, [f64; 4])> = None;
        for &(x, t_x, big_t, n) in chunk {
            let (f, d) = match terms {
                Some((f, d)) if f.x == x => (f, d),
                _ => (FrequencyTerms::new(p, x), frequency_gradient(p, psi, x)),
            };
            terms = Some((f, d));
            let (t_x, big_t) = (t_x as usize, big_t as usize);
            let (ll, w) = f.group(p, logs[t_x], logs[big_t]);
            let rx = p.r + x;
            let d_r = d[0] - (1.0 - w) * logs[big_t] - w * logs[t_x];
            let d_alpha = d[1] - rx * ((1.0 - w) * inverses[big_t] + w * inverses[t_x]);
            let d_a = d[2] + w / p.a;
            let d_b = d[3] - if x > 0.0 { w / (p.b + x - 1.0) } else { 0.0 };
            for (s, v) in sums.iter_mut().zip([ll, d_r, d_alpha, d_a, d_b]) {
                *s += n * v;
            }
        }
        sums
    })
}

fn check_groups(groups: &[CustomerGroup]) -> ModelResult<()> {
    for (i, g) in groups.iter().enumerate() {
        check_observation(Some(i), g.x, g.t_x, g.big_t)?;
        super::check_group_count(i, g.count)?;
    }
    Ok(())
}

/// A maximum-likelihood fit of the BG/NBD model.
pub type BgNbdFit = super::Fit<BgNbdParams>;

/// Fits the model by maximum likelihood on `(ln r, ln α, ln a, ln b)` (so every parameter
/// stays > 0), minimising the mean negative log-likelihood per customer, from
/// `r = α = a = b = 1` (see [`super::fit_on_logs`]; more than [`super::START_GROUPS`] groups
/// start on [`coarsen`]ed ones).
pub fn fit(groups: &[CustomerGroup], options: &super::FitOptions) -> ModelResult<BgNbdFit> {
    check_groups(groups)?;
    let customers: f64 = groups.iter().map(|g| g.count as f64).sum();
    let from_logs = |t: &[f64]| BgNbdParams { r: t[0].exp(), alpha: t[1].exp(), a: t[2].exp(), b: t[3].exp() };
    // As `lifetimes` does, the penalty sees α in a time unit where the oldest customer's age is
    // 10, so the same penalizer gives the same fit whatever the unit.
    let oldest = groups.iter().map(|g| g.big_t).fold(0.0, f64::max);
    let alpha_scale = if oldest > 0.0 { 10.0 / oldest } else { 1.0 };
    let threads = options.threads;
    let exact = IndexedGroups::new(groups);
    let total = |p: &BgNbdParams| p.validate().ok().map(|()| total_ll(p, &exact, threads));
    let gradient = |p: &BgNbdParams| p.validate().ok().map(|()| total_ll_gradient(p, &exact, threads).to_vec());
    let coarse = (groups.len() > super::START_GROUPS).then(|| IndexedGroups::new(&coarsen(groups, super::START_GROUPS)));
    let coarse_total = coarse.as_ref().map(|c| move |p: &BgNbdParams| p.validate().ok().map(|()| total_ll(p, c, threads)));
    let model = super::LogLikelihood {
        n: 4,
        customers,
        from_logs: &from_logs,
        total: &total,
        gradient: &gradient,
        coarse: coarse_total.as_ref().map(|f| f as &dyn Fn(&BgNbdParams) -> Option<f64>),
        penalty_scales: &[1.0, alpha_scale, 1.0, 1.0],
    };
    super::fit_on_logs(&model, options)
}

/// The same customers with `t_x` and `T` rounded to a grid, a quarter of a time unit doubled
/// until at most `limit` groups remain (or every frequency is one group per age): a cheap copy
/// of the data whose fit lies close to the exact one. Sorted by `x`, `t_x`, `T` as the input.
pub fn coarsen(groups: &[CustomerGroup], limit: usize) -> Vec<CustomerGroup> {
    // The number of groups falls about as the square of the step: start near the end.
    let ratio = (groups.len() as f64 / limit.max(1) as f64).sqrt();
    let mut step = 0.25 * 2f64.powi(ratio.log2().floor().max(0.0) as i32);
    loop {
        let merged = round_groups(groups, step);
        let oldest = merged.iter().map(|g| g.big_t).fold(0.0, f64::max);
        if merged.len() <= limit || step > oldest {
            return merged;
        }
        step *= 2.0;
    }
}

/// `groups` with `t_x` and `T` moved to the middle of their interval of width `step`, equal
/// ones merged. Never to 0: a repeat buyer with `t_x = 0` would make the likelihood unbounded as
/// `α` goes to 0. The mapping is monotonic, so `t_x <= T` still holds; `t_x` of `x = 0` is left
/// alone (it is not used).
fn round_groups(groups: &[CustomerGroup], step: f64) -> Vec<CustomerGroup> {
    let cell = |v: f64| (v / step).floor() as u64;
    let centre = |c: u64| (c as f64 + 0.5) * step;
    // Sorted by x (for x >= 0 the bits sort like the values), then the cells.
    let mut cells: Vec<(u64, u64, u64, usize)> =
        groups.iter().enumerate().map(|(i, g)| ((g.x + 0.0).to_bits(), if g.x > 0.0 { cell(g.t_x) } else { u64::MAX }, cell(g.big_t), i)).collect();
    cells.sort_unstable();
    let mut merged: Vec<(u64, u64, CustomerGroup)> = Vec::new();
    for (_, t, big_t, i) in cells {
        let g = groups[i];
        match merged.last_mut() {
            Some((lt, lb, last)) if last.x == g.x && (*lt, *lb) == (t, big_t) => last.count += g.count,
            _ => merged.push((t, big_t, CustomerGroup { t_x: if g.x > 0.0 { centre(t) } else { g.t_x }, big_t: centre(big_t), ..g })),
        }
    }
    merged.into_iter().map(|(_, _, g)| g).collect()
}

/// The probability that a customer with summary `(x, t_x, T)` is still alive at `T`: by
/// Bayes' theorem, the first term of the likelihood (6) (alive at `T`) over the whole,
///
/// `P(alive) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))`,
///
/// evaluated as a logistic function of the log-odds so large exponents do not overflow.
pub fn p_alive(params: &BgNbdParams, x: f64, t_x: f64, big_t: f64) -> ModelResult<f64> {
    params.validate()?;
    check_observation(None, x, t_x, big_t)?;
    if x == 0.0 {
        return Ok(1.0);
    }
    Ok(1.0 / (1.0 + log_dead_odds(params, x, t_x, big_t).exp()))
}

/// `ln(a/(b+x−1)) + (r+x) ln((α+T)/(α+t_x))`, the log odds of having dropped out, for `x > 0`.
fn log_dead_odds(p: &BgNbdParams, x: f64, t_x: f64, big_t: f64) -> f64 {
    (p.a / (p.b + x - 1.0)).ln() + (p.r + x) * ((p.alpha + big_t) / (p.alpha + t_x)).ln()
}

/// The expected number of purchases of a customer with summary `(x, t_x, T)` in the next `t`
/// time units, equation (10):
///
/// `E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1)
///   · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]
///   / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))`.
///
/// Needs `a ≠ 1` (the formula is 0/0 there); close to 1 it loses about `-log10|a−1|` digits.
pub fn conditional_expected_purchases(
    params: &BgNbdParams,
    t: f64,
    x: f64,
    t_x: f64,
    big_t: f64,
) -> ModelResult<f64> {
    params.validate()?;
    check_observation(None, x, t_x, big_t)?;
    let if_alive = expected_purchases_if_alive(params, t, x, big_t)?;
    let alive = if x > 0.0 {
        1.0 / (1.0 + log_dead_odds(params, x, t_x, big_t).exp())
    } else {
        1.0
    };
    finite("conditional expected purchases", if_alive * alive)
}

/// The expected number of purchases in the next `t` time units of a customer with `x` repeat
/// purchases and age `T` who is still alive: [`conditional_expected_purchases`] without the
/// factor `P(alive)`,
///
/// `(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))]`,
///
/// which does not depend on `t_x`, so customers who differ only in recency share it.
pub fn expected_purchases_if_alive(params: &BgNbdParams, t: f64, x: f64, big_t: f64) -> ModelResult<f64> {
    params.validate()?;
    check_observation(None, x, 0.0, big_t)?;
    check_horizon(t)?;
    check_a_not_one(params.a)?;
    let BgNbdParams { r, alpha, a, b } = *params;
    let z = t / (alpha + big_t + t);
    let damped = damped_hyp2f1(r + x, b + x, a + b + x - 1.0, z)?;
    finite("expected purchases if alive", (a + b + x - 1.0) / (a - 1.0) * (1.0 - damped))
}

/// The expected number of purchases in `(0, t]` of a customer picked at random at their first
/// purchase, equation (7):
///
/// `E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))]`.
///
/// Needs `a ≠ 1`, as [`conditional_expected_purchases`].
pub fn expected_purchases(params: &BgNbdParams, t: f64) -> ModelResult<f64> {
    params.validate()?;
    check_horizon(t)?;
    check_a_not_one(params.a)?;
    let BgNbdParams { r, alpha, a, b } = *params;
    let z = t / (alpha + t);
    let damped = damped_hyp2f1(r, b, a + b - 1.0, z)?;
    finite(
        "expected purchases",
        (a + b - 1.0) / (a - 1.0) * (1.0 - damped),
    )
}

/// `(1 − z)^a₁ ₂F₁(a₁, b₁; c; z)` for `0 ≤ z < 1`. When the plain series overflows or does
/// not converge, Euler's transformation `₂F₁(a₁, b₁; c; z) = (1−z)^(c−a₁−b₁) ₂F₁(c−a₁, c−b₁;
/// c; z)` gives the equivalent `(1 − z)^(c−b₁) ₂F₁(c−a₁, c−b₁; c; z)`.
fn damped_hyp2f1(a1: f64, b1: f64, c: f64, z: f64) -> ModelResult<f64> {
    let plain = hyp2f1(a1, b1, c, z).map(|h| (1.0 - z).powf(a1) * h);
    if let Some(v) = plain.filter(|v| v.is_finite()) {
        return Ok(v);
    }
    hyp2f1(c - a1, c - b1, c, z)
        .map(|h| (1.0 - z).powf(c - b1) * h)
        .filter(|v| v.is_finite())
        .ok_or(ModelError::Hypergeometric { a: a1, b: b1, c, z })
}

fn check_horizon(t: f64) -> ModelResult<()> {
    if t.is_finite() && t >= 0.0 {
        Ok(())
    } else {
        Err(ModelError::InvalidArgument {
            name: "t",
            value: t,
            reason: "must be finite and >= 0",
        })
    }
}

fn check_a_not_one(a: f64) -> ModelResult<()> {
    if a == 1.0 {
        Err(ModelError::InvalidParameter {
            name: "a",
            value: a,
            reason: "must differ from 1 here",
        })
    } else {
        Ok(())
    }
}

fn finite(what: &'static str, value: f64) -> ModelResult<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(ModelError::NonFinite(what))
    }
}
