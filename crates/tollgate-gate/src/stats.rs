//! The statistics the performance check needs: a one-sided Welch's t-test
//! and a one-sided Mann–Whitney U test. The distributions (Student's t, the
//! normal) and the moments come from `statrs`; moments are computed
//! incrementally, so large finite samples do not overflow a sum.
//!
//! Every function is total: empty or degenerate samples give `None` rather
//! than NaN, so a caller can say "not enough data" instead of guessing.
//! Non-finite samples are the caller's to refuse (the gate does).

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use statrs::statistics::Statistics;

/// `P(T > t)` for Student's t with `df` degrees of freedom (NaN for a
/// meaningless `df`).
pub fn student_t_sf(t: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(dist) => dist.sf(t),
        Err(_) => f64::NAN,
    }
}

/// `P(Z > z)` for the standard normal.
pub fn normal_sf(z: f64) -> f64 {
    match Normal::new(0.0, 1.0) {
        Ok(dist) => dist.sf(z),
        Err(_) => f64::NAN,
    }
}

/// The mean (NaN for no values), computed without overflowing a sum.
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().mean()
}

/// Unbiased sample variance; needs two values.
fn variance(xs: &[f64]) -> f64 {
    xs.iter().variance()
}

/// One-sided Welch's t-test of "`current` is larger than `history`":
/// the p-value, or `None` when there is too little data.
///
/// With a single current value (one benchmark run per CI run is common) the
/// test becomes a prediction-interval test: is that value above what the
/// history predicts for one new draw (`s·√(1 + 1/n)`, `n − 1` df)?
pub fn welch_greater(current: &[f64], history: &[f64]) -> Option<f64> {
    if current.is_empty() || history.len() < 2 {
        return None;
    }
    let diff = mean(current) - mean(history);
    let vh = variance(history);
    let nh = history.len() as f64;
    let (se2, df) = if current.len() == 1 {
        (vh * (1.0 + 1.0 / nh), nh - 1.0)
    } else {
        let vc = variance(current);
        let nc = current.len() as f64;
        let (a, b) = (vc / nc, vh / nh);
        let df = (a + b).powi(2) / (a * a / (nc - 1.0) + b * b / (nh - 1.0));
        (a + b, df)
    };
    if se2 <= 0.0 || !se2.is_finite() {
        // No spread at all: the difference is either certain or absent.
        return Some(if diff > 0.0 { 0.0 } else { 1.0 });
    }
    Some(student_t_sf(diff / se2.sqrt(), df))
}

/// One-sided Mann–Whitney U test of "`current` tends to be larger than
/// `history`", normal approximation with tie and continuity corrections.
pub fn mann_whitney_greater(current: &[f64], history: &[f64]) -> Option<f64> {
    if current.is_empty() || history.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = current
        .iter()
        .map(|&v| (v, true))
        .chain(history.iter().map(|&v| (v, false)))
        .collect();
    all.sort_by(|x, y| x.0.total_cmp(&y.0));
    let n = all.len() as f64;
    let mut rank_sum_current = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Positions i..=j share the mean of ranks i+1..=j+1.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let tied = (j - i + 1) as f64;
        tie_term += tied * tied * tied - tied;
        rank_sum_current += rank * all[i..=j].iter().filter(|(_, c)| *c).count() as f64;
        i = j + 1;
    }
    let nc = current.len() as f64;
    let nh = history.len() as f64;
    let u = rank_sum_current - nc * (nc + 1.0) / 2.0;
    let mean_u = nc * nh / 2.0;
    let var_u = nc * nh / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var_u <= 0.0 {
        return Some(1.0);
    }
    Some(normal_sf((u - mean_u - 0.5) / var_u.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn student_t_matches_tables() {
        // Two-sided 95% critical values: P(T > t) = 0.025.
        for (t, df) in [(12.706, 1.0), (2.228, 10.0), (2.042, 30.0), (1.984, 100.0)] {
            assert!(close(student_t_sf(t, df), 0.025, 2e-4), "df={df}");
        }
        // One-sided 99%: df = 5, t = 3.365.
        assert!(close(student_t_sf(3.365, 5.0), 0.01, 1e-4));
        assert!(close(student_t_sf(0.0, 7.0), 0.5, 1e-12));
        assert!(close(student_t_sf(-2.228, 10.0), 0.975, 2e-4));
        // df = 1 is Cauchy: P(T > 1) = 1/4.
        assert!(close(student_t_sf(1.0, 1.0), 0.25, 1e-10));
    }

    #[test]
    fn normal_matches_tables() {
        assert!(close(normal_sf(0.0), 0.5, 1e-7));
        assert!(close(normal_sf(1.959_964), 0.025, 1e-6));
        assert!(close(normal_sf(-1.644_854), 0.95, 1e-6));
        assert!(close(normal_sf(2.326_348), 0.01, 1e-6));
    }

    #[test]
    fn welch_direction_and_degenerate_input() {
        let history = [10.0, 10.2, 9.8, 10.1, 9.9];
        let slower = [11.0, 11.2, 10.8, 11.1, 10.9];
        let faster = [9.0, 9.2, 8.8, 9.1, 8.9];
        assert!(welch_greater(&slower, &history).unwrap_or(1.0) < 0.001);
        assert!(welch_greater(&faster, &history).unwrap_or(0.0) > 0.999);
        assert_eq!(welch_greater(&[], &history), None);
        assert_eq!(welch_greater(&slower, &[1.0]), None);
        assert_eq!(welch_greater(&[2.0], &[1.0, 1.0]), Some(0.0));
        // One current value: prediction interval.
        assert!(welch_greater(&[10.05], &history).unwrap_or(0.0) > 0.3);
        assert!(welch_greater(&[12.0], &history).unwrap_or(1.0) < 0.01);
    }

    #[test]
    fn mann_whitney_direction_ties_and_empty() {
        let history = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let above = [9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0];
        assert!(mann_whitney_greater(&above, &history).unwrap_or(1.0) < 0.001);
        assert!(mann_whitney_greater(&history, &above).unwrap_or(0.0) > 0.999);
        // All tied: no evidence either way.
        assert_eq!(mann_whitney_greater(&[1.0, 1.0], &[1.0, 1.0]), Some(1.0));
        assert_eq!(mann_whitney_greater(&[], &history), None);
        // Interleaved samples are not significant.
        let odd = [1.0, 3.0, 5.0, 7.0];
        let even = [2.0, 4.0, 6.0, 8.0];
        assert!(mann_whitney_greater(&even, &odd).unwrap_or(0.0) > 0.2);
    }
}
