//! Python `str` semantics that the sentiment models' scores depend on, reproduced exactly.
//!
//! Rust's standard library disagrees with CPython on each of these in small ways
//! (`char::is_whitespace` lacks U+001C..U+001F, there is no `istitle` check, float
//! formatting does not round like `round(x, n)`), and each disagreement changes
//! scores on real input. Everything here mirrors CPython 3.11.

/// `ch.isspace()` as `str.split()` and `str.strip()` use it (`Py_UNICODE_ISSPACE`):
/// bidirectional class WS, B or S, or category Zs.
#[inline]
pub fn is_space(c: char) -> bool {
    match c {
        '\t'..='\r' | '\x1c'..='\x1f' | ' ' => true,
        c if (c as u32) < 0x85 => false,
        '\u{85}' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' => true,
        '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' => true,
        _ => false,
    }
}

/// Characters of general category Lt (titlecase letters). CPython's `str.isupper`
/// returns false on them; they are neither Uppercase nor Lowercase in Unicode.
#[inline]
fn is_titlecase(c: char) -> bool {
    matches!(
        c,
        '\u{1c5}'
            | '\u{1c8}'
            | '\u{1cb}'
            | '\u{1f2}'
            | '\u{1f88}'..='\u{1f8f}'
            | '\u{1f98}'..='\u{1f9f}'
            | '\u{1fa8}'..='\u{1faf}'
            | '\u{1fbc}'
            | '\u{1fcc}'
            | '\u{1ffc}'
    )
}

/// `s.isupper()`: at least one uppercase character and no lowercase or titlecase one.
/// So `"VADER"` and `":D"` are upper, `":)"` and `"123"` are not.
pub fn is_upper(s: &str) -> bool {
    let mut cased = false;
    if s.is_ascii() {
        for b in s.bytes() {
            if b.is_ascii_lowercase() {
                return false;
            }
            cased |= b.is_ascii_uppercase();
        }
        return cased;
    }
    for c in s.chars() {
        // ASCII and caseless characters (emoji, CJK) without Unicode's tables.
        if c.is_ascii() {
            if c.is_ascii_lowercase() {
                return false;
            }
            cased |= c.is_ascii_uppercase();
        } else if !caseless(c) {
            if c.is_lowercase() || is_titlecase(c) {
                return false;
            }
            cased |= c.is_uppercase();
        }
    }
    cased
}

/// Characters in blocks that have no case (CJK, kana, Hangul, the emoji and
/// pictograph planes' symbols but the squared and circled capitals,
/// variation selectors, the zero-width joiner): neither upper, lower nor
/// title case, and lowercasing leaves them as they are, which a test checks
/// for every one of them.
#[inline]
fn caseless(c: char) -> bool {
    matches!(
        c,
        '\u{3000}'..='\u{9fff}'
            | '\u{ac00}'..='\u{d7af}'
            | '\u{fe00}'..='\u{fe0f}'
            | '\u{1f000}'..='\u{1f12f}'
            | '\u{1f18a}'..='\u{1faff}'
            | '\u{200d}'
    )
}

/// Appends `token` lowercased char by char (`char::to_lowercase`, as the
/// tokenizers read a token) to `out`: a token of ASCII and caseless
/// characters (emoji, CJK) is copied and lowercased as ASCII, without a
/// look into Unicode's case tables for each character.
pub fn push_lowercase(token: &str, out: &mut String) {
    if token.chars().all(|c| c.is_ascii() || caseless(c)) {
        let start = out.len();
        out.push_str(token);
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(token.chars().flat_map(char::to_lowercase));
    }
}

/// Python's `round(x, digits)` for a finite float: the exact binary value of `x`
/// rounded half-to-even at `digits` decimals, then the nearest float to that
/// decimal. (`format!("{:.4}")` or `(x * 1e4).round() / 1e4` differ from it on
/// values such as 0.00005 or 2.675.)
#[inline]
pub fn round_half_even(x: f64, digits: u32) -> f64 {
    match rounded_units(x, digits) {
        Some(units) => (units as f64 / POW10[digits as usize]).copysign(x),
        None => round_half_even_exactly(x, digits),
    }
}

