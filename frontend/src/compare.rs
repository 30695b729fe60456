//! A figure of the run shown beside the same figure of the pinned run: how many times the
//! pinned value it is, written for a card ("1.09× the pinned").

use gilscope_shared::decimal::fixed;

/// `now / pinned`, when both are known, neither is negative and the pinned one is not zero
/// (equal values, zeros included, compare as 1).
pub fn ratio(now: Option<f64>, pinned: Option<f64>) -> Option<f64> {
    let (now, pinned) = (now?, pinned?);
    if !now.is_finite() || !pinned.is_finite() || now < 0.0 || pinned < 0.0 {
        return None;
    }
    if now == pinned {
        return Some(1.0);
    }
    (pinned > 0.0).then(|| now / pinned)
}

/// A ratio for people, with the digits that matter at its size: `1.09× the pinned`,
/// `12.5× the pinned`, `340× the pinned`, `under 0.01× the pinned`.
pub fn ratio_text(r: f64) -> String {
    if r >= 100.0 {
        fixed(r, 0) + "× the pinned"
    } else if r >= 10.0 {
        fixed(r, 1) + "× the pinned"
    } else if r >= 0.01 {
        fixed(r, 2) + "× the pinned"
    } else {
        "under 0.01× the pinned".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_need_two_known_values_and_a_pinned_one_above_zero() {
        assert_eq!(ratio(Some(0.99), Some(0.9)), Some(0.99 / 0.9));
        assert_eq!(ratio(Some(3.0), Some(3.0)), Some(1.0));
        assert_eq!(ratio(Some(0.0), Some(0.0)), Some(1.0));
        assert_eq!(ratio(Some(5.0), Some(0.0)), None);
        assert_eq!(ratio(None, Some(1.0)), None);
        assert_eq!(ratio(Some(1.0), None), None);
        assert_eq!(ratio(Some(-1.0), Some(2.0)), None);
        assert_eq!(ratio(Some(f64::NAN), Some(2.0)), None);
    }

    #[test]
    fn ratios_keep_the_digits_that_matter() {
        assert_eq!(ratio_text(0.99 / 0.91), "1.09× the pinned");
        assert_eq!(ratio_text(1.0), "1.00× the pinned");
        assert_eq!(ratio_text(12.46), "12.5× the pinned");
        assert_eq!(ratio_text(340.2), "340× the pinned");
        assert_eq!(ratio_text(0.05), "0.05× the pinned");
        assert_eq!(ratio_text(0.001), "under 0.01× the pinned");
    }
}
