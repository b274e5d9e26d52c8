//! Change points of a benchmark series: where its mean shifted.
//!
//! The detector is binary segmentation with a two-sample mean-shift test,
//! small enough to read in one sitting:
//!
//! 1. Over a segment of the series (at first, all of it), try every split
//!    that leaves at least [`Detector::min_segment`] points on each side and
//!    compute Student's two-sample t statistic with pooled variance,
//!    `t = |mean(right) - mean(left)| / (s * sqrt(1/n_left + 1/n_right))`,
//!    where `s` is the pooled standard deviation within the two sides.
//! 2. The split with the largest `t` is a change point when `t` reaches
//!    [`Detector::threshold`] *and* the means differ by at least
//!    [`Detector::min_change`] (relative to the left mean): a tiny but very
//!    regular shift is not worth a reader's attention.
//! 3. Repeat on both sides of an accepted split; stop when no split passes.
//!
//! The threshold is high (5 by default) because step 1 picks the best of
//! many splits: on 30 points of pure noise the largest `t` rarely reaches 4.
//! Values are taken as they are (no outlier removal): a single wild sample
//! inflates `s` and hides a change rather than inventing one.

use serde::Serialize;

/// Tuning of [`Detector::detect`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detector {
    /// Points on each side of a change, at least.
    pub min_segment: usize,
    /// The t statistic a change must reach.
    pub threshold: f64,
    /// The relative shift of the mean a change must reach (0.05 = 5%).
    pub min_change: f64,
}

impl Default for Detector {
    fn default() -> Self {
        Detector {
            min_segment: 3,
            threshold: 5.0,
            min_change: 0.05,
        }
    }
}

/// A shift of the mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChangePoint {
    /// Index of the first point after the change.
    pub index: usize,
    /// Mean of the segment before and after (between neighbouring changes).
    pub before: f64,
    pub after: f64,
    /// `(after - before) / |before|`, percent, one decimal.
    pub change_percent: f64,
    /// The t statistic, one decimal.
    pub t: f64,
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn squares(values: &[f64], m: f64) -> f64 {
    values.iter().map(|v| (v - m) * (v - m)).sum()
}

impl Detector {
    /// The change points of `series` (oldest first), by index. Non-finite
    /// values make the series unusable: none are reported.
    pub fn detect(&self, series: &[f64]) -> Vec<ChangePoint> {
        if series.iter().any(|v| !v.is_finite()) {
            return Vec::new();
        }
        let mut splits = Vec::new();
        self.segment(series, 0, &mut splits);
        splits.sort_unstable_by_key(|(i, _)| *i);
        // Means between neighbouring splits, for what a reader sees.
        let bounds: Vec<usize> = std::iter::once(0)
            .chain(splits.iter().map(|(i, _)| *i))
            .chain(std::iter::once(series.len()))
            .collect();
        splits
            .iter()
            .enumerate()
            .map(|(k, (index, t))| {
                let before = mean(&series[bounds[k]..bounds[k + 1]]);
                let after = mean(&series[bounds[k + 1]..bounds[k + 2]]);
                ChangePoint {
                    index: *index,
                    before,
                    after,
                    change_percent: if before == 0.0 {
                        0.0
                    } else {
                        ((after - before) / before.abs() * 1000.0).round() / 10.0
                    },
                    t: if t.is_finite() {
                        (t * 10.0).round() / 10.0
                    } else {
                        f64::MAX
                    },
                }
            })
            .collect()
    }

    fn segment(&self, x: &[f64], offset: usize, out: &mut Vec<(usize, f64)>) {
        let m = self.min_segment.max(1);
        if x.len() < 2 * m {
            return;
        }
        let mut best: Option<(usize, f64)> = None;
        for k in m..=x.len() - m {
            let (left, right) = x.split_at(k);
            let (ml, mr) = (mean(left), mean(right));
            let dof = x.len().saturating_sub(2).max(1) as f64;
            let s = ((squares(left, ml) + squares(right, mr)) / dof).sqrt();
            let shift = (mr - ml).abs();
            let relative = if ml == 0.0 {
                if shift > 0.0 {
                    f64::INFINITY
                } else {
                    0.0
                }
            } else {
                shift / ml.abs()
            };
            if relative < self.min_change {
                continue;
            }
            let scale = s * (1.0 / left.len() as f64 + 1.0 / right.len() as f64).sqrt();
            let t = if scale > 0.0 {
                shift / scale
            } else {
                f64::INFINITY
            };
            if t >= self.threshold && best.is_none_or(|(_, bt)| t > bt) {
                best = Some((k, t));
            }
        }
        if let Some((k, t)) = best {
            out.push((offset + k, t));
            self.segment(&x[..k], offset, out);
            self.segment(&x[k..], offset + k, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic wiggle of about ±1%.
    fn noisy(base: f64, n: usize, seed: usize) -> Vec<f64> {
        (0..n)
            .map(|i| base * (1.0 + 0.01 * (((i * 7 + seed * 13) % 11) as f64 - 5.0) / 5.0))
            .collect()
    }

    #[test]
    fn a_step_up_is_found_where_it_happened() {
        let mut series = noisy(100.0, 12, 1);
        series.extend(noisy(120.0, 10, 2));
        let found = Detector::default().detect(&series);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].index, 12);
        assert!((found[0].change_percent - 20.0).abs() < 1.0, "{found:?}");
    }

    #[test]
    fn two_steps_are_two_changes() {
        let mut series = noisy(100.0, 8, 1);
        series.extend(noisy(70.0, 8, 2));
        series.extend(noisy(140.0, 8, 3));
        let found: Vec<usize> = Detector::default()
            .detect(&series)
            .iter()
            .map(|c| c.index)
            .collect();
        assert_eq!(found, [8, 16]);
    }

    #[test]
    fn noise_and_small_shifts_are_not_changes() {
        assert!(Detector::default().detect(&noisy(100.0, 30, 4)).is_empty());
        // +2%: regular, but under the 5% floor.
        let mut series = vec![100.0; 10];
        series.extend(vec![102.0; 10]);
        assert!(Detector::default().detect(&series).is_empty());
        // Too short to tell.
        assert!(Detector::default().detect(&[1.0, 1.0, 5.0, 5.0]).is_empty());
        assert!(Detector::default().detect(&[]).is_empty());
        assert!(Detector::default()
            .detect(&[1.0, f64::NAN, 1.0, 9.0, 9.0, 9.0])
            .is_empty());
    }

    #[test]
    fn a_single_outlier_is_not_a_change() {
        let mut series = noisy(100.0, 20, 5);
        series[10] = 400.0;
        assert!(Detector::default().detect(&series).is_empty());
    }
}
