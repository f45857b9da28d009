//! `SentiText._words_and_emoticons` of vaderSentiment 3.3.2: the text split on
//! whitespace (`str.split()`), each token stripped of ASCII punctuation at both
//! ends unless that leaves two characters or fewer (an emoticon), then lowercased
//! and looked up once. The rules read the resulting [`Token`]s.
//!
//! Why bitmaps: splitting byte by byte, branching on each byte's class, was the
//! largest part of a score. Here one pass classifies the whole text, sixteen
//! bytes at a time with SSE2, into bitmaps (bit `i % 64` of word `i / 64` stands
//! for byte `i`) of whitespace, punctuation, capitals, small letters and
//! apostrophes, and lowercases it on the way. Token bounds and stripping are
//! then bit scans; a short ASCII token's key is read straight from the
//! lowercased copy, and whether it is ALL CAPS or has an apostrophe is a look
//! at a few bits. "!" and "?" are counted by popcount.

use super::lexicon::{Entry, Key, Lexicon, MAX_WORD_BYTES, Word};
use crate::sentiment::pystr::{is_space, is_upper, push_lowercase};
use crate::sentiment::word_table::load_words;

/// What the rules need to know about one token of `words_and_emoticons`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Token {
    pub entry: Entry,
    /// `negated([token])`: in `NEGATE`, or contains "n't".
    pub negated: bool,
    /// `token.isupper()` on the original case.
    pub upper: bool,
}

impl Token {
    #[inline]
    pub fn valence(&self) -> Option<f64> {
        self.entry.valence()
    }
    #[inline]
    pub fn in_lexicon(&self) -> bool {
        self.entry.in_lexicon()
    }
    #[inline]
    pub fn booster(&self) -> Option<f64> {
        self.entry.booster()
    }
    #[inline]
    pub fn word(&self) -> Word {
        self.entry.word
    }
}

/// Counts of "!" and "?" in the text, for `_punctuation_emphasis`.
#[derive(Clone, Copy, Default)]
pub(super) struct Marks {
    pub exclamation: usize,
    pub question: usize,
}

/// Reusable buffers: after the first few texts, tokenizing allocates nothing.
#[derive(Default)]
pub(super) struct Tokenizer {
    /// The text with its ASCII capitals lowercased (every other byte as it
    /// is), then zeros to the end of its last sixteen-byte part, then room
    /// for a 24-byte read at any of its bytes. What follows is left over from
    /// earlier texts. Grown, never shrunk.
    lowered: Vec<u8>,
    /// The bitmaps of each 64-byte block of the text, then one block of
    /// zeros (so that two words can be read at any block). Grown, never
    /// shrunk: only its start is the text's.
    blocks: Vec<BlockMasks>,
    /// One lowercased token, for the general (non-ASCII or long) path.
    lower: String,
}

impl Tokenizer {
    /// Fills `tokens` with the tokens of `text`; returns its "!" and "?" counts.
    ///
    /// One pass over the tokens, each looked up as it is cut. (Two passes,
    /// all slots of the word table located and prefetched first, were meant
    /// to overlap the table's reads; on the lab's lines and on ten thousand
    /// distinct sentences alike they took no less time, for 5% more
    /// instructions: docs/performance.md.)
    #[inline(always)]
    pub fn tokenize(&mut self, lexicon: &Lexicon, text: &str, tokens: &mut Vec<Token>) -> Marks {
        tokens.clear();
        let (marks, any_apostrophe) = self.classify(text);
        let (lowered, lower, blocks) = (&self.lowered, &mut self.lower, &self.blocks);
        let mut cutter = Cutter { text, lowered, blocks, any_apostrophe, lexicon, lower, tokens };
        for_each_span(text.as_bytes(), blocks, &mut cutter);
        marks
    }

