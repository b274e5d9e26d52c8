//! The statistics the performance check needs, implemented here rather than
//! pulling in a numerics crate: a one-sided Welch's t-test and a one-sided
//! Mann–Whitney U test, on top of the regularized incomplete beta function
//! (for Student's t) and a complementary error function (for the normal).
//!
//! Every function is total: empty or degenerate samples give `None` rather
//! than NaN, so a caller can say "not enough data" instead of guessing.

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, n = 9; ~15 significant digits).
pub fn ln_gamma(x: f64) -> f64 {
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function `I_x(a, b)`, by the continued
/// fraction (modified Lentz), using the symmetry `I_x(a,b) = 1 - I_{1-x}(b,a)`
/// where the fraction converges slowly.
pub fn regularized_incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_continued_fraction(1.0 - x, b, a) / b
    }
}

fn beta_continued_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        // Even step.
        let num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
        d = 1.0 + num * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + num / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        // Odd step.
        let num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
        d = 1.0 + num * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + num / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// `P(T > t)` for Student's t with `df` degrees of freedom.
pub fn student_t_sf(t: f64, df: f64) -> f64 {
    let tail = 0.5 * regularized_incomplete_beta(df / (df + t * t), df / 2.0, 0.5);
    if t >= 0.0 {
        tail
    } else {
        1.0 - tail
    }
}

/// `P(Z > z)` for the standard normal, via a Chebyshev fit of `erfc`
/// (fractional error below 1.2e-7, ample for p-values).
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Unbiased sample variance; needs two values.
fn variance(xs: &[f64]) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() as f64 - 1.0)
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
    fn ln_gamma_matches_factorials() {
        for (x, fact) in [(1.0, 1.0), (2.0, 1.0), (5.0, 24.0), (11.0, 3_628_800.0f64)] {
            assert!(close(ln_gamma(x), fact.ln(), 1e-10), "x={x}");
        }
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-10
        ));
    }

    #[test]
    fn incomplete_beta_known_values() {
        // I_x(1,1) = x; I_x(2,3) = 6x²/2 ... closed form: x²(6 - 8x + 3x²).
        assert!(close(
            regularized_incomplete_beta(0.3, 1.0, 1.0),
            0.3,
            1e-12
        ));
        let x: f64 = 0.4;
        let closed = x * x * (6.0 - 8.0 * x + 3.0 * x * x);
        assert!(close(
            regularized_incomplete_beta(x, 2.0, 3.0),
            closed,
            1e-12
        ));
        assert!(close(
            regularized_incomplete_beta(0.5, 7.5, 7.5),
            0.5,
            1e-12
        ));
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
