//! VADER's scoring rules (`SentimentIntensityAnalyzer.polarity_scores` of
//! vaderSentiment 3.3.2), rule for rule and in the same floating-point order.
//!
//! Each token is lowercased and looked up once; the rules then read the
//! precomputed [`Token`] facts. Comments name the Python function each piece mirrors,
//! so a reader can check the port side by side with `vaderSentiment.py`.

use super::lexicon::{B_DECR, BOOSTER_NGRAMS, Lexicon, SPECIAL_CASES, Word};
use super::tokenizer::{Marks, Token, Tokenizer};
use crate::sentiment::pystr::{round_half_even, round_half_even_units};
use serde::Serialize;

/// Empirical increase for a word in ALL CAPS while others are not (`C_INCR`).
const C_INCR: f64 = 0.733;
/// Negation scalar (`N_SCALAR`).
const N_SCALAR: f64 = -0.74;

/// The four scores of `polarity_scores`, rounded as Python rounds them
/// (compound to 4 decimals, the proportions to 3).
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize)]
pub struct Scores {
    pub compound: f64,
    pub pos: f64,
    pub neu: f64,
    pub neg: f64,
}

/// A VADER scorer with reusable scratch buffers: after the first few texts,
/// scoring allocates nothing. Cheap to create; keep one per thread.
pub struct SentimentAnalyzer {
    lexicon: &'static Lexicon,
    /// The text with emoji replaced by their descriptions, when it has any.
    demojized: String,
    tokenizer: Tokenizer,
    tokens: Vec<Token>,
    /// The lexicon words' sentiments, with their token indices, in order: the
    /// other tokens' sentiments are 0, and no rule changes a 0.
    scored: Vec<(usize, f64)>,
    /// Whether to score with the copy compiled for more instructions than
    /// x86-64's baseline ([`Self::sentiments_wide`]): the CPU has them.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    wide: bool,
}

impl Default for SentimentAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl SentimentAnalyzer {
    pub fn new() -> Self {
        SentimentAnalyzer {
            lexicon: Lexicon::get(),
            demojized: String::new(),
            tokenizer: Tokenizer::default(),
            tokens: Vec::new(),
            scored: Vec::new(),
            wide: has_wide_instructions(),
        }
    }

    /// A scorer that keeps to x86-64's baseline instructions even where the
    /// CPU has more: what other CPUs run, for tests to compare.
    #[doc(hidden)]
    pub fn baseline() -> Self {
        SentimentAnalyzer { wide: false, ..Self::new() }
    }

    /// Scores `text` exactly as Python's `polarity_scores(text)` does.
    pub fn polarity_scores(&mut self, text: &str) -> Scores {
        match self.sentiments(text) {
            Some(marks) => score_valence(self.tokens.len(), &self.scored, marks),
            None => Scores::default(),
        }
    }

    /// `polarity_scores(text)["compound"]` alone, in ten-thousandths (it has
    /// four decimals): what the per-day tables sum, without the proportions'
    /// divisions and roundings, nor the division back to a decimal.
    pub fn compound_e4(&mut self, text: &str) -> i64 {
        match self.sentiments(text) {
            Some(marks) => round_half_even_units(normalize(emphasized_sum(&self.scored, marks)), 4),
            None => 0,
        }
    }

    /// Fills `tokens` and `scored` for `text`; returns its marks, or None
    /// for a text of no tokens (all scores 0). With the wider instructions
    /// where the CPU has them.
    #[inline]
    fn sentiments(&mut self, text: &str) -> Option<Marks> {
        #[cfg(target_arch = "x86_64")]
        if self.wide {
            // SAFETY: `wide` is set only when the CPU has the instructions.
            return unsafe { self.sentiments_wide(text) };
        }
        self.sentiments_baseline(text)
    }

    /// [`Self::sentiments`] compiled for x86-64-v3's instructions less FMA
    /// (CPUs since about 2013). Why: the tokenizer is bit arithmetic, and
    /// these make it shorter (POPCNT for the "!" counts, BMI's shifts and bit
    /// scans, VEX encodings): 4.6% fewer instructions in the scorer. Both
    /// copies are the same code, and no floating-point instruction differs
    /// (Rust never fuses a multiply and an add), so the scores are the same
    /// bit for bit; the reference tests run both.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,bmi1,bmi2,lzcnt,popcnt")]
    #[inline(never)]
    unsafe fn sentiments_wide(&mut self, text: &str) -> Option<Marks> {
        self.sentiments_in(text)
    }

