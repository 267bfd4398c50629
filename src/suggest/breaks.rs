//! Natural breaks: the exact 1-D optimal k-means (Fisher's dynamic programme, what Jenks
//! natural breaks approximate) on sorted, weighted bins, and the round threshold to write
//! between two classes.

/// Adjacent distinct values of a feature taken together: the unit the breaks never split.
/// Without binning each bin is one distinct value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bin {
    pub min: f64,
    pub max: f64,
    /// Customers whose value falls in the bin.
    pub count: u64,
    /// The sum of their values.
    pub sum: f64,
}

/// The first bin of each class after the first, for `classes` classes over `bins` (sorted by
/// value) that minimise the within-class sum of squared deviations; fewer classes when there
/// are fewer bins. Each bin counts as `count` customers at its mean value: a bin's own spread
/// is the same for every partition that keeps it whole, so the optimum over the cuts between
/// bins is exact. Cost O(classes · bins²): callers bound the bins.
pub fn natural_breaks(bins: &[Bin], classes: usize) -> Vec<usize> {
    let n = bins.len();
    let k = classes.min(n);
    if k < 2 {
        return Vec::new();
    }
    let sse = ClassCost::new(bins);
    // cost[j]: the best cost of the first j + 1 bins in the current number of classes;
    // start[c][j]: where the last of c + 1 classes over them starts.
    let mut cost: Vec<f64> = (0..n).map(|j| sse.of(0, j)).collect();
    let mut start = vec![vec![0usize; n]];
    for c in 1..k {
        let mut next = vec![f64::INFINITY; n];
        let mut from = vec![0usize; n];
        for j in c..n {
            for i in c..=j {
                let candidate = cost[i - 1] + sse.of(i, j);
                if candidate < next[j] {
                    next[j] = candidate;
                    from[j] = i;
                }
            }
        }
        cost = next;
        start.push(from);
    }
    let mut cuts = Vec::with_capacity(k - 1);
    let mut end = n - 1;
    for c in (1..k).rev() {
        let i = start[c][end];
        cuts.push(i);
        end = i - 1;
    }
    cuts.reverse();
    cuts
}

/// Within-class sums of squares from prefix sums (values centred on the overall mean, so the
/// squares of large values do not swamp the differences).
struct ClassCost {
    weight: Vec<f64>,
    sum: Vec<f64>,
    squares: Vec<f64>,
}

impl ClassCost {
    fn new(bins: &[Bin]) -> ClassCost {
        let total: f64 = bins.iter().map(|b| b.count as f64).sum();
        let centre = bins.iter().map(|b| b.sum).sum::<f64>() / total.max(1.0);
        let mut c = ClassCost { weight: vec![0.0], sum: vec![0.0], squares: vec![0.0] };
        for b in bins {
            let w = b.count as f64;
            let x = if b.count == 0 { 0.0 } else { b.sum / w - centre };
            c.weight.push(c.weight[c.weight.len() - 1] + w);
            c.sum.push(c.sum[c.sum.len() - 1] + w * x);
            c.squares.push(c.squares[c.squares.len() - 1] + w * x * x);
        }
        c
    }

    /// The cost of one class of bins `i..=j`.
    fn of(&self, i: usize, j: usize) -> f64 {
        let w = self.weight[j + 1] - self.weight[i];
        if w <= 0.0 {
            return 0.0;
        }
        let s = self.sum[j + 1] - self.sum[i];
        (self.squares[j + 1] - self.squares[i] - s * s / w).max(0.0)
    }
}

/// The roundest number in `(below, above]`: a multiple of the largest power of ten that has
/// one there, the one nearest the middle. `value >= threshold` then splits the customers
/// exactly where the classes split (nobody has a value strictly between `below` and `above`).
pub fn round_threshold(below: f64, above: f64) -> f64 {
    if below >= above || !below.is_finite() || !above.is_finite() {
        return above;
    }
    let middle = below / 2.0 + above / 2.0;
    // From the power of ten just above both values (whose only multiple within reach is 0) down.
    let top = below.abs().max(above.abs()).log10().floor() as i32 + 1;
    for exponent in (MIN_EXPONENT..=top.max(MIN_EXPONENT)).rev() {
        let step = 10f64.powi(exponent);
        let (first, last) = ((below / step).floor() + 1.0, (above / step).floor());
        if first > last {
            continue;
        }
        let multiple = (middle / step).round().clamp(first, last);
        let value = decimal(multiple, exponent);
        if value > below && value <= above {
            return value;
        }
    }
    above
}

