//! Which overlaps are worth a manager's look. Most pairs of a large library say nothing: a
//! segment with itself, a segment inside another (`vip_loyal` inside `loyal`), or bins of one
//! attribute that never share a customer, two large segments sharing customers by chance alone.
//! The heat map keeps the segments whose audiences go together more than chance says.

use super::analysis::Overlap;
use serde::Serialize;

/// A pair is nested when at least this share of the smaller segment is in the larger one.
pub const NESTED_SHARE: f64 = 0.95;

/// The segments of the heat map and every overlapping pair among them.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct OverlapMap {
    /// In the order they were picked (most similar pair first).
    pub segments: Vec<String>,
    /// Pairs among `segments` sharing at least one customer (nested ones included, flagged by
    /// [`is_nested`]); pairs not listed share no customer.
    pub pairs: Vec<Overlap>,
    /// Overlapping pairs of the whole library, and how many of them are nested.
    pub all_pairs: usize,
    pub nested_pairs: usize,
}

/// Whether one segment (nearly) contains the other.
pub fn is_nested(o: &Overlap) -> bool {
    o.share_of_smaller >= NESTED_SHARE
}

/// The rule: walk the pairs that are not nested, the most correlated first (phi over all
/// customers, so two large segments that share customers only by chance rank low), and take
/// both segments of each until `limit` segments are picked.
pub fn informative(pairs: &[Overlap], limit: usize) -> OverlapMap {
    let mut candidates: Vec<&Overlap> = pairs.iter().filter(|o| !is_nested(o)).collect();
    candidates.sort_by(|x, y| y.correlation.total_cmp(&x.correlation).then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b))));
    let mut segments: Vec<String> = Vec::new();
    for o in candidates {
        for name in [&o.a, &o.b] {
            if segments.len() < limit && !segments.contains(name) {
                segments.push(name.clone());
            }
        }
        if segments.len() >= limit {
            break;
        }
    }
    let chosen: Vec<Overlap> = pairs.iter().filter(|o| segments.contains(&o.a) && segments.contains(&o.b)).cloned().collect();
    OverlapMap { segments, pairs: chosen, all_pairs: pairs.len(), nested_pairs: pairs.iter().filter(|o| is_nested(o)).count() }
}

/// The informative pairs of the map, the most correlated first.
pub fn similar_pairs(map: &OverlapMap) -> Vec<&Overlap> {
    let mut v: Vec<&Overlap> = map.pairs.iter().filter(|o| !is_nested(o)).collect();
    v.sort_by(|x, y| y.correlation.total_cmp(&x.correlation).then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b))));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(a: &str, b: &str, both: i64, smaller: f64, correlation: f64) -> Overlap {
        Overlap { a: a.into(), b: b.into(), both, share_of_smaller: smaller, correlation }
    }

    #[test]
    fn nested_pairs_pick_no_segment_and_the_most_similar_come_first() {
        let pairs = vec![pair("a", "b", 50, 1.0, 0.5), pair("c", "d", 10, 0.5, 0.3), pair("a", "e", 5, 0.2, 0.1), pair("d", "e", 4, 0.4, 0.2)];
        let map = informative(&pairs, 3);
        assert_eq!(map.segments, vec!["c", "d", "e"]);
        assert_eq!((map.all_pairs, map.nested_pairs), (4, 1));
        assert_eq!(similar_pairs(&map).iter().map(|o| (o.a.as_str(), o.b.as_str())).collect::<Vec<_>>(), vec![("c", "d"), ("d", "e")]);
    }
}
