//! Floats as text, character for character as `format!` writes them (`{:.2}`, `{}`, `{:?}`),
//! without the standard library's float formatting (Grisu and Dragon4 with their tables and
//! big numbers, about 20 KB of the dashboard's wasm). Each float is a whole number of
//! `2^e`: its exact decimal digits come from multiplying its mantissa by 2 or 5 `|e|` times,
//! then they are rounded half to even, as `format!` rounds. Slower than `format!` (microseconds
//! for the largest and smallest floats), which a few labels per frame do not notice.

/// `format!("{x:.digits$}")`.
pub fn fixed(x: f64, digits: usize) -> String {
    special(x).unwrap_or_else(|| {
        let exact = Exact::of(x);
        let cut = exact.digits.len() as i64 - exact.point as i64 + digits as i64;
        // Below half the last decimal kept when even its first digit is dropped.
        let kept = match usize::try_from(cut) {
            Ok(cut) => round_at(&exact.digits, cut),
            Err(_) => Vec::new(),
        };
        sign(x) + &layout(&kept, digits)
    })
}

/// `format!("{x}")`: the fewest digits that read back as `x`, without an exponent.
pub fn shortest(x: f64) -> String {
    special(x).unwrap_or_else(|| sign(x) + &plain(&Shortest::of(x), 0))
}

/// `format!("{x:?}")`: as [`shortest`] with at least one decimal, or with an exponent
/// (`1e16`, `1.5e-7`) outside `1e-4..1e16`.
pub fn debug(x: f64) -> String {
    special(x).unwrap_or_else(|| {
        let a = x.abs();
        let s = Shortest::of(x);
        let body = if a == 0.0 || (1e-4..1e16).contains(&a) {
            plain(&s, 1)
        } else {
            let (first, rest) = s.digits.split_at(1);
            let mut out = text(first);
            if !rest.is_empty() {
                out.push('.');
                out += &text(rest);
            }
            out + "e" + &(s.exp - 1).to_string()
        };
        sign(x) + &body
    })
}

/// NaN and the infinities, written as `format!` writes them.
fn special(x: f64) -> Option<String> {
    match x {
        _ if x.is_nan() => Some("NaN".into()),
        f64::INFINITY => Some("inf".into()),
        f64::NEG_INFINITY => Some("-inf".into()),
        _ => None,
    }
}

fn sign(x: f64) -> String {
    if x.is_sign_negative() { "-" } else { "" }.into()
}

/// Decimal digits (each 0–9) as characters.
fn text(digits: &[u8]) -> String {
    digits.iter().map(|d| char::from(b'0' + d)).collect()
}

/// A whole number of digits with `point` of them after the decimal point, at least one
/// before it.
fn layout(digits: &[u8], point: usize) -> String {
    let mut all = vec![0; (point + 1).saturating_sub(digits.len())];
    all.extend_from_slice(digits);
    let (int, frac) = all.split_at(all.len() - point);
    let mut out = text(int);
    if point > 0 {
        out.push('.');
        out += &text(frac);
    }
    out
}

/// `|x|` exactly: `digits` (most significant first, no leading zero but for zero itself)
/// with `point` of them after the decimal point.
struct Exact {
    digits: Vec<u8>,
    point: usize,
}

impl Exact {
    fn of(x: f64) -> Exact {
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i32;
        let frac = bits & ((1 << 52) - 1);
        let (mut m, mut e) = match biased {
            0 => (frac, -1074),
            _ => (frac | (1 << 52), biased - 1075),
        };
        while m != 0 && m % 2 == 0 && e < 0 {
            m /= 2;
            e += 1;
        }
        // Base 10^9, least significant limb first.
        let mut limbs = vec![(m % BASE) as u32, ((m / BASE) % BASE) as u32];
        let (factor, chunk, times) = if e >= 0 {
            (2u64, 1u64 << 29, e as u32)
        } else {
            (5, 1_220_703_125, (-e) as u32) // 5^13
        };
        let per_chunk = if factor == 2 { 29 } else { 13 };
        for _ in 0..times / per_chunk {
            mul(&mut limbs, chunk);
        }
        mul(&mut limbs, factor.pow(times % per_chunk));
        let mut digits = Vec::new();
        for (i, limb) in limbs.iter().rev().enumerate() {
            for p in (0..9).rev() {
                let d = (limb / 10u32.pow(p) % 10) as u8;
                if !(digits.is_empty() && d == 0) || (i == limbs.len() - 1 && p == 0) {
                    digits.push(d);
                }
            }
        }
        Exact {
            digits,
            point: e.min(0).unsigned_abs() as usize,
        }
    }
}