/// Thresholds are never finer than this power of ten (beyond it, the class's own first value).
const MIN_EXPONENT: i32 = -9;

/// `multiple · 10^exponent` without the binary noise of the product (0.30000000000000004).
fn decimal(multiple: f64, exponent: i32) -> f64 {
    if exponent >= 0 {
        return multiple * 10f64.powi(exponent);
    }
    let places = exponent.unsigned_abs() as usize;
    format!("{:.places$}", multiple / 10f64.powi(-exponent)).parse().unwrap_or(multiple / 10f64.powi(-exponent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins(values: &[f64]) -> Vec<Bin> {
        values.iter().map(|&v| Bin { min: v, max: v, count: 1, sum: v }).collect()
    }

    /// Every way to cut `n` bins into `k` classes, for checking the programme by brute force.
    fn all_cuts(n: usize, k: usize) -> Vec<Vec<usize>> {
        if k == 1 {
            return vec![Vec::new()];
        }
        let mut out = Vec::new();
        for first in 1..n {
            for rest in all_cuts(n - first, k - 1) {
                let mut cuts = vec![first];
                cuts.extend(rest.iter().map(|c| c + first));
                out.push(cuts);
            }
        }
        out
    }

    fn total_cost(bins: &[Bin], cuts: &[usize]) -> f64 {
        let sse = ClassCost::new(bins);
        let mut bounds = vec![0];
        bounds.extend_from_slice(cuts);
        bounds.push(bins.len());
        bounds.windows(2).map(|w| sse.of(w[0], w[1] - 1)).sum()
    }

    #[test]
    fn three_clusters_split_between_them() {
        let b = bins(&[9.0, 10.0, 11.0, 98.0, 100.0, 102.0, 990.0, 1000.0, 1010.0]);
        assert_eq!(natural_breaks(&b, 3), vec![3, 6]);
    }

    #[test]
    fn counts_weigh_the_bins() {
        // 1 and 2 alone would split from 10 and 11; ten customers at 2 pull 1 into their class.
        let mut b = bins(&[1.0, 2.0, 10.0, 11.0]);
        assert_eq!(natural_breaks(&b, 2), vec![2]);
        b[1] = Bin { min: 2.0, max: 2.0, count: 10, sum: 20.0 };
        b[0] = Bin { min: 1.0, max: 1.0, count: 1, sum: 1.0 };
        assert_eq!(natural_breaks(&b, 3), vec![1, 2]);
    }

    #[test]
    fn the_programme_finds_the_brute_force_optimum() {
        let values = [3.0, 4.5, 5.0, 9.0, 9.5, 13.0, 20.0, 21.0, 22.5, 40.0];
        let b: Vec<Bin> = values.iter().enumerate().map(|(i, &v)| Bin { min: v, max: v, count: 1 + (i as u64 % 3), sum: v * (1 + (i as u64 % 3)) as f64 }).collect();
        for k in 2..=5 {
            let best = all_cuts(b.len(), k).into_iter().map(|c| total_cost(&b, &c)).fold(f64::INFINITY, f64::min);
            let found = natural_breaks(&b, k);
            assert_eq!(found.len(), k - 1);
            assert!((total_cost(&b, &found) - best).abs() < 1e-9, "k = {k}: {found:?}");
        }
    }

    #[test]
    fn fewer_bins_than_classes_gives_a_class_each() {
        assert_eq!(natural_breaks(&bins(&[1.0, 2.0]), 5), vec![1]);
        assert_eq!(natural_breaks(&bins(&[1.0]), 3), Vec::<usize>::new());
        assert_eq!(natural_breaks(&[], 3), Vec::<usize>::new());
    }

    #[test]
    fn thresholds_are_round_numbers_between_the_classes() {
        assert_eq!(round_threshold(12.0, 90.0), 50.0);
        assert_eq!(round_threshold(110.0, 900.0), 500.0);
        assert_eq!(round_threshold(1100.0, 1200.0), 1200.0);
        assert_eq!(round_threshold(0.21, 0.35), 0.3);
        assert_eq!(round_threshold(-40.0, -3.0), -20.0);
        assert_eq!(round_threshold(999.99, 1000.0), 1000.0);
        assert_eq!(round_threshold(5.0, 5.0), 5.0);
    }
}