    /// [`Self::sentiments`] for x86-64's baseline (and other architectures).
    #[inline(never)]
    fn sentiments_baseline(&mut self, text: &str) -> Option<Marks> {
        self.sentiments_in(text)
    }

    /// The body of both copies of [`Self::sentiments`].
    #[inline(always)]
    fn sentiments_in(&mut self, text: &str) -> Option<Marks> {
        let text = if replace_emoji(self.lexicon, text, &mut self.demojized) {
            self.demojized.as_str()
        } else {
            text
        };
        let marks = self.tokenizer.tokenize(self.lexicon, text, &mut self.tokens);
        if self.tokens.is_empty() {
            return None;
        }
        let tokens = &self.tokens;
        let upper = tokens.iter().filter(|t| t.upper).count();
        // allcap_differential: some, but not all, tokens are ALL CAPS.
        let cap_diff = upper > 0 && upper < tokens.len();

        // Words outside the lexicon (most) score 0 in `sentiment_valence`, as
        // boosters and "kind" before "of" do here: only lexicon words are scored.
        let scored = &mut self.scored;
        scored.clear();
        for (i, t) in tokens.iter().enumerate() {
            if t.in_lexicon()
                && t.booster().is_none()
                && !(t.word() == Word::Kind && tokens.get(i + 1).is_some_and(|n| n.word() == Word::Of))
            {
                scored.push((i, sentiment_valence(tokens, i, cap_diff)));
            }
        }
        but_check(tokens, scored);
        Some(marks)
    }
}

/// Whether the CPU has the instructions of [`SentimentAnalyzer::sentiments_wide`]
/// (each answer is cached by the standard library).
fn has_wide_instructions() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("bmi1")
            && std::arch::is_x86_feature_detected!("bmi2")
            && std::arch::is_x86_feature_detected!("lzcnt")
            && std::arch::is_x86_feature_detected!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The emoji loop at the top of `polarity_scores`: each code point found in the emoji
/// lexicon becomes its description, preceded by a space unless the previous
/// character was one. Writes into `out` and returns true if the text had any.
///
/// No emoji lexicon key is ASCII, so only the non-ASCII characters are
/// looked up (found eight bytes at a time), and the text between emoji is
/// copied in runs.
#[inline(always)]
fn replace_emoji(lexicon: &Lexicon, text: &str, out: &mut String) -> bool {
    let b = text.as_bytes();
    if is_ascii(b) {
        return false;
    }
    // `copied`: where the text not yet written to `out` starts (after the
    // last emoji); `any`: an emoji was seen.
    let (mut copied, mut any, mut i) = (0, false, 0);
    while let Some(at) = next_non_ascii(b, i) {
        let Some(c) = text[at..].chars().next() else { break };
        i = at + c.len_utf8();
        let Some(description) = lexicon.emoji(c) else { continue };
        if !any {
            out.clear();
            any = true;
        }
        out.push_str(&text[copied..at]);
        // Python's `prev_space`: true at the start, else whether the
        // character before was ' ' (right after an emoji it is not; ' ' is
        // a byte never part of a longer character).
        let prev_space = at == 0 || b[at - 1] == b' ';
        if !prev_space {
            out.push(' ');
        }
        out.push_str(description);
        copied = i;
    }
    if any {
        out.push_str(&text[copied..]);
    }
    any
}

/// The first byte at or after `i` that is not ASCII, eight bytes at a time.
#[inline]
fn next_non_ascii(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(word) = b.get(i..i + 8) {
        let high = u64::from_le_bytes(word.try_into().expect("8 bytes")) & 0x8080_8080_8080_8080;
        if high != 0 {
            return Some(i + high.trailing_zeros() as usize / 8);
        }
        i += 8;
    }
    b.get(i..)?.iter().position(|&c| !c.is_ascii()).map(|j| i + j)
}

/// `b.is_ascii()`, eight bytes at a time and the last eight overlapping
/// (`str::is_ascii` goes through the tail byte by byte, most of a tweet).
#[inline]
fn is_ascii(b: &[u8]) -> bool {
    let Some(last) = b.last_chunk::<8>() else {
        return b.is_ascii();
    };
    let words = b.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
    words.fold(u64::from_le_bytes(*last), |any, w| any | w) & 0x8080_8080_8080_8080 == 0
}

