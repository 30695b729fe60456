//! Clamping without the standard library's `clamp`, whose assertion that `min <= max`
//! formats both bounds with `Debug`: for `f64` that keeps all of the float formatting
//! (about 20 KB) in the wasm.

/// `x` within `lo..=hi` (`x` itself when it is NaN, as `f64::clamp`); `lo <= hi` assumed.
pub fn clamp<T: PartialOrd>(x: T, lo: T, hi: T) -> T {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::clamp;

    #[test]
    fn clamps_like_the_standard_library() {
        for x in [
            -2.0,
            -0.0,
            0.0,
            0.5,
            1.0,
            7.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(clamp(x, 0.0, 1.0), x.clamp(0.0, 1.0), "{x}");
        }
        assert!(clamp(f64::NAN, 0.0, 1.0).is_nan());
        for x in [i64::MIN, -1, 0, 3, 9, i64::MAX] {
            assert_eq!(clamp(x, 0, 5), x.clamp(0, 5), "{x}");
        }
    }
}