    /// Copies `text` into `lowered`, lowercasing it, and fills `blocks`;
    /// returns the "!" and "?" counts and whether there is an apostrophe.
    ///
    /// `lowered` is not cleared first: it is only read within a token or
    /// through a mask of its length, so what lies after the text's last
    /// sixteen-byte part is never looked at.
    #[inline(always)]
    fn classify(&mut self, text: &str) -> (Marks, bool) {
        let len = text.len();
        let blocks = len.div_ceil(64);
        // The text, its last part padded with zeros (zeros belong to no
        // class), and room for a key's 24 bytes read at its last byte.
        if self.lowered.len() < blocks * 64 + 24 {
            self.lowered.resize(blocks * 64 + 24, 0);
        }
        self.lowered[..len].copy_from_slice(text.as_bytes());
        self.lowered[len..len + 16].fill(0);
        if self.blocks.len() < blocks + 1 {
            self.blocks.resize(blocks + 1, BlockMasks::default());
        }
        let mut marks = Marks::default();
        let (mut any_maybe_space, mut any_apostrophe) = (0, 0);
        let lowered = self.lowered.as_chunks_mut::<64>().0;
        for (k, (block, m)) in lowered.iter_mut().zip(self.blocks.iter_mut()).take(blocks).enumerate() {
            // Only the sixteen-byte parts with text in them.
            *m = block_masks(block, (len - 64 * k).div_ceil(16));
            any_maybe_space |= m.maybe_space;
            any_apostrophe |= m.apostrophe;
            marks.exclamation += m.exclamation.count_ones() as usize;
            marks.question += m.question.count_ones() as usize;
        }
        self.blocks[blocks] = BlockMasks::default();
        if any_maybe_space != 0 {
            // Rare: a lead byte of U+0085, U+00A0, U+1680, U+2000..U+3000. Mark
            // every byte of each one that is a space.
            for k in 0..blocks {
                for_each_bit(self.blocks[k].maybe_space, |b| {
                    let at = k * 64 + b;
                    if let Some(c) = text[at..].chars().next().filter(|&c| is_space(c)) {
                        for j in at..at + c.len_utf8() {
                            self.blocks[j / 64].space |= 1 << (j % 64);
                        }
                    }
                });
            }
        }
        (marks, any_apostrophe != 0)
    }
}

/// What [`for_each_span`] hands each token's bounds to. A trait, not a
/// closure: a closure is compiled for the baseline instructions whatever the
/// function it is written in is compiled for (see
/// `SentimentAnalyzer::sentiments_wide`), and left a call per token.
trait SpanSink {
    fn span(&mut self, start: usize, stop: usize);
}

/// Test sinks: the bounds in order.
#[cfg(test)]
impl SpanSink for Vec<(usize, usize)> {
    fn span(&mut self, start: usize, stop: usize) {
        self.push((start, stop));
    }
}

/// The pass of [`Tokenizer::tokenize`] over the tokens: each one's [`Token`], from
/// the text, its lowercased copy and its bitmaps.
struct Cutter<'t> {
    text: &'t str,
    lowered: &'t [u8],
    blocks: &'t [BlockMasks],
    any_apostrophe: bool,
    lexicon: &'t Lexicon,
    /// For the tokens `describe` takes.
    lower: &'t mut String,
    tokens: &'t mut Vec<Token>,
}

impl SpanSink for Cutter<'_> {
    #[inline(always)]
    fn span(&mut self, start: usize, stop: usize) {
        let (lowered, blocks) = (self.lowered, self.blocks);
        let len = stop - start;
        let words = load_words(lowered, start, len);
        let (key, nt, upper) = if len <= MAX_WORD_BYTES && (words[0] | words[1] | words[2]) & HIGH_BITS == 0 {
            // ASCII and short (most tokens): the key is the lowercased
            // bytes as they lie in `lowered`, and the rest is in bitmaps.
            let [a, b, c] = words;
            let key = Key([a, b, c | (len as u64) << 56]);
            let (m, next) = (&blocks[start / 64], &blocks[start / 64 + 1]);
            // `&`, not `&&`: both windows cost less than a mispredicted
            // branch (capitals are as unpredictable as words).
            let upper = (window(m.upper, next.upper, start, len) != 0)
                & (window(m.lower, next.lower, start, len) == 0);
            let nt = self.any_apostrophe
                && window(m.apostrophe, next.apostrophe, start, len) != 0
                && lowered[start..stop].windows(3).any(|w| w == b"n't");
            (key, nt, upper)
        } else {
            describe(&self.text[start..stop], &lowered[start..stop], self.lower)
        };
        let entry = self.lexicon.entry(key);
        self.tokens.push(Token { entry, negated: entry.negate || nt, upper });
    }
}

