//! A small Nelder-Mead simplex minimiser (Nelder & Mead 1965), with restarts.
//!
//! The model fits have 3 or 4 parameters and a smooth likelihood, where the simplex method is
//! robust and needs no gradient. The classic coefficients are used: reflection 1, expansion 2,
//! contraction 1/2, shrink 1/2. A simplex can collapse before reaching the minimum, so after
//! each run the search restarts from the best point with a fresh simplex; it has converged when
//! a restarted run ends where the previous one did.

/// Settings of [`nelder_mead`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NelderMeadOptions {
    /// Most simplex iterations in total, over all restarts.
    pub max_iterations: usize,
    /// A run stops when the spread of values over the simplex is at most
    /// `f_tolerance * (1 + |f_best|)`...
    pub f_tolerance: f64,
    /// ...and every vertex is within `x_tolerance` (max-norm) of the best one.
    pub x_tolerance: f64,
    /// Edge length of each fresh simplex along every coordinate axis.
    pub initial_step: f64,
    /// Most restarts after the first run.
    pub max_restarts: usize,
}

impl Default for NelderMeadOptions {
    fn default() -> Self {
        Self {
            max_iterations: 20_000,
            f_tolerance: 1e-13,
            x_tolerance: 1e-9,
            initial_step: 0.5,
            max_restarts: 10,
        }
    }
}

/// The outcome of [`nelder_mead`].
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// The best point found.
    pub x: Vec<f64>,
    /// The objective at `x`.
    pub value: f64,
    /// Simplex iterations used, over all restarts.
    pub iterations: usize,
    /// Whether the tolerances were met and a restart confirmed the point before
    /// `max_iterations` ran out.
    pub converged: bool,
}

/// Why [`nelder_mead`] could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptimizeError {
    #[error("the starting point is empty")]
    EmptyStart,
    #[error("the objective is not finite at the starting point")]
    NonFiniteStart,
    #[error("invalid options: {0}")]
    InvalidOptions(&'static str),
}

/// Minimises `f` from `x0` by Nelder-Mead with restarts.
///
/// A non-finite value of `f` (NaN or ±∞ outside the domain) is treated as +∞, so the simplex
/// moves away from it; `f(x0)` itself must be finite.
pub fn nelder_mead<F>(
    mut f: F,
    x0: &[f64],
    options: &NelderMeadOptions,
) -> Result<Minimum, OptimizeError>
where
    F: FnMut(&[f64]) -> f64,
{
    if x0.is_empty() {
        return Err(OptimizeError::EmptyStart);
    }
    let valid = |v: f64| v.is_finite() && v > 0.0;
    if !(valid(options.f_tolerance) && valid(options.x_tolerance) && valid(options.initial_step)) {
        return Err(OptimizeError::InvalidOptions(
            "tolerances and step must be finite and > 0",
        ));
    }
    let start_value = f(x0);
    if !start_value.is_finite() {
        return Err(OptimizeError::NonFiniteStart);
    }
    let mut best = (x0.to_vec(), start_value);
    let mut iterations = 0;
    let mut converged = false;
    for restart in 0..=options.max_restarts {
        let budget = options.max_iterations.saturating_sub(iterations);
        let run = run_simplex(&mut f, &best.0, options, budget);
        iterations += run.iterations;
        let (x, value) = (run.x, run.value);
        let moved = x
            .iter()
            .zip(&best.0)
            .any(|(a, b)| (a - b).abs() > options.x_tolerance);
        let improved = best.1 - value > options.f_tolerance * (1.0 + value.abs());
        if value <= best.1 {
            best = (x, value);
        }
        if !run.converged {
            break;
        }
        if restart > 0 && !moved && !improved {
            converged = true;
            break;
        }
    }
    Ok(Minimum {
        x: best.0,
        value: best.1,
        iterations,
        converged,
    })
}

