//! An exact sum of doubles: the per-day sentiment sums, identical to the bit
//! whatever the order in which tweets, batches, workers and consumers are
//! added (floating-point addition is not associative; this is).
//!
//! The sum is kept as one fixed-point integer whose unit is 2^-1074, the
//! smallest positive double, so every finite double below 2^64 in magnitude
//! is an integer number of units and adds exactly. Twenty 64-bit words hold
//! 1,280 bits: 1,074 below the binary point, 64 for the values and 64 more of
//! headroom, so 2^63 additions cannot overflow. [`ExactSum::to_f64`] rounds
//! the exact value once, to nearest with ties to even: what Python's
//! `math.fsum` returns for the same values.

/// Words of the fixed-point integer (two's complement, least significant first).
const WORDS: usize = 20;

/// Doubles summed exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExactSum {
    words: [u64; WORDS],
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum { words: [0; WORDS] }
    }
}

/// The largest magnitude [`ExactSum::add`] takes (exclusive).
pub const LIMIT: f64 = 18446744073709551616.0; // 2^64

/// The largest magnitude of a part ([`ExactSum::to_parts`]) (exclusive): a
/// sum of 2^63 values below [`LIMIT`] is below it, and the fixed point holds
/// it with room to spare.
const PART_LIMIT: f64 = 340282366920938463463374607431768211456.0; // 2^128

impl ExactSum {
    /// Adds `x` exactly. `x` must be finite and below [`LIMIT`] in magnitude
    /// (sentiment scores lie in [-1, 1]); anything else is left out, and
    /// `false` says so.
    pub fn add(&mut self, x: f64) -> bool {
        x.abs() < LIMIT && self.add_below(x, LIMIT)
    }

    /// Adds `x` exactly if it is finite and below `limit` (at most
    /// [`PART_LIMIT`]) in magnitude.
    fn add_below(&mut self, x: f64, limit: f64) -> bool {
        if !x.is_finite() || x.abs() >= limit {
            return false;
        }
        let bits = x.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as u32;
        let fraction = bits & ((1u64 << 52) - 1);
        // Value = mantissa × 2^(exponent − 1075) = mantissa × 2^(shift) units.
        let (mantissa, shift) = match biased {
            0 => (fraction, 0),
            e => (fraction | (1u64 << 52), e - 1),
        };
        if mantissa == 0 {
            return true;
        }
        let wide = (mantissa as u128) << (shift % 64);
        let at = (shift / 64) as usize;
        let parts = [wide as u64, (wide >> 64) as u64];
        self.add_at(at, parts, x < 0.0);
        true
    }

    /// Adds the integer `n` exactly (in two halves: an `i64` beyond 2^53 is
    /// not a double).
    pub fn add_i64(&mut self, n: i64) {
        let high = n >> 32 << 32;
        self.add(high as f64);
        self.add((n - high) as f64);
    }

    /// The sum as an integer, if it is one that fits an `i64`.
    pub fn to_i64(self) -> Option<i64> {
        let (m, negative) = self.magnitude();
        // Units are 2^-1074: the integer part starts at bit 1074.
        const POINT: usize = 1074;
        let bit = |i: usize| (m[i / 64] >> (i % 64)) & 1 == 1;
        if (0..POINT).any(bit) || (POINT + 63..WORDS * 64).any(bit) {
            return None;
        }
        let magnitude = (POINT..POINT + 63).rev().fold(0i64, |n, i| (n << 1) | bit(i) as i64);
        Some(if negative { -magnitude } else { magnitude })
    }

    /// Adds another sum.
    pub fn add_sum(&mut self, other: &ExactSum) {
        let mut carry = false;
        for (a, b) in self.words.iter_mut().zip(other.words) {
            let (s, c1) = a.overflowing_add(b);
            let (s, c2) = s.overflowing_add(carry as u64);
            *a = s;
            carry = c1 || c2;
        }
    }