/// The `len` (at most 64) bits from bit `start % 64` of a bitmap whose
/// words at `start`'s block and the next are `this` and `next`.
#[inline(always)]
fn window(this: u64, next: u64, start: usize, len: usize) -> u64 {
    let pair = u128::from(this) | u128::from(next) << 64;
    let mask = if len >= 64 { u64::MAX } else { (1 << len) - 1 };
    (pair >> (start % 64)) as u64 & mask
}

/// Hands `sink` the byte range of each token of `text`, given its
/// bitmaps (`space` and `punct` are read).
///
/// Token bounds come a word of bitmap at a time: the first byte of a token is
/// a non-space whose predecessor is a space, its last byte a non-space whose
/// successor is one; starts and lasts alternate, so pairing them is a matter
/// of taking the lowest bit of each.
#[inline(always)]
fn for_each_span(text: &[u8], blocks: &[BlockMasks], sink: &mut impl SpanSink) {
    let len = text.len();
    let words = len.div_ceil(64);
    // Non-space bytes of the text (the padding after it is no token).
    let word = |k: usize| match k.cmp(&(len / 64)) {
        std::cmp::Ordering::Less => !blocks[k].space,
        std::cmp::Ordering::Equal => !blocks[k].space & ((1 << (len % 64)) - 1),
        std::cmp::Ordering::Greater => 0,
    };
    let (mut current, mut carry, mut open) = (word(0), 0, None);
    for k in 0..words {
        let next = word(k + 1);
        let mut starts = current & !(current << 1 | carry);
        let mut lasts = current & !(current >> 1 | next << 63);
        while lasts != 0 {
            let last = k * 64 + lasts.trailing_zeros() as usize;
            lasts &= lasts - 1;
            let first = open.take().unwrap_or_else(|| {
                let first = k * 64 + starts.trailing_zeros() as usize;
                starts &= starts - 1;
                first
            });
            strip_token(text, blocks, first, last + 1, sink);
        }
        if starts != 0 {
            open = Some(k * 64 + starts.trailing_zeros() as usize);
        }
        (carry, current) = (current >> 63, next);
    }
}

/// `sink` with the bounds of the token `i..end` (whitespace-delimited) once
/// stripped of punctuation: `token.strip(string.punctuation)` is
/// first..=last, unless that leaves 2 chars or fewer (then the raw token).
#[inline(always)]
fn strip_token(text: &[u8], blocks: &[BlockMasks], i: usize, end: usize, sink: &mut impl SpanSink) {
    let is_punct = |at: usize| blocks[at / 64].punct & (1 << (at % 64)) != 0;
    // `|`, not `||`: one branch on both ends, not two (whether a word ends
    // in punctuation is as unpredictable as the words).
    let (start, stop) = if !(is_punct(i) | is_punct(end - 1)) {
        // Nothing to strip (most words).
        (i, end)
    } else {
        let first = next_clear_punct(blocks, i);
        if first >= end {
            (i, end)
        } else {
            let last = last_clear_punct_before(blocks, end);
            if at_most_2_chars(&text[first..=last]) { (i, end) } else { (first, last + 1) }
        }
    };
    sink.span(start, stop);
}

/// Calls `f` with the index of each set bit of `bits`, lowest first.
#[inline(always)]
fn for_each_bit(mut bits: u64, mut f: impl FnMut(usize)) {
    while bits != 0 {
        f(bits.trailing_zeros() as usize);
        bits &= bits - 1;
    }
}

/// The first position at or after `from` that is not punctuation, or the
/// end of the blocks if there is none.
#[inline(always)]
fn next_clear_punct(blocks: &[BlockMasks], from: usize) -> usize {
    let mut k = from / 64;
    let Some(first) = blocks.get(k) else {
        return blocks.len() * 64;
    };
    let mut bits = !first.punct & (u64::MAX << (from % 64));
    while bits == 0 {
        k += 1;
        match blocks.get(k) {
            Some(m) => bits = !m.punct,
            None => return blocks.len() * 64,
        }
    }
    k * 64 + bits.trailing_zeros() as usize
}