/// [`round_half_even`]`(x, digits)` as a whole number of `10^-digits`
/// units (`0.1235` at 4 digits: 1235), without the division back: what
/// the per-day sums add up.
pub fn round_half_even_units(x: f64, digits: u32) -> i64 {
    match rounded_units(x, digits) {
        Some(units) => {
            if x < 0.0 {
                -units
            } else {
                units
            }
        }
        // The nearest float to k / 10^digits, times 10^digits, is within
        // an ulp of k.
        None => (round_half_even_exactly(x, digits) * POW10[digits as usize]).round() as i64,
    }
}

/// Powers of ten up to 10^15, all exact.
const POW10: [f64; 16] = {
    let mut p = [1.0; 16];
    let mut i = 1;
    while i < 16 {
        p[i] = p[i - 1] * 10.0; // exact: 10^15 < 2^53
        i += 1;
    }
    p
};

/// The fast path of [`round_half_even`]: |x| * 10^digits rounded half to
/// even, when that is safe to tell from the float product; else None.
#[inline]
fn rounded_units(x: f64, digits: u32) -> Option<i64> {
    debug_assert!(digits <= 15);
    let scale = POW10[digits as usize];
    // Fast path (scores are small): `y` is |x| * 10^digits rounded once, off by
    // at most 2^-23 below 2^30. Unless it lies that close to a half (where the
    // exact product may sit on the other side, or be a tie), it rounds to the
    // same integer as the exact product does. (Integer conversions, not
    // `f64::round`: without SSE4.1 that is a library call. Signed ones: SSE2
    // converts between floats and unsigned integers in several instructions.)
    let y = x.abs() * scale;
    if y < (1u64 << 30) as f64 {
        let whole = y as i64; // truncates
        let frac = y - whole as f64; // exact
        if (frac - 0.5).abs() > 1.0 / (1u64 << 20) as f64 {
            return Some(whole + i64::from(frac > 0.5));
        }
    }
    None
}

