//! Probabilistic customer-base models, as pure math on a per-customer summary.
//!
//! - [`bgnbd`]: the BG/NBD model of Fader, Hardie & Lee (2005), "Counting your customers the
//!   easy way: an alternative to the Pareto/NBD model": how many repeat purchases a customer
//!   makes and whether the customer is still "alive", from frequency `x`, recency `t_x` and age `T`.
//! - [`gamma_gamma`]: the Gamma-Gamma model of monetary value (Fader & Hardie 2013, "The
//!   Gamma-Gamma Model of Monetary Value"): the expected average transaction value of a repeat
//!   buyer from `x` and the mean repeat-purchase value `m_x`.
//! - [`optimize`]: a small Nelder-Mead minimiser and a Newton method, which fit both by
//!   maximum likelihood.
//! - [`parallel`]: sums over the groups of customers on all cores, the same on any number.
//! - [`special`]: `ln Γ`, digamma and the Gauss hypergeometric function `₂F₁`.
//!
//! Nothing here does I/O; every function that depends on data or parameters returns a
//! [`Result`] with a [`ModelError`] saying what was wrong.

pub mod bgnbd;
pub mod columns;
pub mod gamma_gamma;
pub mod optimize;
pub mod parallel;
pub mod special;

pub use columns::{columns, ModelColumn, Prediction};

#[cfg(test)]
mod tests;

/// Why a model computation could not be done.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// A model parameter is out of its domain (all must be finite and > 0, some more).
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        name: &'static str,
        value: f64,
        reason: &'static str,
    },
    /// A customer summary row is not a valid observation for the model.
    #[error("invalid observation{}: {reason}", index.map(|i| format!(" at row {i}")).unwrap_or_default())]
    InvalidObservation {
        index: Option<usize>,
        reason: String,
    },
    /// A fit was asked for on no observations.
    #[error("no observations to fit the model on")]
    NoData,
    /// The hypergeometric series needed by a prediction did not converge.
    #[error("the hypergeometric series 2F1({a}, {b}; {c}; {z}) did not converge")]
    Hypergeometric { a: f64, b: f64, c: f64, z: f64 },
    /// A horizon or other argument is out of its domain.
    #[error("invalid argument {name} = {value}: {reason}")]
    InvalidArgument {
        name: &'static str,
        value: f64,
        reason: &'static str,
    },
    /// The optimiser could not run (for example the likelihood is not finite at the start).
    #[error("optimisation failed: {0}")]
    Optimize(#[from] optimize::OptimizeError),
    /// A result came out non-finite (overflow), so it is not returned.
    #[error("{0} is not finite for these inputs")]
    NonFinite(&'static str),
}

/// Result of a model computation.
pub type ModelResult<T> = std::result::Result<T, ModelError>;

/// Checks that `value` is finite and strictly positive.
pub(crate) fn positive(name: &'static str, value: f64) -> ModelResult<f64> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(ModelError::InvalidParameter {
            name,
            value,
            reason: "must be finite and > 0",
        })
    }
}

/// Checks that a group of identical observations has at least one customer.
pub(crate) fn check_group_count(index: usize, count: u64) -> ModelResult<()> {
    if count == 0 {
        return Err(ModelError::InvalidObservation { index: Some(index), reason: "group count must be > 0".to_string() });
    }
    Ok(())
}

/// Checks that a repeat-purchase count is a finite, non-negative whole number.
pub(crate) fn check_count(index: Option<usize>, x: f64) -> ModelResult<()> {
    if x.is_finite() && x >= 0.0 && x.fract() == 0.0 {
        Ok(())
    } else {
        Err(ModelError::InvalidObservation {
            index,
            reason: format!("frequency x = {x} must be a non-negative whole number"),
        })
    }
}

/// A maximum-likelihood fit of a model with parameters `P`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit<P> {
    pub params: P,
    /// The total log-likelihood at `params`.
    pub log_likelihood: f64,
    /// Optimiser iterations used: Nelder-Mead's for the start, then Newton's.
    pub iterations: usize,
    /// Whether the optimisers met their tolerances (see [`optimize::NelderMeadOptions`] and
    /// [`optimize::NewtonOptions`]).
    pub converged: bool,
}

/// How a model is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FitOptions {
    pub search: optimize::NelderMeadOptions,
    /// L2 penalty on the parameters: `penalizer · Σ θ²` is added to the mean negative
    /// log-likelihood, as `penalizer_coef` in the Python `lifetimes` package. 0 (the default) is
    /// plain maximum likelihood; a small value such as 0.001 keeps a fit finite where the
    /// likelihood's maximum lies at the edge of the parameter space (for example data with
    /// hardly any dropout, where `a/(a+b)` goes to 0).
    pub penalizer: f64,
    /// Threads that sum the likelihood (0, the default: one per core). The fit is the same
    /// whatever the number (see [`parallel`]).
    pub threads: usize,
}