/// One Nelder-Mead run from a fresh simplex around `x0`, for at most `budget` iterations.
fn run_simplex<F>(f: &mut F, x0: &[f64], options: &NelderMeadOptions, budget: usize) -> Minimum
where
    F: FnMut(&[f64]) -> f64,
{
    let n = x0.len();
    let mut eval = |x: &[f64]| {
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let mut simplex: Vec<(Vec<f64>, f64)> = Vec::with_capacity(n + 1);
    simplex.push((x0.to_vec(), eval(x0)));
    for i in 0..n {
        let mut x = x0.to_vec();
        x[i] += options.initial_step;
        let v = eval(&x);
        simplex.push((x, v));
    }
    let mut iterations = 0;
    let mut converged = false;
    loop {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if has_converged(&simplex, options) {
            converged = true;
            break;
        }
        if iterations >= budget {
            break;
        }
        iterations += 1;
        step(&mut simplex, &mut eval);
    }
    let (x, value) = simplex.swap_remove(0);
    Minimum {
        x,
        value,
        iterations,
        converged,
    }
}

/// The stopping test of one run on a sorted simplex.
fn has_converged(simplex: &[(Vec<f64>, f64)], options: &NelderMeadOptions) -> bool {
    let (best, f_best) = (&simplex[0].0, simplex[0].1);
    let f_worst = simplex[simplex.len() - 1].1;
    let f_ok = f_worst - f_best <= options.f_tolerance * (1.0 + f_best.abs());
    let x_ok = simplex[1..].iter().all(|(x, _)| {
        x.iter()
            .zip(best)
            .all(|(a, b)| (a - b).abs() <= options.x_tolerance)
    });
    f_ok && x_ok
}

/// One Nelder-Mead iteration on a simplex sorted by value (best first).
fn step<E>(simplex: &mut [(Vec<f64>, f64)], eval: &mut E)
where
    E: FnMut(&[f64]) -> f64,
{
    let n = simplex.len() - 1;
    let mut centroid = vec![0.0; n];
    for (x, _) in &simplex[..n] {
        for (c, xi) in centroid.iter_mut().zip(x) {
            *c += xi / n as f64;
        }
    }
    // Point centroid + t (centroid − worst).
    let along = |t: f64, worst: &[f64]| -> Vec<f64> {
        centroid
            .iter()
            .zip(worst)
            .map(|(c, w)| c + t * (c - w))
            .collect()
    };
    let worst = simplex[n].0.clone();
    let (f_best, f_second, f_worst) = (simplex[0].1, simplex[n - 1].1, simplex[n].1);
    let reflected = along(1.0, &worst);
    let f_reflected = eval(&reflected);
    if f_reflected < f_best {
        let expanded = along(2.0, &worst);
        let f_expanded = eval(&expanded);
        simplex[n] = if f_expanded < f_reflected {
            (expanded, f_expanded)
        } else {
            (reflected, f_reflected)
        };
        return;
    }
    if f_reflected < f_second {
        simplex[n] = (reflected, f_reflected);
        return;
    }
    // Contract: outside when the reflection beat the worst vertex, inside otherwise.
    let (contracted, bar) = if f_reflected < f_worst {
        (along(0.5, &worst), f_reflected)
    } else {
        (along(-0.5, &worst), f_worst)
    };
    let f_contracted = eval(&contracted);
    let accept = if f_reflected < f_worst {
        f_contracted <= bar
    } else {
        f_contracted < bar
    };
    if accept {
        simplex[n] = (contracted, f_contracted);
        return;
    }
    // Shrink every vertex halfway towards the best one.
    let best = simplex[0].0.clone();
    for vertex in simplex[1..].iter_mut() {
        let x: Vec<f64> = vertex
            .0
            .iter()
            .zip(&best)
            .map(|(v, b)| b + 0.5 * (v - b))
            .collect();
        let v = eval(&x);
        *vertex = (x, v);
    }
}

/// Settings of [`newton`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NewtonOptions {
    /// Most Newton iterations.
    pub max_iterations: usize,
    /// Converged when a full Newton step (positive definite Hessian, no damping) moves every
    /// coordinate by at most this much.
    pub x_tolerance: f64,
    /// Step of the forward differences of the gradient that make the Hessian.
    pub hessian_step: f64,
}

impl Default for NewtonOptions {
    fn default() -> Self {
        Self { max_iterations: 100, x_tolerance: 1e-10, hessian_step: 1e-6 }
    }
}