/// [`round_half_even`] by exact integer arithmetic, for any finite float.
#[cold]
fn round_half_even_exactly(x: f64, digits: u32) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let bits = x.abs().to_bits();
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    // |x| = mant * 2^exp exactly.
    let (mant, exp) = if exp_bits == 0 { (frac, -1074) } else { (frac | (1u64 << 52), exp_bits - 1075) };
    let scale = 10u64.pow(digits);
    let rounded: u64 = if exp >= 0 {
        // An integer already: nothing after the decimal point.
        return x;
    } else {
        let k = (-exp) as u32;
        let num = mant as u128 * scale as u128; // < 2^53 * 10^15 < 2^103
        if k >= 110 {
            // |x| * 10^digits < 2^103 / 2^110 < 1/2: rounds to zero.
            0
        } else {
            let q = num >> k;
            let r = num - (q << k);
            let half = 1u128 << (k - 1);
            // Half to even, as arithmetic (the outcome is unpredictable).
            let q = q + u128::from((r > half) | ((r == half) & (q & 1 == 1)));
            // Finite doubles round to fewer than 309 + digits decimal digits; here
            // x < 2^53 after scaling by 10^digits <= 10^15, so q fits easily.
            u64::try_from(q).unwrap_or(u64::MAX)
        }
    };
    // Both operands are exact, and IEEE division rounds correctly, so this is the
    // float nearest to the decimal `rounded / 10^digits`, as CPython's strtod gives.
    let magnitude = rounded as f64 / scale as f64;
    magnitude.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caseless_characters_are_left_as_they_are_by_lowercasing() {
        for c in (0..=0x10ffff).filter_map(char::from_u32).filter(|&c| caseless(c)) {
            assert!(c.to_lowercase().eq([c]), "{c:?} has a lowercase");
            assert!(!c.is_lowercase() && !c.is_uppercase() && !is_titlecase(c), "{c:?} is cased");
        }
        for s in ["😭 LOL", "LOL 😭", "日本語ABC", "🅰B", "Ⓐ", "ǅ", "😭", "ÉTÉ", "été"] {
            let by_char = s.chars().any(|c| c.is_uppercase())
                && !s.chars().any(|c| c.is_lowercase() || is_titlecase(c));
            assert_eq!(is_upper(s), by_char, "{s}");
        }
        for token in ["😭 LOL", "日本語ABC", "café", "ΣΑΣ", "İx", "\u{200d}Ⓐ"] {
            let mut fast = String::new();
            push_lowercase(token, &mut fast);
            let by_char: String = token.chars().flat_map(char::to_lowercase).collect();
            assert_eq!(fast, by_char, "{token}");
        }
    }

    #[test]
    fn round_matches_python_on_ties_and_inexact_halves() {
        // Values checked against CPython 3.11 `round`.
        assert_eq!(round_half_even(0.125, 2), 0.12);
        assert_eq!(round_half_even(0.375, 2), 0.38);
        assert_eq!(round_half_even(2.675, 2), 2.67);
        assert_eq!(round_half_even(0.00005, 4), 0.0001);
        assert_eq!(round_half_even(0.00015, 4), 0.0001);
        assert_eq!(round_half_even(-0.4404, 4), -0.4404);
        assert_eq!(round_half_even(0.5, 0), 0.0);
        assert_eq!(round_half_even(1.5, 0), 2.0);
        assert_eq!(round_half_even(1e-300, 3), 0.0);
        assert_eq!(round_half_even(0.0005, 3), 0.001);
        assert_eq!(round_half_even(0.0015, 3), 0.002);
        assert!(round_half_even(-1e-9, 4).is_sign_negative());
    }

    #[test]
    fn the_fast_path_rounds_like_exact_arithmetic() {
        // Every score-like value near a multiple of 1/20000 (the ties and their
        // neighbours), and a spread of others.
        let mut x = 0.0f64;
        for k in 0..200_000u64 {
            let tie = (k as f64 + 0.5) / 10_000.0;
            for v in [tie, f64::from_bits(tie.to_bits() + 1), f64::from_bits(tie.to_bits() - 1), x] {
                for digits in [3, 4] {
                    for v in [v, -v] {
                        let (fast, exact) = (round_half_even(v, digits), round_half_even_exactly(v, digits));
                        assert_eq!(fast.to_bits(), exact.to_bits(), "{v:e} at {digits}");
                        // In units, what the engine did with the float: times
                        // 10^digits, rounded.
                        let units = (exact * 10f64.powi(digits as i32)).round() as i64;
                        assert_eq!(round_half_even_units(v, digits), units, "{v:e} at {digits}");
                    }
                }
            }
            x = (x + 0.123_456_789_1).fract() * 1.7;
        }
    }

    #[test]
    fn isupper_follows_python() {
        assert!(is_upper("VADER"));
        assert!(is_upper(":D"));
        assert!(is_upper("ÉTÉ"));
        assert!(!is_upper(":)"));
        assert!(!is_upper("123"));
        assert!(!is_upper("Vader"));
        assert!(!is_upper("\u{1c5}A"));
        assert!(!is_upper(""));
    }

    #[test]
    fn whitespace_includes_information_separators() {
        for c in ['\x1c', '\x1f', '\u{85}', '\u{2028}', '\u{3000}', '\x0b'] {
            assert!(is_space(c), "{c:?}");
        }
        for c in ['\u{200b}', '\u{feff}', '\u{180e}', 'a', '\0'] {
            assert!(!is_space(c), "{c:?}");
        }
    }
}