    /// Adds (or subtracts) the two words `parts` at word `at`, carrying
    /// (or borrowing) upwards as far as needed.
    fn add_at(&mut self, at: usize, parts: [u64; 2], subtract: bool) {
        let mut carry = false;
        for (i, word) in self.words.iter_mut().enumerate().skip(at) {
            let p = parts.get(i - at).copied().unwrap_or(0);
            let (s, c1, c2) = if subtract {
                let (s, c1) = word.overflowing_sub(p);
                let (s, c2) = s.overflowing_sub(carry as u64);
                (s, c1, c2)
            } else {
                let (s, c1) = word.overflowing_add(p);
                let (s, c2) = s.overflowing_add(carry as u64);
                (s, c1, c2)
            };
            *word = s;
            carry = c1 || c2;
            if !carry && i > at {
                break;
            }
        }
    }

    fn is_negative(&self) -> bool {
        self.words[WORDS - 1] >> 63 == 1
    }

    pub fn is_zero(&self) -> bool {
        self.words.iter().all(|w| *w == 0)
    }

    /// The magnitude (two's complement negated when negative) and the sign.
    fn magnitude(&self) -> ([u64; WORDS], bool) {
        if !self.is_negative() {
            return (self.words, false);
        }
        let mut m = [0u64; WORDS];
        let mut carry = true;
        for (out, w) in m.iter_mut().zip(self.words) {
            let (s, c) = (!w).overflowing_add(carry as u64);
            *out = s;
            carry = c;
        }
        (m, true)
    }

    /// The exact sum rounded once to the nearest double (ties to even).
    pub fn to_f64(self) -> f64 {
        self.round(true)
    }

    /// The exact sum rounded toward zero.
    fn truncated(&self) -> f64 {
        self.round(false)
    }

    fn round(&self, nearest: bool) -> f64 {
        let (m, negative) = self.magnitude();
        let Some(top) = (0..WORDS).rev().find(|&i| m[i] != 0) else {
            return 0.0;
        };
        let high = top * 64 + 63 - m[top].leading_zeros() as usize;
        let bit = |i: usize| (m[i / 64] >> (i % 64)) & 1 == 1;
        let magnitude = if high <= 52 {
            // Below 2^53 units: the integer is the double's own bit pattern
            // (subnormal, or the smallest normal exponent).
            f64::from_bits(m[0])
        } else {
            let low = high - 52;
            let mut mantissa = 0u64;
            for i in (low..=high).rev() {
                mantissa = (mantissa << 1) | bit(i) as u64;
            }
            let mut exponent = low as u64 + 1;
            if nearest && bit(low - 1) {
                let sticky = (0..low - 1).any(bit);
                if sticky || mantissa & 1 == 1 {
                    mantissa += 1;
                    if mantissa == 1 << 53 {
                        mantissa >>= 1;
                        exponent += 1;
                    }
                }
            }
            f64::from_bits((exponent << 52) | (mantissa & ((1u64 << 52) - 1)))
        };
        if negative { -magnitude } else { magnitude }
    }

    /// Doubles whose exact sum is this sum, largest first (at most a few
    /// dozen; usually one to three): a form that storage can hold and
    /// [`ExactSum::from_parts`] reads back.
    pub fn to_parts(self) -> Vec<f64> {
        let mut rest = self;
        let mut parts = Vec::new();
        while !rest.is_zero() {
            let part = rest.truncated();
            parts.push(part);
            // A part is at most the sum, which stays below PART_LIMIT.
            if !rest.add_below(-part, PART_LIMIT) {
                break;
            }
        }
        parts
    }