const BASE: u64 = 1_000_000_000;

fn mul(limbs: &mut Vec<u32>, factor: u64) {
    let mut carry = 0u64;
    for limb in limbs.iter_mut() {
        let v = u64::from(*limb) * factor + carry;
        *limb = (v % BASE) as u32;
        carry = v / BASE;
    }
    while carry > 0 {
        limbs.push((carry % BASE) as u32);
        carry /= BASE;
    }
}

/// The first `keep` digits, rounded half to even by the rest (the result may be one digit
/// longer when it carries: 9.96 to 10.0).
fn round_at(digits: &[u8], keep: usize) -> Vec<u8> {
    round(digits, keep, false)
}

/// [`round_at`], or half up when `half_up` (an exact half rounds away from zero).
fn round(digits: &[u8], keep: usize, half_up: bool) -> Vec<u8> {
    if keep >= digits.len() {
        let mut out = digits.to_vec();
        out.resize(keep, 0);
        return out;
    }
    let mut out = digits[..keep].to_vec();
    let (first, rest) = (digits[keep], &digits[keep + 1..]);
    let odd = out.last().is_some_and(|d| d % 2 == 1);
    let up = first > 5 || (first == 5 && (half_up || odd || rest.iter().any(|&d| d != 0)));
    if up {
        let mut i = out.len();
        loop {
            if i == 0 {
                out.insert(0, 1);
                break;
            }
            i -= 1;
            if out[i] == 9 {
                out[i] = 0;
            } else {
                out[i] += 1;
                break;
            }
        }
    }
    out
}

/// The shortest digits that read back as `|x|`, closest to it: `0.digits × 10^exp`.
struct Shortest {
    digits: Vec<u8>,
    exp: i64,
}

impl Shortest {
    fn of(x: f64) -> Shortest {
        let a = x.abs();
        let exact = Exact::of(a);
        if a == 0.0 {
            return Shortest {
                digits: vec![0],
                exp: 1,
            };
        }
        let exp = exact.digits.len() as i64 - exact.point as i64;
        for n in 1..=17 {
            // `format!` rounds an exact half up here, as its Grisu does.
            let mut digits = round(&exact.digits, n, true);
            // A carry (99.7 to 100) adds a digit in front: one more power of ten.
            let exp = exp + (digits.len() - n) as i64;
            digits.truncate(n);
            while digits.len() > 1 && digits.last() == Some(&0) {
                digits.pop();
            }
            let back = format!("{}e{}", text(&digits), exp - digits.len() as i64);
            if back.parse::<f64>() == Ok(a) {
                return Shortest { digits, exp };
            }
        }
        let digits = exact.digits;
        Shortest { digits, exp }
    }
}

/// `0.digits × 10^exp` without an exponent, with at least `min_frac` decimals.
fn plain(s: &Shortest, min_frac: usize) -> String {
    let frac = (s.digits.len() as i64 - s.exp).max(min_frac as i64) as usize;
    let mut digits = s.digits.clone();
    let whole = s.exp + frac as i64;
    digits.resize(whole.max(0) as usize, 0);
    layout(&digits, frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<f64> {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -2.5,
            0.125,
            0.005,
            1.005,
            9.995,
            99.5,
            0.045,
            1e-7,
            1.5e-7,
            1e-4,
            9.99e-5,
            1e15,
            1e16,
            1.2345678901234567e20,
            1e21,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::EPSILON,
            1.0 / 3.0,
            2.0 / 3.0,
            0.1 + 0.2,
            123456.7,
            4503599627370497.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        // Pseudo-random bit patterns and everyday magnitudes (xorshift, fixed seed).
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..4000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let x = if i % 2 == 0 {
                f64::from_bits(seed)
            } else {
                (seed >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi(i % 13 - 6)
            };
            xs.push(x);
        }
        xs
    }

    #[test]
    fn fixed_writes_what_format_writes() {
        for x in samples() {
            for d in [0, 1, 2, 3, 6] {
                assert_eq!(fixed(x, d), format!("{x:.d$}"), "{x:e} to {d}");
            }
        }
    }

    #[test]
    fn shortest_writes_what_format_writes() {
        for x in samples() {
            assert_eq!(shortest(x), format!("{x}"), "{x:e}");
        }
    }

    #[test]
    fn debug_writes_what_format_writes() {
        for x in samples() {
            assert_eq!(debug(x), format!("{x:?}"), "{x:e}");
        }
    }
}