/// `SentimentIntensityAnalyzer.sentiment_valence` for token `i`.
#[inline(always)]
fn sentiment_valence(t: &[Token], i: usize, cap_diff: bool) -> f64 {
    let Some(base) = t[i].valence() else {
        return 0.0;
    };
    let mut valence = base;
    // "no" before another lexicon word negates it instead of scoring itself.
    if t[i].word() == Word::No && i + 1 < t.len() && t[i + 1].in_lexicon() {
        valence = 0.0;
    }
    if (i > 0 && t[i - 1].word() == Word::No)
        || (i > 1 && t[i - 2].word() == Word::No)
        || (i > 2 && t[i - 3].word() == Word::No && matches!(t[i - 1].word(), Word::Or | Word::Nor))
    {
        valence = base * N_SCALAR;
    }
    if t[i].upper && cap_diff {
        if valence > 0.0 {
            valence += C_INCR;
        } else {
            valence -= C_INCR;
        }
    }
    for start_i in 0..3 {
        if i > start_i && !t[i - (start_i + 1)].in_lexicon() {
            let mut s = scalar_inc_dec(&t[i - (start_i + 1)], valence, cap_diff);
            if start_i == 1 && s != 0.0 {
                s *= 0.95;
            }
            if start_i == 2 && s != 0.0 {
                s *= 0.9;
            }
            valence += s;
            valence = negation_check(valence, t, start_i, i);
            if start_i == 2 {
                valence = special_idioms_check(valence, t, i);
            }
        }
    }
    least_check(valence, t, i)
}

/// `scalar_inc_dec`: the booster or dampener effect of a preceding word.
#[inline(always)]
fn scalar_inc_dec(word: &Token, valence: f64, cap_diff: bool) -> f64 {
    let Some(mut scalar) = word.booster() else {
        return 0.0;
    };
    if valence < 0.0 {
        scalar *= -1.0;
    }
    if word.upper && cap_diff {
        if valence > 0.0 {
            scalar += C_INCR;
        } else {
            scalar -= C_INCR;
        }
    }
    scalar
}

fn is_so_or_this(w: Word) -> bool {
    matches!(w, Word::So | Word::This)
}

