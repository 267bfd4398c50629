//! Probabilistic customer-base models, as pure math on a per-customer summary.
//!
//! - [`bgnbd`]: the BG/NBD model of Fader, Hardie & Lee (2005), "Counting your customers the
//!   easy way: an alternative to the Pareto/NBD model": how many repeat purchases a customer
//!   makes and whether the customer is still "alive", from frequency `x`, recency `t_x` and age `T`.
//! - [`gamma_gamma`]: the Gamma-Gamma model of monetary value (Fader & Hardie 2013, "The
//!   Gamma-Gamma Model of Monetary Value"): the expected average transaction value of a repeat
//!   buyer from `x` and the mean repeat-purchase value `m_x`.
//! - [`optimize`]: a small Nelder-Mead minimiser used to fit both by maximum likelihood.
//! - [`special`]: `ln Γ` and the Gauss hypergeometric function `₂F₁`.
//!
//! Nothing here does I/O; every function that depends on data or parameters returns a
//! [`Result`] with a [`ModelError`] saying what was wrong.

pub mod bgnbd;
pub mod columns;
pub mod gamma_gamma;
pub mod optimize;
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
    /// Nelder-Mead iterations used.
    pub iterations: usize,
    /// Whether the optimiser met its tolerances (see [`optimize::NelderMeadOptions`]).
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
}

/// Maximum likelihood by Nelder-Mead on the logs of the `n` parameters (so every parameter
/// stays > 0), minimising the mean negative log-likelihood per customer (plus the penalty of
/// [`FitOptions::penalizer`] on the parameters each multiplied by its `penalty_scales` entry),
/// from every parameter equal to 1. `total_ll` is `None` where the parameters are out of the
/// model's domain.
pub(crate) fn fit_on_logs<P>(
    n: usize,
    customers: f64,
    from_logs: impl Fn(&[f64]) -> P,
    total_ll: impl Fn(&P) -> Option<f64>,
    options: &FitOptions,
    penalty_scales: &[f64],
) -> ModelResult<Fit<P>> {
    if customers == 0.0 {
        return Err(ModelError::NoData);
    }
    if !(options.penalizer.is_finite() && options.penalizer >= 0.0) {
        return Err(optimize::OptimizeError::InvalidOptions("the penalizer must be finite and >= 0").into());
    }
    let penalty = |t: &[f64]| options.penalizer * t.iter().zip(penalty_scales).map(|(l, s)| (l.exp() * s).powi(2)).sum::<f64>();
    let objective = |t: &[f64]| total_ll(&from_logs(t)).map_or(f64::INFINITY, |ll| -ll / customers + penalty(t));
    let minimum = optimize::nelder_mead(objective, &vec![0.0; n], &options.search)?;
    let params = from_logs(&minimum.x);
    let log_likelihood = total_ll(&params).ok_or(ModelError::NonFinite("the fitted parameters"))?;
    Ok(Fit { params, log_likelihood, iterations: minimum.iterations, converged: minimum.converged })
}
