//! Balancing tests across shards by recorded duration.

/// Splits tests into `shards` groups of near-equal total duration with the
/// longest-processing-time-first heuristic: sort by duration, descending,
/// and give each test to the currently lightest shard. Its makespan is at
/// most 4/3 of the optimum and, with many small tests, very close to the
/// mean. Ties are broken by id so the plan is deterministic.
///
/// Non-finite or negative durations count as zero. `shards == 0` is treated
/// as one shard.
pub fn balance_shards<I: Clone + Ord>(durations: &[(I, f64)], shards: usize) -> Vec<Vec<I>> {
    let shards = shards.max(1);
    let mut order: Vec<(&I, f64)> = durations
        .iter()
        .map(|(id, d)| (id, if d.is_finite() && *d > 0.0 { *d } else { 0.0 }))
        .collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut loads = vec![0.0f64; shards];
    let mut out: Vec<Vec<I>> = vec![Vec::new(); shards];
    for (id, duration) in order {
        // Lightest shard; the lowest index wins a tie.
        let lightest = loads
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        if let (Some(load), Some(bucket)) = (loads.get_mut(lightest), out.get_mut(lightest)) {
            *load += duration;
            bucket.push(id.clone());
        }
    }
    out
}

/// Shards a list of tests when only some have recorded durations: a test
/// without history is assumed to take the median recorded duration (or
/// `fallback_s` when nothing is recorded), so new tests spread evenly
/// instead of piling onto one shard.
pub fn balance_with_history(
    tests: &[String],
    recorded: &std::collections::HashMap<String, f64>,
    shards: usize,
    fallback_s: f64,
) -> Vec<Vec<String>> {
    let mut known: Vec<f64> = tests
        .iter()
        .filter_map(|t| recorded.get(t).copied())
        .filter(|d| d.is_finite() && *d >= 0.0)
        .collect();
    known.sort_by(f64::total_cmp);
    let median = known.get(known.len() / 2).copied().unwrap_or(fallback_s);
    let durations: Vec<(String, f64)> = tests
        .iter()
        .map(|t| (t.clone(), recorded.get(t).copied().unwrap_or(median)))
        .collect();
    balance_shards(&durations, shards)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrng::XorShift;

    #[test]
    fn every_test_lands_in_exactly_one_shard() {
        let durations: Vec<(u32, f64)> = (0..50).map(|i| (i, f64::from(i % 7))).collect();
        let shards = balance_shards(&durations, 4);
        assert_eq!(shards.len(), 4);
        let mut all: Vec<u32> = shards.concat();
        all.sort_unstable();
        assert_eq!(all, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn tests_without_history_take_the_median() {
        let tests: Vec<String> = ["slow", "a", "b", "new1", "new2"]
            .map(String::from)
            .to_vec();
        let recorded = [("slow", 10.0), ("a", 1.0), ("b", 1.0)]
            .map(|(t, d)| (t.to_string(), d))
            .into_iter()
            .collect();
        let plan = balance_with_history(&tests, &recorded, 2, 5.0);
        // `slow` alone on one shard; the four 1-second tests on the other.
        assert_eq!(plan[0], ["slow"]);
        assert_eq!(plan[1].len(), 4);
        // Nothing recorded: the fallback spreads them evenly.
        let plan = balance_with_history(&tests, &Default::default(), 2, 5.0);
        assert_eq!(plan.iter().map(Vec::len).collect::<Vec<_>>(), [3, 2]);
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(balance_shards::<u32>(&[], 3), vec![Vec::<u32>::new(); 3]);
        assert_eq!(
            balance_shards(&[(1, f64::NAN), (2, -1.0)], 0),
            vec![vec![1, 2]]
        );
    }

    /// The Bar: the slowest shard within 1.10× of the mean, at the size of
    /// the synthetic corpus (`bench/gen_corpus.py`, seed 2026: 2,200 Python
    /// files × 24 tests + 12 crates × 20 files × 24 tests = 58,560 tests).
    /// Durations are log-normal, as real suites are: many fast tests and a
    /// long tail of slow ones.
    #[test]
    fn slowest_shard_is_within_ten_percent_of_the_mean() {
        const CORPUS_TESTS: usize = 2_200 * 24 + 12 * 20 * 24;
        let mut rng = XorShift::new(0x5eed);
        for shards in [2usize, 4, 8, 16, 32, 64] {
            let durations: Vec<(usize, f64)> = (0..CORPUS_TESTS)
                .map(|i| (i, (rng.normal() * 1.5).exp() * 0.5))
                .collect();
            let lookup: std::collections::HashMap<usize, f64> = durations.iter().copied().collect();
            let plan = balance_shards(&durations, shards);
            let loads: Vec<f64> = plan
                .iter()
                .map(|s| {
                    s.iter()
                        .map(|id| lookup.get(id).copied().unwrap_or(0.0))
                        .sum()
                })
                .collect();
            let mean = loads.iter().sum::<f64>() / shards as f64;
            let max = loads.iter().copied().fold(0.0, f64::max);
            assert!(
                max <= 1.10 * mean,
                "{shards} shards: max {max}, mean {mean}"
            );
        }
    }
}