/// `_negation_check`, including its operator precedence at three words back:
/// `never AND (so OR this) OR (so OR this one back)`.
#[inline(always)]
fn negation_check(valence: f64, t: &[Token], start_i: usize, i: usize) -> f64 {
    match start_i {
        0 if t[i - 1].negated => valence * N_SCALAR,
        1 => {
            if t[i - 2].word() == Word::Never && is_so_or_this(t[i - 1].word()) {
                valence * 1.25
            } else if t[i - 2].word() == Word::Without && t[i - 1].word() == Word::Doubt {
                valence
            } else if t[i - 2].negated {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        2 => {
            if (t[i - 3].word() == Word::Never && is_so_or_this(t[i - 2].word()))
                || is_so_or_this(t[i - 1].word())
            {
                valence * 1.25
            } else if t[i - 3].word() == Word::Without
                && (t[i - 2].word() == Word::Doubt || t[i - 1].word() == Word::Doubt)
            {
                valence
            } else if t[i - 3].negated {
                valence * N_SCALAR
            } else {
                valence
            }
        }
        _ => valence,
    }
}

/// Up to three rule words as one number (their count, then each word a
/// byte): a sequence is compared with a special case or an n-gram in one
/// comparison, not word by word with a branch on each.
const fn seq_code(seq: &[Word]) -> u32 {
    assert!(seq.len() <= 3, "a code holds three words");
    let mut code = seq.len() as u32;
    let mut k = 0;
    while k < seq.len() {
        code |= (seq[k] as u32) << (8 * (k + 1));
        k += 1;
    }
    code
}

/// [`SPECIAL_CASES`] by [`seq_code`].
const SPECIAL_CODES: [(u32, f64); SPECIAL_CASES.len()] = {
    let mut codes = [(0, 0.0); SPECIAL_CASES.len()];
    let mut k = 0;
    while k < codes.len() {
        codes[k] = (seq_code(SPECIAL_CASES[k].0), SPECIAL_CASES[k].1);
        k += 1;
    }
    codes
};

/// [`BOOSTER_NGRAMS`] by [`seq_code`].
const NGRAM_CODES: [u32; BOOSTER_NGRAMS.len()] = {
    let mut codes = [0; BOOSTER_NGRAMS.len()];
    let mut k = 0;
    while k < codes.len() {
        codes[k] = seq_code(BOOSTER_NGRAMS[k]);
        k += 1;
    }
    codes
};

/// The value of the special case `seq` (by [`seq_code`]), if it is one.
#[inline(always)]
fn special_case(seq: &[Word]) -> Option<f64> {
    let code = seq_code(seq);
    // Every code looked at, no early exit: the scan has no branch per code,
    // and no two special cases share a code (a test holds it).
    let mut found = None;
    for &(c, v) in &SPECIAL_CODES {
        if c == code {
            found = Some(v);
        }
    }
    found
}

/// `_special_idioms_check` (only reached with `i > 2`).
#[inline(always)]
fn special_idioms_check(mut valence: f64, t: &[Token], i: usize) -> f64 {
    let w = |j: usize| t[j].word();
    let (w3, w2, w1, w0) = (w(i - 3), w(i - 2), w(i - 1), w(i));
    // Every sequence below holds w0, w1 or w2, and every idiom and n-gram is
    // of rule words only: with none of the three a rule word (most times),
    // nothing can match.
    if [w0, w1, w2] == [Word::Other; 3] {
        return valence;
    }
    let three_two_one = [w3, w2, w1];
    let three_two = [w3, w2];
    let two_one = [w2, w1];
    let sequences: [&[Word]; 5] = [&[w1, w0], &[w2, w1, w0], &two_one, &three_two_one, &three_two];
    if let Some(v) = sequences.iter().find_map(|seq| special_case(seq)) {
        valence = v;
    }
    if t.len() - 1 > i
        && let Some(v) = special_case(&[w0, w(i + 1)])
    {
        valence = v;
    }
    if t.len() - 1 > i + 1
        && let Some(v) = special_case(&[w0, w(i + 1), w(i + 2)])
    {
        valence = v;
    }
    for ngram in [&three_two_one[..], &three_two, &two_one] {
        if NGRAM_CODES.contains(&seq_code(ngram)) {
            valence += B_DECR;
        }
    }
    valence
}

/// `_least_check`: "least" before a word negates it, except "at least" and "very least".
#[inline(always)]
fn least_check(valence: f64, t: &[Token], i: usize) -> f64 {
    let least_before = i > 0 && !t[i - 1].in_lexicon() && t[i - 1].word() == Word::Least;
    if i > 1 && least_before {
        if t[i - 2].word() != Word::At && t[i - 2].word() != Word::Very {
            return valence * N_SCALAR;
        }
        valence
    } else if least_before {
        valence * N_SCALAR
    } else {
        valence
    }
}

/// `_but_check`, with its `list.index` behaviour: for each element in turn, Python
/// finds the *first* element equal to it and scales that one, so of several equal
/// scores only the first is scaled (once per copy), and the first "but" decides.
///
/// It runs over the scored words only (token index, sentiment). That is exact:
/// the sentiments left out are all 0, scaling a 0 leaves a 0, and a search for
/// a value other than 0 never stops at one. Zeros among the scored are skipped
/// for the same reason. Above a few hundred scored words, the linear `index`
/// scan (quadratic overall) is replaced by an index of positions per value,
/// with identical results.
#[inline(always)]
fn but_check(t: &[Token], scored: &mut [(usize, f64)]) {
    let Some(bi) = t.iter().position(|t| t.word() == Word::But) else {
        return;
    };
    let scale = |token: usize, v: f64| match token.cmp(&bi) {
        std::cmp::Ordering::Less => Some(v * 0.5),
        std::cmp::Ordering::Greater => Some(v * 1.5),
        std::cmp::Ordering::Equal => None,
    };
    if scored.len() <= 256 {
        for k in 0..scored.len() {
            let v = scored[k].1;
            if v == 0.0 {
                continue;
            }
            let first = scored[..=k].iter().position(|&(_, x)| x == v).unwrap_or(k);
            if let Some(scaled) = scale(scored[first].0, v) {
                scored[first].1 = scaled;
            }
        }
        return;
    }
    let mut positions: rustc_hash::FxHashMap<u64, std::collections::BTreeSet<usize>> = Default::default();
    for (k, &(_, s)) in scored.iter().enumerate() {
        if s != 0.0 {
            positions.entry(s.to_bits()).or_default().insert(k);
        }
    }
    for k in 0..scored.len() {
        let v = scored[k].1;
        if v == 0.0 {
            continue;
        }
        let same = positions.get_mut(&v.to_bits()).expect("every nonzero value is indexed");
        let first = same.pop_first().expect("k itself holds v");
        let scaled = scale(scored[first].0, v).unwrap_or(v);
        scored[first].1 = scaled;
        if scaled != 0.0 {
            positions.entry(scaled.to_bits()).or_default().insert(first);
        }
    }
}

/// `normalize(score, alpha=15)`.
fn normalize(score: f64) -> f64 {
    (score / (score * score + 15.0).sqrt()).clamp(-1.0, 1.0)
}

/// `_punctuation_emphasis`: up to four "!" and, from two on, "?".
fn punctuation_emphasis(marks: Marks) -> f64 {
    let (ep, qm) = (marks.exclamation, marks.question);
    let ep_amplifier = ep.min(4) as f64 * 0.292;
    let qm_amplifier = match qm {
        0 | 1 => 0.0,
        2 | 3 => qm as f64 * 0.18,
        _ => 0.96,
    };
    ep_amplifier + qm_amplifier
}

/// The sum that `score_valence` normalizes into the compound score.
/// `sum_s` is Python 3.11's sum(): plain left-to-right addition. Adding 0.0
/// leaves a sum that is not -0.0 unchanged, and these sums never are, so
/// only the `scored` sentiments are added.
fn emphasized_sum(scored: &[(usize, f64)], marks: Marks) -> f64 {
    let mut sum_s = scored.iter().fold(0.0f64, |sum, &(_, s)| sum + s);
    let punct = punctuation_emphasis(marks);
    if sum_s > 0.0 {
        sum_s += punct;
    } else if sum_s < 0.0 {
        sum_s -= punct;
    }
    sum_s
}

/// `score_valence` and `_sift_sentiment_scores` over `tokens` sentiments, of
/// which only the `scored` ones (in order) can be other than 0.
fn score_valence(tokens: usize, scored: &[(usize, f64)], marks: Marks) -> Scores {
    let (mut pos_sum, mut neg_sum) = (0.0f64, 0.0f64);
    let mut neu_count = (tokens - scored.len()) as u32;
    // Without branches: signs are unpredictable.
    for &(_, s) in scored {
        pos_sum += if s > 0.0 { s + 1.0 } else { 0.0 };
        neg_sum += if s < 0.0 { s - 1.0 } else { 0.0 };
        neu_count += u32::from(s == 0.0);
    }
    let punct = punctuation_emphasis(marks);
    if pos_sum > neg_sum.abs() {
        pos_sum += punct;
    } else if pos_sum < neg_sum.abs() {
        neg_sum -= punct;
    }
    let total = pos_sum + neg_sum.abs() + f64::from(neu_count);
    Scores {
        compound: round_half_even(normalize(emphasized_sum(scored, marks)), 4),
        pos: round_half_even((pos_sum / total).abs(), 3),
        neu: round_half_even((f64::from(neu_count) / total).abs(), 3),
        neg: round_half_even((neg_sum / total).abs(), 3),
    }
}

#[cfg(test)]
mod tests {
    use super::super::lexicon::Entry;
    use super::*;

    /// A literal transliteration of Python's `_but_check` loop (pop and insert at
    /// the index of the first equal value), to check the fast paths against.
    fn but_check_python(bi: usize, sentiments: &mut Vec<f64>) {
        for k in 0..sentiments.len() {
            let sentiment = sentiments[k];
            let si = sentiments.iter().position(|&x| x == sentiment).unwrap();
            if si < bi {
                sentiments.remove(si);
                sentiments.insert(si, sentiment * 0.5);
            } else if si > bi {
                sentiments.remove(si);
                sentiments.insert(si, sentiment * 1.5);
            }
        }
    }

    fn tokens_with_but_at(n: usize, bi: usize) -> Vec<Token> {
        let but = Lexicon::get().lookup(b"but");
        assert_eq!(but.word, Word::But);
        (0..n)
            .map(|k| Token {
                entry: if k == bi { but } else { Entry::default() },
                negated: false,
                upper: false,
            })
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn but_check_matches_python_list_semantics(
            values in proptest::collection::vec(proptest::sample::select(vec![0.0, 1.9, -1.9, 0.95, 2.85, -2.5, 3.0]), 1..700),
            zero_scored in proptest::collection::vec(proptest::bool::ANY, 700),
            bi_seed in 0usize..10_000,
        ) {
            let bi = bi_seed % values.len();
            let mut expected = values.clone();
            but_check_python(bi, &mut expected);
            // The scored words: every nonzero sentiment, and some zeros (a
            // lexicon word can score 0); the others are words outside the lexicon.
            let mut scored: Vec<(usize, f64)> =
                values.iter().copied().enumerate().filter(|&(i, v)| v != 0.0 || zero_scored[i]).collect();
            but_check(&tokens_with_but_at(values.len(), bi), &mut scored);
            let mut got = vec![0.0; values.len()];
            for (i, v) in scored {
                got[i] = v;
            }
            proptest::prop_assert_eq!(got, expected);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// The emoji replacement equals Python's loop, character by
        /// character, restated literally.
        #[test]
        fn emoji_are_replaced_as_python_replaces_them(
            text in "[ ab.\u{e9}\u{65e5}\u{1f600}\u{1f44d}\u{2764}\u{fe0f}\u{200d}\u{1f525}\u{a9}]{0,30}"
        ) {
            let lexicon = Lexicon::get();
            let (mut python, mut prev_space) = (String::new(), true);
            for c in text.chars() {
                match lexicon.emoji(c) {
                    Some(description) => {
                        if !prev_space {
                            python.push(' ');
                        }
                        python.push_str(description);
                        prev_space = false;
                    }
                    None => {
                        python.push(c);
                        prev_space = c == ' ';
                    }
                }
            }
            let mut out = String::from("left over");
            let replaced = replace_emoji(lexicon, &text, &mut out);
            proptest::prop_assert_eq!(replaced, python != text);
            if replaced {
                proptest::prop_assert_eq!(out, python);
            }
        }
    }

    /// Special cases and n-grams found by code are those found word by
    /// word, for every sequence of two and three words (each rule word and
    /// any other).
    #[test]
    fn sequences_by_code_are_sequences_word_by_word() {
        let words: Vec<Word> = std::iter::once(Word::Other)
            .chain(super::super::lexicon::RULE_WORDS.iter().map(|&(_, w)| w))
            .collect();
        let mut seqs: Vec<Vec<Word>> = Vec::new();
        for &a in &words {
            for &b in &words {
                seqs.push(vec![a, b]);
                seqs.extend(words.iter().map(|&c| vec![a, b, c]));
            }
        }
        let codes: std::collections::HashSet<u32> = seqs.iter().map(|s| seq_code(s)).collect();
        assert_eq!(codes.len(), seqs.len(), "one code per sequence");
        for seq in &seqs {
            let by_words = SPECIAL_CASES.iter().find(|(w, _)| *w == seq.as_slice()).map(|&(_, v)| v);
            assert_eq!(special_case(seq), by_words, "{seq:?}");
            assert_eq!(
                NGRAM_CODES.contains(&seq_code(seq)),
                BOOSTER_NGRAMS.contains(&seq.as_slice()),
                "{seq:?}"
            );
        }
    }

    /// `special_idioms_check`'s shortcut: no idiom or n-gram holds a word
    /// that is not a rule word.
    #[test]
    fn idioms_and_ngrams_are_of_rule_words_only() {
        let words = SPECIAL_CASES.iter().map(|(w, _)| *w).chain(BOOSTER_NGRAMS.iter().copied());
        assert!(words.flatten().all(|&w| w != Word::Other));
        // And the words are those of the lexicon's rule words: "kiss of death".
        let kiss = [b"kiss".as_slice(), b"of", b"death"].map(|w| Lexicon::get().lookup(w).word);
        assert!(SPECIAL_CASES.iter().any(|(w, _)| **w == kiss));
    }

    #[test]
    fn is_ascii_sees_a_high_byte_anywhere() {
        for len in 0..40 {
            let plain = vec![b'a'; len];
            assert!(is_ascii(&plain));
            for at in 0..len {
                let mut b = plain.clone();
                b[at] = 0x80;
                assert!(!is_ascii(&b), "{len} {at}");
            }
        }
    }

    #[test]
    fn demo_sentences_score_as_in_python() {
        let mut a = SentimentAnalyzer::new();
        let s = a.polarity_scores("VADER is smart, handsome, and funny.");
        assert_eq!(s, Scores { compound: 0.8316, pos: 0.746, neu: 0.254, neg: 0.0 });
        let s = a.polarity_scores("");
        assert_eq!(s, Scores::default());
    }
}