/// The last position before `end` that is not punctuation; the caller knows
/// there is one.
#[inline(always)]
fn last_clear_punct_before(blocks: &[BlockMasks], end: usize) -> usize {
    let mut k = (end - 1) / 64;
    let mut bits = !blocks[k].punct & (u64::MAX >> (63 - (end - 1) % 64));
    while bits == 0 {
        k -= 1;
        bits = !blocks[k].punct;
    }
    k * 64 + 63 - bits.leading_zeros() as usize
}

/// The classes of the 64 bytes of one block, one bit per byte.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
struct BlockMasks {
    /// ASCII whitespace: `\t`..`\r`, U+001C..U+001F and ' '.
    space: u64,
    /// `string.punctuation`.
    punct: u64,
    /// `A`..`Z` (before lowercasing).
    upper: u64,
    /// `a`..`z` (before lowercasing).
    lower: u64,
    apostrophe: u64,
    exclamation: u64,
    question: u64,
    /// 0xC2, 0xE1, 0xE2 or 0xE3: the lead bytes of every non-ASCII space character.
    maybe_space: u64,
}

/// [`BlockMasks`] of the first `parts` sixteen-byte parts of `block` (the
/// rest is not the text's), which it lowercases in place (ASCII capitals
/// only); with SSE2 (part of every x86-64 CPU).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn block_masks(block: &mut [u8; 64], parts: usize) -> BlockMasks {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_storeu_si128,
    };
    let mut m = BlockMasks::default();
    // SAFETY: SSE2 is enabled (x86-64 baseline), and each 16-byte load and
    // store lies inside `block` (the intrinsics have no alignment needs).
    unsafe {
        let splat = |b: u8| _mm_set1_epi8(b as i8);
        // Bytes in lo..=hi: shift lo to -128 (wrapping), then one signed compare.
        let in_range = |v: __m128i, lo: u8, hi: u8| {
            let shifted = std::arch::x86_64::_mm_add_epi8(v, splat(0x80u8.wrapping_sub(lo)));
            _mm_cmplt_epi8(shifted, splat(0x80u8.wrapping_add(hi - lo + 1)))
        };
        let bits = |v: __m128i, k: usize| u64::from(_mm_movemask_epi8(v) as u16) << (16 * k);
        for k in 0..parts.min(4) {
            let v = _mm_loadu_si128(block.as_ptr().add(16 * k).cast::<__m128i>());
            let space = _mm_or_si128(in_range(v, b'\t', b'\r'), in_range(v, 0x1c, b' '));
            let upper = in_range(v, b'A', b'Z');
            let lower = in_range(v, b'a', b'z');
            // `string.punctuation`: the visible ASCII characters but letters and digits.
            let alnum = _mm_or_si128(_mm_or_si128(upper, lower), in_range(v, b'0', b'9'));
            let punct = _mm_andnot_si128(alnum, in_range(v, b'!', b'~'));
            let lowered = _mm_or_si128(v, _mm_and_si128(upper, splat(0x20)));
            _mm_storeu_si128(block.as_mut_ptr().add(16 * k).cast::<__m128i>(), lowered);
            m.space |= bits(space, k);
            m.punct |= bits(punct, k);
            m.upper |= bits(upper, k);
            m.lower |= bits(lower, k);
            m.apostrophe |= bits(_mm_cmpeq_epi8(v, splat(b'\'')), k);
            m.exclamation |= bits(_mm_cmpeq_epi8(v, splat(b'!')), k);
            m.question |= bits(_mm_cmpeq_epi8(v, splat(b'?')), k);
            if _mm_movemask_epi8(v) != 0 {
                // Some byte is non-ASCII.
                let maybe_space = _mm_or_si128(_mm_cmpeq_epi8(v, splat(0xc2)), in_range(v, 0xe1, 0xe3));
                m.maybe_space |= bits(maybe_space, k);
            }
        }
    }
    m
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn block_masks(block: &mut [u8; 64], parts: usize) -> BlockMasks {
    block_masks_portable(block, parts)
}