/// Most groups of customers the starting fit of [`fit_on_logs`] runs on; models with more fit
/// a coarsened copy of their data first.
pub const START_GROUPS: usize = 4096;

/// What [`fit_on_logs`] fits: a model with `n` parameters, all > 0, on `customers` customers.
pub(crate) struct LogLikelihood<'a, P> {
    pub n: usize,
    pub customers: f64,
    /// The parameters from their logs.
    pub from_logs: &'a dyn Fn(&[f64]) -> P,
    /// The total log-likelihood, `None` where the parameters are out of the model's domain.
    pub total: &'a dyn Fn(&P) -> Option<f64>,
    /// The total log-likelihood and its derivatives in the parameters (not their logs), `n + 1`
    /// numbers, `None` out of the domain.
    pub gradient: &'a dyn Fn(&P) -> Option<Vec<f64>>,
    /// The total log-likelihood of a coarsened copy of the data with the same customers, to
    /// find a start cheaply (`None`: the data is small, start on it).
    pub coarse: Option<&'a dyn Fn(&P) -> Option<f64>>,
    /// Each parameter's factor in the penalty (see [`FitOptions::penalizer`]).
    pub penalty_scales: &'a [f64],
}

/// Maximum likelihood on the logs of the parameters (so every parameter stays > 0),
/// minimising the mean negative log-likelihood per customer plus the penalty of
/// [`FitOptions::penalizer`] on the parameters each multiplied by its `penalty_scales` entry.
///
/// Nelder-Mead from every parameter equal to 1 finds the start, on the coarsened data where the
/// model has it (a few thousand groups instead of hundreds of thousands); Newton's method with
/// the analytic gradient then polishes it on the exact data in a few passes over it. Should
/// Newton not converge, Nelder-Mead continues on the exact data, as a slower fallback.
pub(crate) fn fit_on_logs<P>(model: &LogLikelihood<'_, P>, options: &FitOptions) -> ModelResult<Fit<P>> {
    if model.customers == 0.0 {
        return Err(ModelError::NoData);
    }
    if !(options.penalizer.is_finite() && options.penalizer >= 0.0) {
        return Err(optimize::OptimizeError::InvalidOptions("the penalizer must be finite and >= 0").into());
    }
    let objective = |total: &dyn Fn(&P) -> Option<f64>, t: &[f64]| total(&(model.from_logs)(t)).map_or(f64::INFINITY, |ll| -ll / model.customers + penalty(model, options, t));
    let start_search = match model.coarse {
        // The coarse fit only needs to land near the minimum.
        Some(_) => optimize::NelderMeadOptions { f_tolerance: options.search.f_tolerance.max(1e-10), x_tolerance: options.search.x_tolerance.max(1e-6), ..options.search },
        None => options.search,
    };
    let start = optimize::nelder_mead(|t| objective(model.coarse.unwrap_or(model.total), t), &vec![0.0; model.n], &start_search)?;
    let finish = |x: &[f64], iterations: usize, converged: bool| {
        let params = (model.from_logs)(x);
        let log_likelihood = (model.total)(&params).ok_or(ModelError::NonFinite("the fitted parameters"))?;
        Ok(Fit { params, log_likelihood, iterations, converged })
    };
    tracing::debug!(coarse = model.coarse.is_some(), iterations = start.iterations, converged = start.converged, x = ?start.x, "model fit: start");
    if !start.converged {
        return finish(&start.x, start.iterations, false);
    }
    let polish = optimize::newton(|t| objective_gradient(model, options, t), &start.x, &optimize::NewtonOptions::default());
    tracing::debug!(?polish, "model fit: Newton");
    match polish {
        Ok(m) if m.converged => finish(&m.x, start.iterations + m.iterations, true),
        _ => {
            let search = optimize::nelder_mead(|t| objective(model.total, t), &start.x, &options.search)?;
            finish(&search.x, start.iterations + search.iterations, search.converged)
        }
    }
}

/// `penalizer · Σ (e^θᵢ sᵢ)²` at the logs `t`.
fn penalty<P>(model: &LogLikelihood<'_, P>, options: &FitOptions, t: &[f64]) -> f64 {
    options.penalizer * t.iter().zip(model.penalty_scales).map(|(l, s)| (l.exp() * s).powi(2)).sum::<f64>()
}

/// The objective of [`fit_on_logs`] and its gradient in the logs `t`: a parameter `e^θ`
/// contributes `e^θ ∂/∂e^θ` to the derivative in `θ`.
fn objective_gradient<P>(model: &LogLikelihood<'_, P>, options: &FitOptions, t: &[f64]) -> Option<(f64, Vec<f64>)> {
    let d = (model.gradient)(&(model.from_logs)(t))?;
    let value = -d[0] / model.customers + penalty(model, options, t);
    let gradient = t
        .iter()
        .zip(&d[1..])
        .zip(model.penalty_scales)
        .map(|((l, dp), s)| -dp * l.exp() / model.customers + 2.0 * options.penalizer * (l.exp() * s).powi(2))
        .collect();
    Some((value, gradient))
}