/// Minimises `f` from `x0` by Newton's method, where `f` gives the value and the gradient
/// (`None` outside the domain). The Hessian is the forward difference of the gradient; where it
/// is not positive definite it is damped (Levenberg-Marquardt) until it is. Each step is
/// halved until the value drops (Armijo), with an allowance of a few rounding errors of the
/// value, which near the minimum changes by less than its own precision. Converged when an
/// undamped full step is at most `x_tolerance` long: the minimum is then known to about that.
pub fn newton<F>(mut f: F, x0: &[f64], options: &NewtonOptions) -> Result<Minimum, OptimizeError>
where
    F: FnMut(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    if x0.is_empty() {
        return Err(OptimizeError::EmptyStart);
    }
    let mut eval = |x: &[f64]| f(x).filter(|(v, g)| v.is_finite() && g.len() == x.len() && g.iter().all(|d| d.is_finite()));
    let (mut fx, mut g) = eval(x0).ok_or(OptimizeError::NonFiniteStart)?;
    let mut x = x0.to_vec();
    let mut iterations = 0;
    while iterations < options.max_iterations {
        iterations += 1;
        let Some(hessian) = difference_hessian(&mut eval, &x, &g, options.hessian_step) else { break };
        let (step, damped) = damped_newton_step(&hessian, &g);
        let length = step.iter().fold(0.0_f64, |m, s| m.max(s.abs()));
        if !damped && length <= options.x_tolerance {
            return Ok(Minimum { x, value: fx, iterations, converged: true });
        }
        let Some((xn, fxn, gn)) = line_search(&mut eval, &x, fx, &g, &step) else { break };
        (x, fx, g) = (xn, fxn, gn);
    }
    Ok(Minimum { x, value: fx, iterations, converged: false })
}

/// `H[i][j] = (g_i(x + h e_j) − g_i(x)) / h`, made symmetric; `None` where a gradient is not
/// available.
fn difference_hessian<E>(eval: &mut E, x: &[f64], g: &[f64], h: f64) -> Option<Vec<Vec<f64>>>
where
    E: FnMut(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    let n = x.len();
    let mut columns = Vec::with_capacity(n);
    for j in 0..n {
        let mut xj = x.to_vec();
        xj[j] += h;
        let (_, gj) = eval(&xj)?;
        columns.push(gj.iter().zip(g).map(|(a, b)| (a - b) / h).collect::<Vec<f64>>());
    }
    Some((0..n).map(|i| (0..n).map(|j| 0.5 * (columns[j][i] + columns[i][j])).collect()).collect())
}

/// The step `−(H + λI)⁻¹ g` with the smallest `λ ≥ 0` (0, then growing tenfold from 1e-8 times
/// the largest diagonal entry) that makes `H + λI` positive definite, and whether `λ > 0`.
fn damped_newton_step(hessian: &[Vec<f64>], g: &[f64]) -> (Vec<f64>, bool) {
    let scale = hessian.iter().enumerate().fold(1e-300_f64, |m, (i, row)| m.max(row[i].abs()));
    let mut lambda = 0.0;
    loop {
        let mut h = hessian.to_vec();
        for (i, row) in h.iter_mut().enumerate() {
            row[i] += lambda;
        }
        if let Some(step) = cholesky_solve(&h, g) {
            return (step.iter().map(|s| -s).collect(), lambda > 0.0);
        }
        lambda = if lambda == 0.0 { 1e-8 * scale } else { lambda * 10.0 };
        if !lambda.is_finite() {
            // Only a non-finite Hessian gets here: step down the gradient instead.
            return (g.iter().map(|d| -d / scale.max(1.0)).collect(), true);
        }
    }
}

/// Solves `A y = b` for a symmetric positive definite `A` by Cholesky (`None` otherwise).
fn cholesky_solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    for i in (0..n).rev() {
        y[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * y[k]).sum::<f64>()) / l[i][i];
    }
    Some(y)
}

/// `x + t · step` for the largest `t` in 1, 1/2, 1/4, ... (at most 40 halvings) where the
/// value drops by at least 1e-4 of the linear prediction, up to rounding noise of the value.
fn line_search<E>(eval: &mut E, x: &[f64], fx: f64, g: &[f64], step: &[f64]) -> Option<(Vec<f64>, f64, Vec<f64>)>
where
    E: FnMut(&[f64]) -> Option<(f64, Vec<f64>)>,
{
    let slope: f64 = g.iter().zip(step).map(|(a, b)| a * b).sum();
    let noise = 1e-14 * (1.0 + fx.abs());
    let mut t = 1.0;
    for _ in 0..40 {
        let xn: Vec<f64> = x.iter().zip(step).map(|(a, s)| a + t * s).collect();
        if let Some((fxn, gn)) = eval(&xn) {
            if fxn <= fx + 1e-4 * t * slope.min(0.0) + noise {
                return Some((xn, fxn, gn));
            }
        }
        t *= 0.5;
    }
    None
}