/// [`BlockMasks`] one byte at a time: the definition the SSE2 version must match.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn block_masks_portable(block: &mut [u8; 64], parts: usize) -> BlockMasks {
    let mut m = BlockMasks::default();
    for (i, byte) in block.iter_mut().take(16 * parts).enumerate() {
        let b = *byte;
        let bit = 1u64 << i;
        let set = |mask: &mut u64, yes: bool| *mask |= if yes { bit } else { 0 };
        set(&mut m.space, matches!(b, b'\t'..=b'\r' | 0x1c..=0x1f | b' '));
        set(&mut m.punct, b.is_ascii_punctuation());
        set(&mut m.upper, b.is_ascii_uppercase());
        set(&mut m.lower, b.is_ascii_lowercase());
        set(&mut m.apostrophe, b == b'\'');
        set(&mut m.exclamation, b == b'!');
        set(&mut m.question, b == b'?');
        set(&mut m.maybe_space, matches!(b, 0xc2 | 0xe1..=0xe3));
        *byte = b.to_ascii_lowercase();
    }
    m
}

/// `len(s) <= 2` in code points, for valid UTF-8 `s`.
#[inline]
fn at_most_2_chars(s: &[u8]) -> bool {
    match s.len() {
        0..=2 => true,
        // Up to 8 bytes can still be two 4-byte characters. Count the bytes that
        // start a character (all but the continuation bytes 0x80..=0xBF).
        3..=8 if !s.is_ascii() => s.iter().filter(|&&b| (b as i8) >= -0x40).count() <= 2,
        _ => false,
    }
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// What the rules need of a token the fast path does not take (one with a
/// non-ASCII byte, or longer than any key): its key, whether it has "n't",
/// whether it is ALL CAPS. `ascii_lowered` is the token with its ASCII
/// capitals lowercased.
///
/// No lexicon or rule word has a non-ASCII character once lowercased (the
/// lexicon's two, `:Þ` and `:-Þ`, have a capital, and tokens are looked up
/// lowercased), and of all characters only the Kelvin sign lowercases to
/// ASCII alone (`k`; `İ` gives `i` and a combining dot). So unless the token
/// has a Kelvin sign, it has no entry, and its "n't" is in its ASCII
/// lowercasing: nothing needs Unicode's lowercasing (tests compare it with
/// the full path).
fn describe(token: &str, ascii_lowered: &[u8], lower: &mut String) -> (Key, bool, bool) {
    debug_assert!(!token.is_ascii() || token.len() > MAX_WORD_BYTES, "{token:?} is for the fast path");
    const KELVIN: &[u8] = "\u{212a}".as_bytes();
    let has_nt = |lowered: &[u8]| lowered.windows(3).any(|w| w == b"n't");
    if !ascii_lowered.windows(3).any(|w| w == KELVIN) {
        return (Key::NONE, has_nt(ascii_lowered), is_upper(token));
    }
    lower.clear();
    push_lowercase(token, lower);
    let key = Key::new(lower.as_bytes()).unwrap_or(Key::NONE);
    // A window search: `str::contains` sets up a searcher worth it only on
    // long texts.
    (key, has_nt(lower.as_bytes()), is_upper(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_masks_match_the_byte_by_byte_definition() {
        // Every byte value at every position of a block, in a shifting pattern.
        for shift in 0..64 {
            let mut block = [0u8; 64];
            for (i, b) in block.iter_mut().enumerate() {
                *b = ((i * 4 + shift) % 256) as u8;
            }
            for rotate in 0..4 {
                block.rotate_left(rotate);
                for parts in 1..=4 {
                    let (mut fast, mut plain) = (block, block);
                    assert_eq!(block_masks(&mut fast, parts), block_masks_portable(&mut plain, parts));
                    assert_eq!(fast, plain, "lowercased {block:?}");
                    // The parts after `parts` are left as they were.
                    assert_eq!(fast[16 * parts..], block[16 * parts..]);
                }
                let mut plain = block;
                block_masks_portable(&mut plain, 4);
                assert_eq!(plain, block.map(|b| b.to_ascii_lowercase()));
            }
        }
    }

    /// Python's `[w if len(w.strip(p)) <= 2 else w.strip(p) for w in text.split()]`,
    /// written the plain way, for the bitmap tokenizer to agree with.
    fn plain_tokens(text: &str) -> Vec<&str> {
        text.split(is_space)
            .filter(|w| !w.is_empty())
            .map(|w| {
                let stripped = w.trim_matches(|c: char| c.is_ascii_punctuation());
                if stripped.chars().count() <= 2 { w } else { stripped }
            })
            .collect()
    }

    /// The tokens the bitmaps give, and the "!" and "?" counts, from a
    /// tokenizer that may have seen other texts before.
    fn bitmap_tokens<'a>(t: &mut Tokenizer, text: &'a str) -> (Vec<&'a str>, usize, usize) {
        let (marks, _) = t.classify(text);
        let mut spans = Vec::new();
        for_each_span(text.as_bytes(), &t.blocks, &mut spans);
        (spans.into_iter().map(|(s, e)| &text[s..e]).collect(), marks.exclamation, marks.question)
    }

    #[test]
    fn splits_like_python_on_unicode_spaces_and_block_edges() {
        let long = format!("{}!? x{}\u{3000}y!!", "a".repeat(61), "b\u{2028}".repeat(30));
        let texts =
            ["", "   ", "a", " a b ", "\u{a0}x\u{85}y\u{1680}z", "…’ “quoted” text", "(:  ...!! 'ok'", &long];
        // Twice over with one tokenizer: short texts after long ones too.
        let mut t = Tokenizer::default();
        for text in texts.iter().chain(&texts) {
            let (words, ex, q) = bitmap_tokens(&mut t, text);
            assert_eq!(words, plain_tokens(text), "{text:?}");
            assert_eq!((ex, q), (text.matches('!').count(), text.matches('?').count()));
        }
    }

    /// `describe`'s premise: of all non-ASCII characters, only the Kelvin
    /// sign lowercases to ASCII alone, and only it and `İ` give any ASCII.
    #[test]
    fn only_the_kelvin_sign_lowercases_to_ascii() {
        let gives_ascii: Vec<char> = (0x80..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|c| c.to_lowercase().any(|l| l.is_ascii()))
            .collect();
        assert_eq!(gives_ascii, ['\u{130}', '\u{212a}']);
        assert!(!"\u{130}".to_lowercase().is_ascii());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

        /// A token off the fast path is described as Unicode's lowercasing
        /// describes it: the same lexicon entry, "n't" and ALL CAPS.
        #[test]
        fn describe_agrees_with_unicode_lowercasing(
            token in "([a-zA-Z'\u{212a}\u{130}\u{de}\u{c9}\u{e9}\u{3a3}\u{65e5}\u{1f600}:-]|n't|N'T|O\u{212a}|\u{212a}ind|goo+d){1,12}"
        ) {
            // What the fast path of `tokenize` leaves to `describe`.
            proptest::prop_assume!(!token.is_ascii() || token.len() > MAX_WORD_BYTES);
            let lexicon = Lexicon::get();
            let ascii: Vec<u8> = token.bytes().map(|b| b.to_ascii_lowercase()).collect();
            let (key, nt, upper) = describe(&token, &ascii, &mut String::new());
            let lower = token.to_lowercase();
            let want = lexicon.lookup(lower.as_bytes());
            let got = lexicon.entry(key);
            proptest::prop_assert_eq!(
                (got.valence(), got.booster(), got.negate, got.word),
                (want.valence(), want.booster(), want.negate, want.word)
            );
            proptest::prop_assert_eq!(nt, lower.contains("n't"));
            proptest::prop_assert_eq!(upper, is_upper(&token));
        }

        #[test]
        fn tokens_are_python_tokens(texts in proptest::collection::vec(
            "([ a-zA-Z0-9!?.,:;'()#@\\-\t\n\u{1c}\u{a0}\u{2009}\u{3000}é😀…]{0,50}){0,4}", 1..4)
        ) {
            // One tokenizer for all: what an earlier text left in its buffers must not matter.
            let mut t = Tokenizer::default();
            for text in &texts {
                let (words, ex, q) = bitmap_tokens(&mut t, text);
                proptest::prop_assert_eq!(words, plain_tokens(text));
                proptest::prop_assert_eq!((ex, q), (text.matches('!').count(), text.matches('?').count()));
            }
        }
    }
}
