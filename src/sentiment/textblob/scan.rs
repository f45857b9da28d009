//! Finding where a token may end: the next byte that is not printable ASCII
//! or is a quote, sixteen bytes at a time.
//!
//! Why: most bytes of a tweet are letters inside words, and a byte-at-a-time
//! loop pays a mispredicted branch at the end of every word (its exit depends
//! on the text). Comparing a whole block at once and taking the first marked
//! byte costs a few instructions per word and one well-predicted branch.

/// Whether a byte always continues a token: printable ASCII other than the
/// two ASCII quotes (which step 2 of the tokenizer splits off). Everything
/// else (whitespace, control bytes, quotes, non-ASCII) takes the tokenizer's
/// general path.
#[inline]
pub fn is_plain(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && b != b'\'' && b != b'"'
}

/// How many bytes must follow the end of the text in a buffer given to
/// [`next_special`], none of them plain (zeros, say).
pub const PADDING: usize = 16;

/// The index of the first byte at or after `at` that is not plain. `padded`
/// is the text followed by at least [`PADDING`] bytes that are not plain, and
/// `at` is at most the text's length, so the search always ends inside it.
#[inline(always)]
pub fn next_special(padded: &[u8], at: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        let mut at = at;
        loop {
            let block: &[u8; 16] = padded[at..at + 16].try_into().expect("16 bytes");
            let marks = special_marks(block);
            if marks != 0 {
                return at + marks.trailing_zeros() as usize;
            }
            // Sixteen plain bytes: none of them padding, so the next block is
            // still inside the buffer.
            at += 16;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    scalar_next_special(padded, at)
}

/// [`next_special`] a byte at a time: on targets without SSE2, and the
/// oracle of the block version in tests.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn scalar_next_special(padded: &[u8], mut at: usize) -> usize {
    while is_plain(padded[at]) {
        at += 1;
    }
    at
}

/// One bit per byte of `block` that is not plain (bit `k` for byte `k`).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_marks(block: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 target; the pointer covers 16
    // readable bytes, and an unaligned load needs no alignment.
    unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        // As signed bytes, everything below 0x21 and everything from 0x80 is
        // less than 0x21: control bytes, the space, and non-ASCII.
        let low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x21));
        let delete = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f));
        let apostrophe = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\'' as i8));
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let marks = _mm_or_si128(_mm_or_si128(low, delete), _mm_or_si128(apostrophe, quote));
        _mm_movemask_epi8(marks) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_classified_like_the_definition() {
        for b in 0..=255u8 {
            let mut padded = vec![b; 40];
            padded.extend([0; PADDING]);
            let want = if is_plain(b) { 40 } else { 0 };
            assert_eq!(next_special(&padded, 0), want, "{b:#04x}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The block search stops where the byte-at-a-time one does, from any start.
        #[test]
        fn blocks_stop_where_bytes_do(
            text in proptest::collection::vec(proptest::prop_oneof![
                8 => 0x21u8..0x7f, 1 => proptest::num::u8::ANY], 0..80),
            from in 0usize..81,
        ) {
            let at = from.min(text.len());
            let mut padded = text.clone();
            padded.extend([0; PADDING]);
            proptest::prop_assert_eq!(next_special(&padded, at), scalar_next_special(&padded, at));
        }
    }
}
