//! Floats as text and back, as `format!` writes them (`{:.2}`, `{}`, `{:?}`) and as
//! `str::parse::<f64>` reads them, without the standard library's float formatting and parsing:
//! Grisu and Dragon4 with their tables and big numbers (about 20 KB of the dashboard's wasm),
//! and Eisel-Lemire's table of 128-bit powers of five (10.4 KB of data that does not compress;
//! with its code, 13.9 KB of the wasm gzipped). Each float is a whole number of `2^e`: its
//! exact decimal digits come from multiplying its mantissa by 2 or 5 `|e|` times, then they are
//! rounded half to even, as `format!` rounds; a text is read by comparing its digits exactly
//! with the points halfway between neighbouring floats. Slower than the standard library
//! (microseconds; tenths of a millisecond for the largest and smallest floats), which a few
//! labels per frame and a knob typed now and then do not notice.

use std::cmp::Ordering;

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

/// `text.parse::<f64>().ok()`: the same grammar (a sign, digits with a point, an exponent;
/// `inf`, `infinity`, `nan` in any case) and the same float, the nearest, ties to even.
pub fn parse(text: &str) -> Option<f64> {
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = match body.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => nearest(&Written::read(body)?),
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A decimal as written: `0.digits × 10^msd`, digits without leading or trailing zeros (none
/// for zero).
struct Written {
    digits: Vec<u8>,
    msd: i64,
}

impl Written {
    /// Digits with an optional point (at least one digit), then an optional exponent.
    fn read(body: &str) -> Option<Written> {
        let bytes = body.as_bytes();
        let mut i = 0;
        let mut digits = Vec::new();
        // The exponent of the first digit kept, counted from the digits before the point.
        let mut msd = 0i64;
        let mut any = false;
        let mut after_point = false;
        while let Some(&c) = bytes.get(i) {
            match c {
                b'0'..=b'9' => {
                    any = true;
                    if digits.is_empty() && c == b'0' {
                        msd -= i64::from(after_point);
                    } else {
                        digits.push(c - b'0');
                        msd += i64::from(!after_point);
                    }
                }
                b'.' if !after_point => after_point = true,
                _ => break,
            }
            i += 1;
        }
        if !any {
            return None;
        }
        if let Some(&(b'e' | b'E')) = bytes.get(i) {
            let (negative, start) = match bytes.get(i + 1) {
                Some(b'-') => (true, i + 2),
                Some(b'+') => (false, i + 2),
                _ => (false, i + 1),
            };
            let exponent = &bytes[start..];
            if exponent.is_empty() || !exponent.iter().all(u8::is_ascii_digit) {
                return None;
            }
            // Far beyond any float: saturate (1e400 is infinity, 1e-400 zero, as for std).
            let value = exponent.iter().fold(0i64, |v, &d| {
                (v * 10 + i64::from(d - b'0')).min(1_000_000_000)
            });
            msd += if negative { -value } else { value };
        } else if i != bytes.len() {
            return None;
        }
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Some(Written { digits, msd })
    }

    /// Roughly its value: its first 19 digits times a power of ten, in floats.
    fn guess(&self) -> f64 {
        let first = &self.digits[..self.digits.len().min(19)];
        let whole = first.iter().fold(0u64, |v, &d| v * 10 + u64::from(d));
        let exponent = self.msd - first.len() as i64;
        whole as f64 * 10f64.powi(exponent as i32)
    }
}

/// The float nearest to a decimal, ties to even: the first float whose point halfway to the
/// next one up is not below it, found by halving a range of positive floats' bits (which order
/// them as their values): the floats around a first guess when the answer is among them (a
/// few dozen exact comparisons of short numbers), else all of them.
fn nearest(w: &Written) -> f64 {
    const INFINITY: u64 = 0x7ff0_0000_0000_0000;
    // Under 10^-324, below half the smallest float; from 10^310, above the largest.
    if w.digits.is_empty() || w.msd < -324 {
        return 0.0;
    }
    if w.msd > 310 {
        return f64::INFINITY;
    }
    let not_below = |bits: u64| {
        let half = Exact::halfway_above(bits);
        compare(&w.digits, w.msd, &half.digits, half.msd())
    };
    // The guess, from the first 19 digits in float arithmetic, is off by far less than 2^24
    // floats (a relative 10^-9) unless it underflows or overflows; the bounds are checked.
    let guess = w.guess().to_bits().min(INFINITY);
    let (mut low, mut high) = (
        guess.saturating_sub(1 << 24),
        guess.saturating_add(1 << 24).min(INFINITY),
    );
    let bracketed =
        (low == 0 || not_below(low - 1).is_gt()) && (high == INFINITY || not_below(high).is_le());
    if !bracketed {
        (low, high) = (0, INFINITY);
    }
    while low < high {
        let mid = low + (high - low) / 2;
        if not_below(mid).is_le() {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    // Exactly halfway between two floats: the even one.
    if low < INFINITY && !low.is_multiple_of(2) && not_below(low).is_eq() {
        low += 1;
    }
    f64::from_bits(low)
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
        let (m, e) = parts(x.to_bits());
        Exact::of_parts(m, e)
    }

    /// `m × 2^e` exactly, for `m` under `10^18`.
    fn of_parts(mut m: u64, mut e: i32) -> Exact {
        while m != 0 && m.is_multiple_of(2) && e < 0 {
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

    /// The exponent of its first digit: `|x|` is `0.digits × 10^msd`.
    fn msd(&self) -> i64 {
        self.digits.len() as i64 - self.point as i64
    }

    /// The point halfway between the positive float whose bits are `bits` and the next one up
    /// (for the largest finite float, the point from which a text reads as infinity).
    fn halfway_above(bits: u64) -> Exact {
        let (m, e) = parts(bits);
        Exact::of_parts(2 * m + 1, e - 1)
    }
}

/// A positive float's bits as `(mantissa, exponent)`: the float is `mantissa × 2^exponent`.
fn parts(bits: u64) -> (u64, i32) {
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1 << 52) - 1);
    match biased {
        0 => (frac, -1074),
        _ => (frac | (1 << 52), biased - 1075),
    }
}

/// Compares `0.a × 10^a_msd` with `0.b × 10^b_msd`, digits without leading zeros (a lone 0
/// is zero).
fn compare(a: &[u8], a_msd: i64, b: &[u8], b_msd: i64) -> Ordering {
    let zero = |d: &[u8]| d.iter().all(|&d| d == 0);
    match (zero(a), zero(b)) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    a_msd.cmp(&b_msd).then_with(|| {
        (0..a.len().max(b.len()))
            .map(|i| {
                let digit = |d: &[u8]| d.get(i).copied().unwrap_or(0);
                digit(a).cmp(&digit(b))
            })
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
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
        let exp = exact.msd();
        // The digits read back as `a` between the points halfway to its neighbours; on one of
        // them only when `a`'s mantissa is even (a tie reads as the even one).
        let bits = a.to_bits();
        let below = Exact::halfway_above(bits - 1);
        let above = Exact::halfway_above(bits);
        let inside = |o: Ordering| o.is_lt() || (o.is_eq() && bits.is_multiple_of(2));
        for n in 1..=17 {
            // `format!` rounds an exact half up here, as its Grisu does.
            let mut digits = round(&exact.digits, n, true);
            // A carry (99.7 to 100) adds a digit in front: one more power of ten.
            let exp = exp + (digits.len() - n) as i64;
            digits.truncate(n);
            while digits.len() > 1 && digits.last() == Some(&0) {
                digits.pop();
            }
            let reads_back = inside(compare(&below.digits, below.msd(), &digits, exp))
                && inside(compare(&digits, exp, &above.digits, above.msd()));
            if reads_back {
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

    /// `parse` gives what `str::parse::<f64>` gives, bit for bit (any NaN for a NaN).
    fn reads_as_std(text: &str) {
        let ours = parse(text);
        let std = text.parse::<f64>().ok();
        let same = match (ours, std) {
            (Some(a), Some(b)) => a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
            (None, None) => true,
            _ => false,
        };
        assert!(same, "{text:?}: ours {ours:?}, std {std:?}");
    }

    #[test]
    fn parse_accepts_what_std_accepts() {
        for text in [
            "",
            "+",
            "-",
            ".",
            "+.",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e-",
            "1e5x",
            "1x",
            "x1",
            "1.",
            ".5",
            "+.5",
            "-.5",
            "1.e5",
            "1E5",
            "1e+05",
            "1e-05",
            "00012.500",
            "0",
            "-0",
            "+0.0",
            "0e999999999999999999999",
            "1e999999999999999999999",
            "1e-999999999999999999999",
            "1..2",
            "1.2.3",
            "--1",
            "+-1",
            " 1",
            "1 ",
            "1_000",
            "0x10",
            "inf",
            "-inf",
            "+inf",
            "INF",
            "Infinity",
            "-infinity",
            "infinit",
            "nan",
            "NaN",
            "-nan",
            "+nan",
            "nan1",
            "in",
            "1e1e1",
            "١",
            "½",
        ] {
            reads_as_std(text);
        }
    }

    #[test]
    fn parse_reads_the_nearest_float() {
        // Every eighth sample: each takes a millisecond or so unoptimised.
        for x in samples().into_iter().step_by(8) {
            for text in [format!("{x}"), format!("{x:e}"), format!("{x:?}")] {
                reads_as_std(&text);
            }
            for p in [0, 1, 5, 15, 16, 17, 20, 25] {
                reads_as_std(&format!("{x:.p$e}"));
            }
        }
        // Exactly halfway between two floats, and a digit either side of it: ties to even.
        for x in samples()
            .into_iter()
            .step_by(4)
            .filter(|x| x.is_finite() && *x > 0.0)
        {
            let half = Exact::halfway_above(x.to_bits());
            let digits = text(&half.digits);
            let exp = half.msd() - half.digits.len() as i64;
            reads_as_std(&format!("{digits}e{exp}"));
            reads_as_std(&format!("{digits}1e{}", exp - 1));
            let mut less = half.digits.clone();
            less.push(0);
            if let Some(i) = less.iter().rposition(|&d| d != 0) {
                less[i] -= 1;
                less[i + 1..].iter_mut().for_each(|d| *d = 9);
            }
            reads_as_std(&format!("{}e{}", text(&less), exp - 1));
        }
        // Long digit strings, and the edges of the floats.
        for text in [
            "1797693134862315708145274537000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "4.9406564584124654e-324",
            "2.2250738585072011e-308",
            "2.2250738585072014e-308",
            "0.1000000000000000055511151231257827021181583404541015625",
            "0.1000000000000000055511151231257827021181583404541015624",
            "0.1000000000000000055511151231257827021181583404541015626",
            "9007199254740993",
            "9007199254740993.0000000000000000000000001",
            "123456789012345678901234567890e-10",
        ] {
            reads_as_std(text);
        }
        // Pseudo-random digits and exponents (xorshift, fixed seed).
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..1000 {
            let len = 1 + next() % 30;
            let digits: String = (0..len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let point = next() % (len + 1);
            let exp = (next() % 700) as i64 - 350;
            let (int, frac) = digits.split_at(point as usize);
            reads_as_std(&format!("{int}.{frac}e{exp}"));
        }
    }
}