    /// The sum of `parts`, exactly; None if one cannot be added.
    pub fn from_parts(parts: &[f64]) -> Option<ExactSum> {
        let mut s = ExactSum::default();
        parts.iter().all(|p| s.add_below(*p, PART_LIMIT)).then_some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An independent oracle: values that are multiples of 2^-60 below 2^3 sum
    /// exactly in an i128, and `i128 as f64` rounds to nearest, ties to even.
    fn oracle(xs: &[f64]) -> f64 {
        let units: i128 = xs.iter().map(|x| (x * 2f64.powi(60)) as i128).sum();
        units as f64 / 2f64.powi(60)
    }

    fn of(xs: &[f64]) -> ExactSum {
        let mut s = ExactSum::default();
        for x in xs {
            assert!(s.add(*x));
        }
        s
    }

    #[test]
    fn sums_that_floats_get_wrong() {
        // Python 3.11: math.fsum([0.1, 0.2, 0.3, -0.6, 1e-16, 1.0, -1.0]) ==
        // 1.277555756156289e-16; summed left to right the doubles give 2.220446049250313e-16.
        let xs = [0.1, 0.2, 0.3, -0.6, 1e-16, 1.0, -1.0];
        assert_eq!(of(&xs).to_f64(), 1.277555756156289e-16);
        let ys = [0.1, 0.2, 0.3, -0.6, 1.0, -1.0];
        assert_eq!(of(&ys).to_f64(), oracle(&ys));
        assert_eq!(of(&[1e-300, -1e-300]).to_f64(), 0.0);
        assert_eq!(of(&[f64::MIN_POSITIVE / 4.0]).to_f64(), f64::MIN_POSITIVE / 4.0);
        assert_eq!(of(&[-0.75, 0.8]).to_f64(), 0.8 - 0.75);
        assert!(!ExactSum::default().add(f64::NAN) && !ExactSum::default().add(LIMIT));
    }

    #[test]
    fn integers_round_trip() {
        for n in [0, 1, -1, 12_345, -9_876_543_210, i64::MAX, i64::MIN + 1, 1 << 60] {
            let mut s = ExactSum::default();
            s.add_i64(n);
            assert_eq!(s.to_i64(), Some(n), "{n}");
            assert_eq!(s.to_f64(), n as f64, "{n}");
        }
        assert_eq!(of(&[0.5]).to_i64(), None);
    }

    /// Sums beyond what one value may be (such as 2^65 from four values of
    /// 2^63) still come apart into parts that read back (a loop that ended).
    #[test]
    fn large_sums_round_trip_through_parts() {
        let big = 2f64.powi(63);
        for xs in [vec![big; 4], vec![-big; 4], vec![big, big, big, 0.1, -1e-300]] {
            let sum = of(&xs);
            let parts = sum.to_parts();
            assert!(parts.len() <= 32, "{parts:?}");
            assert_eq!(ExactSum::from_parts(&parts), Some(sum), "{xs:?}");
        }
        assert_eq!(ExactSum::from_parts(&[f64::INFINITY]), None);
        assert_eq!(ExactSum::from_parts(&[PART_LIMIT]), None);
    }

    #[test]
    fn ties_round_to_even() {
        // 1 + 2^-53 is halfway between 1 and the next double: ties to 1.
        assert_eq!(of(&[1.0, 2f64.powi(-53)]).to_f64(), 1.0);
        // (1 + 2^-52) + 2^-53 is halfway too: ties up to the even 1 + 2^-51.
        let x = 1.0 + 2f64.powi(-52);
        assert_eq!(of(&[x, 2f64.powi(-53)]).to_f64(), 1.0 + 2f64.powi(-51));
        assert_eq!(of(&[-x, -(2f64.powi(-53))]).to_f64(), -(1.0 + 2f64.powi(-51)));
    }

    proptest! {
        #[test]
        fn equals_the_oracle_in_any_order(raw in prop::collection::vec(-(1i64 << 62)..(1i64 << 62), 0..60)) {
            let xs: Vec<f64> = raw.iter().map(|u| *u as f64 / 2f64.powi(60)).collect();
            let want = oracle(&xs);
            prop_assert_eq!(of(&xs).to_f64().to_bits(), want.to_bits());
            let mut rev = xs.clone();
            rev.reverse();
            prop_assert_eq!(of(&rev).to_f64().to_bits(), want.to_bits());
            // Split in two and merged: the same bits.
            let (a, b) = xs.split_at(xs.len() / 2);
            let mut merged = of(b);
            merged.add_sum(&of(a));
            prop_assert_eq!(merged, of(&xs));
            prop_assert_eq!(ExactSum::from_parts(&of(&xs).to_parts()), Some(of(&xs)));
        }

        #[test]
        fn any_doubles_cancel_exactly(xs in prop::collection::vec(-1.0f64..1.0, 0..40)) {
            let mut s = of(&xs);
            for x in &xs {
                s.add(-x);
            }
            prop_assert!(s.is_zero());
            prop_assert_eq!(ExactSum::from_parts(&of(&xs).to_parts()), Some(of(&xs)));
        }
    }
}
