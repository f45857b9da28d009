//! TextBlob's tokenizer (`textblob._text.find_tokens`, then the sarcasm and
//! emoticon rewrites, then `" ".join(sentences).split()`), as one pass that
//! gives the same tokens without rebuilding the string five times.
//!
//! Python rewrites the whole string in steps; each step is reproduced here at
//! the place where its effect is decided:
//! 1. contractions: `"n't"` → `" n't"` (the other six, `'d`, `'m`, `'s`,
//!    `'ll`, `'re`, `'ve`, only insert a space before an apostrophe, which
//!    step 2 inserts anyway): a token boundary before every `n't`;
//! 2. quotes (`“ ” ‘ ’ ' "`) get spaces around them: each is a token of its own
//!    (so `"don't"` becomes `do n ' t`, as in Python);
//! 3. `\r\n` → `\n`, then every run of two or more `\n` → `END-OF-SENTENCE`,
//!    then all whitespace (Python's `isspace`) separates tokens;
//! 4. each token loses its leading punctuation and its trailing punctuation,
//!    ellipses and periods (unless it is an abbreviation), one token each;
//! 5. sentences end after a run of `. ! ? ...` (with closing quotes and
//!    brackets); `END-OF-SENTENCE` ends one and is dropped;
//! 6. per sentence, `( ! )` becomes `(!)`, then an emoticon written across
//!    tokens (`: )`, `: ' (`) becomes one token, as Python's regular
//!    expression `(emoticon with optional spaces)($|\s)` rewrites it.

use super::scan::next_special;
use crate::sentiment::pystr::is_space;
use crate::sentiment::word_table::{Key, ascii_key};
use std::sync::OnceLock;

/// What follows the lowercased copy of a text: zeros, enough for a word-table
/// key (24 bytes) and a block search ([`super::scan::PADDING`]) from its end.
const LOWERED_PADDING: &str = "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
const _: () = assert!(LOWERED_PADDING.len() >= super::scan::PADDING && LOWERED_PADDING.len() >= 24);

/// Python's `PUNCTUATION` (the tokenizer's and the emoticon rule's).
pub const PUNCTUATION: &str = ".,;:!?()[]{}`''\"@#$^&*+-|=~_";

/// [`PUNCTUATION`] without the period (which step 4 splits separately), as a
/// table.
static IS_PUNCTUATION: [bool; 128] = {
    let mut t = [false; 128];
    let marks = PUNCTUATION.as_bytes();
    let mut i = 0;
    while i < marks.len() {
        t[marks[i] as usize] = marks[i] != b'.';
        i += 1;
    }
    t
};

#[inline]
fn is_punctuation(b: u8) -> bool {
    b < 128 && IS_PUNCTUATION[b as usize]
}

/// The keys of Python's `replacements`: such a token keeps its punctuation.
const CONTRACTIONS: &[&str] = &["'d", "'m", "'s", "'ll", "'re", "'ve", "n't"];

/// Whether a token is one of [`CONTRACTIONS`] (it cannot be: step 2 puts
/// every apostrophe in a token of its own; checked as Python does anyway).
#[inline]
fn is_contraction(t: &[u8]) -> bool {
    matches!(t.first(), Some(b'\'' | b'n')) && t.len() <= 3 && CONTRACTIONS.iter().any(|c| c.as_bytes() == t)
}

/// Quotes that get spaces around them (step 2).
fn is_quote(c: char) -> bool {
    matches!(c, '“' | '”' | '‘' | '’' | '\'' | '"')
}

/// Python's `ABBREVIATIONS`.
const ABBREVIATIONS: &[&str] = &[
    "Med.", "Mil.", "Mr.", "a.", "a.m.", "adj.", "adv.", "al.", "c.", "cf.", "comp.", "conf.", "def.",
    "e.g.", "ed.", "esp.", "etc.", "ex.", "f.", "fig.", "gen.", "i.e.", "id.", "int.", "l.", "m.", "n.",
    "n.q.", "orig.", "pl.", "pred.", "pres.", "p.m.", "ref.", "v.", "vs.", "w/",
];

/// Up to seven bytes as one integer (little-endian, the length in the top
/// byte), so that short strings compare as integers.
const fn pack(b: &[u8]) -> u64 {
    let mut x = (b.len() as u64) << 56;
    let mut i = 0;
    while i < b.len() && i < 7 {
        x |= (b[i] as u64) << (8 * i);
        i += 1;
    }
    x
}

/// [`ABBREVIATIONS`] packed and sorted, for a binary search.
static ABBREVIATION_KEYS: [u64; ABBREVIATIONS.len()] = {
    let mut keys = [0u64; ABBREVIATIONS.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = pack(ABBREVIATIONS[i].as_bytes());
        // Insertion sort.
        let mut j = i;
        while j > 0 && keys[j - 1] > keys[j] {
            let k = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = k;
            j -= 1;
        }
        i += 1;
    }
    keys
};

/// The paragraph-break token of step 3.
pub const EOS: &str = "END-OF-SENTENCE";

/// Whether a token ending in `.` keeps it: a listed abbreviation, or one of
/// Python's three patterns: `^[A-Za-z]\.$`, `^([A-Za-z]\.)+$`, and
/// `^[A-Z][b|c|d|…|z]+.$` (the `|` is in the class, as written there).
fn is_abbreviation(t: &str) -> bool {
    // The listed ones: at most five bytes, so a token is one integer.
    if t.len() <= 5 && ABBREVIATION_KEYS.binary_search(&pack(t.as_bytes())).is_ok() {
        return true;
    }
    let b = t.as_bytes();
    // RE_ABBR1 is RE_ABBR2 with one pair.
    if b.len().is_multiple_of(2) && b.chunks(2).all(|p| p[0].is_ascii_alphabetic() && p[1] == b'.') {
        return true;
    }
    b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b[1..b.len() - 1].iter().all(|c| b"bcdfghjklmnpqrstvwxz|".contains(c))
        // `.` matches any character but a newline (and a token holds none).
        && b[b.len() - 1] != b'\n'
}

/// The emoticons of Python's `EMOTICONS`, by mood in its (insertion) order,
/// with their polarity. A regular expression alternation tries them in this
/// order; within a mood Python's order is a set's (it varies by process), but
/// there no emoticon is a prefix of another, so the order cannot matter.
pub const EMOTICONS: &[(f64, &[&str])] = &[
    (1.0, &["<3", "♥"]),
    (1.0, &[">:D", ":-D", ":D", "=-D", "=D", "X-D", "x-D", "XD", "xD", "8-D"]),
    (0.75, &[">:P", ":-P", ":P", ":-p", ":p", ":-b", ":b", ":c)", ":o)", ":^)"]),
    (0.5, &[">:)", ":-)", ":)", "=)", "=]", ":]", ":}", ":>", ":3", "8)", "8-)"]),
    (0.25, &[">;]", ";-)", ";)", ";-]", ";]", ";D", ";^)", "*-)", "*)"]),
    (0.05, &[">:o", ":-O", ":O", ":o", ":-o", "o_O", "o.O", "°O°", "°o°"]),
    (-0.25, &[">:/", ":-/", ":/", ":\\", ">:\\", ":-.", ":-s", ":s", ":S", ":-S", ">.>"]),
    (-0.75, &[">:[", ":-(", ":(", "=(", ":-[", ":[", ":{", ":-<", ":c", ":-c", "=/"]),
    (-1.0, &[":'(", ":'''(", ";'("]),
];

/// The longest emoticon, in bytes (`°O°`, `:'''(`).
const MAX_EMOTICON_BYTES: usize = 5;

/// Whether a token ends a sentence: `...`, `.`, `!`, `?` or `EOS`.
#[inline]
fn ends_sentence(t: &[u8]) -> bool {
    // Most tokens start otherwise: one well-predicted test for them.
    matches!(t.first(), Some(b'.' | b'!' | b'?' | b'E'))
        && (matches!(t, b"." | b"!" | b"?" | b"...") || is_eos(t))
}

#[inline]
fn is_eos(t: &[u8]) -> bool {
    t.len() == EOS.len() && t == EOS.as_bytes()
}

/// Whether byte `b` may start an emoticon, written as it is or lowercased: a
/// quick filter before trying them.
#[inline]
fn may_start_emoticon(b: u8) -> bool {
    EMOTICON_FIRST[b as usize]
}

/// First bytes of emoticons (`♥` and `°` start with 0xE2 and 0xC2).
static EMOTICON_FIRST: [bool; 256] = {
    let mut t = [false; 256];
    let firsts = b"<>:=Xx8;*o\xe2\xc2";
    let mut i = 0;
    while i < firsts.len() {
        t[firsts[i] as usize] = true;
        i += 1;
    }
    t
};

/// Pairs of bytes that follow each other in an emoticon (of the bytes as
/// listed), as a bitset indexed by `first << 8 | second`: a token can start
/// an emoticon written across tokens only if its last byte and the next
/// word's first byte are such a pair.
static EMOTICON_PAIRS: [u64; 1024] = {
    let mut t = [0u64; 1024];
    let mut mood = 0;
    while mood < EMOTICONS.len() {
        let list = EMOTICONS[mood].1;
        let mut k = 0;
        while k < list.len() {
            let e = list[k].as_bytes();
            let mut p = 0;
            while p + 1 < e.len() {
                let pair = (e[p] as usize) << 8 | e[p + 1] as usize;
                t[pair / 64] |= 1 << (pair % 64);
                p += 1;
            }
            k += 1;
        }
        mood += 1;
    }
    t
};

/// Whether `first` then `second` occur in that order in some emoticon.
#[inline]
fn emoticon_pair(first: u8, second: u8) -> bool {
    let pair = (first as usize) << 8 | second as usize;
    EMOTICON_PAIRS[pair / 64] & (1 << (pair % 64)) != 0
}

/// The emoticons as a trie of their bytes. Walking it along the text finds
/// every emoticon that starts at a given byte in one pass; Python's
/// alternation takes the first of them in [`EMOTICONS`] order, so each
/// terminal node keeps its emoticon's place in that order.
struct Trie {
    nodes: Vec<Node>,
}

/// A trie node: its children by byte, and the order of the emoticon ending
/// there, if one does.
#[derive(Default)]
struct Node {
    children: Vec<(u8, u32)>,
    ends: Option<u32>,
}

impl Trie {
    fn get() -> &'static Trie {
        static TRIE: OnceLock<Trie> = OnceLock::new();
        TRIE.get_or_init(|| {
            let mut t = Trie { nodes: vec![Node::default()] };
            for (order, e) in EMOTICONS.iter().flat_map(|(_, mood)| mood.iter()).enumerate() {
                let mut node = 0;
                for &b in e.as_bytes() {
                    node = match t.child(node, b) {
                        Some(next) => next,
                        None => {
                            t.nodes.push(Node::default());
                            let next = (t.nodes.len() - 1) as u32;
                            t.nodes[node as usize].children.push((b, next));
                            next
                        }
                    };
                }
                let end = &mut t.nodes[node as usize].ends;
                *end = Some(end.map_or(order as u32, |o| o.min(order as u32)));
            }
            t
        })
    }

    #[inline]
    fn child(&self, node: u32, b: u8) -> Option<u32> {
        self.nodes[node as usize].children.iter().find(|(c, _)| *c == b).map(|(_, n)| *n)
    }
}

/// A token: a range of [`Tokenizer::text`].
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

/// Splits texts into TextBlob's tokens; reuses its buffers from one text to
/// the next.
#[derive(Default)]
pub struct Tokenizer {
    /// Token texts, back to back (merged tokens are appended).
    text: String,
    /// Tokens of steps 1-4, with `EOS` tokens.
    found: Vec<Span>,
    /// Tokens after steps 5-6, in order.
    tokens: Vec<Span>,
    /// Trailing punctuation of the token being split, innermost last.
    tail: Vec<Span>,
    /// The `EOS` token, once a text needs it.
    eos: Option<Span>,
    /// The sentence being rewritten, before and after `( ! )`.
    words: Vec<Span>,
    sarcastic: Vec<Span>,
    /// `text` with its ASCII letters lowercased, then [`LOWERED_PADDING`]:
    /// plain runs are found in it, and an ASCII token's lowercase form and
    /// word-table key are read from it.
    lowered: String,
}

impl Tokenizer {
    /// Tokenizes `s`; the tokens are then read with [`Tokenizer::tokens`].
    pub fn tokenize(&mut self, s: &str) {
        self.begin(s);
        self.find_tokens(s);
        if self.nothing_to_rewrite() {
            // Steps 5-6 would give the tokens as they are.
            std::mem::swap(&mut self.found, &mut self.tokens);
        } else {
            self.sentences();
        }
        if self.text.len() > s.len() {
            // The `EOS` token or merged tokens were appended: lowercase them too.
            self.lowered.truncate(s.len());
            self.lowered.push_str(&self.text[s.len()..]);
            self.lowered[s.len()..].make_ascii_lowercase();
            self.lowered.push_str(LOWERED_PADDING);
        }
    }

    /// Forgets the last text and takes `s`: tokens are spans of a copy of it
    /// (the `EOS` token and merged tokens are appended after it), and runs of
    /// plain bytes are found in its lowercased copy.
    fn begin(&mut self, s: &str) {
        self.text.clear();
        self.text.push_str(s);
        self.lowered.clear();
        self.lowered.push_str(s);
        self.lowered.make_ascii_lowercase();
        self.lowered.push_str(LOWERED_PADDING);
        self.eos = None;
        self.found.clear();
        self.tokens.clear();
    }

    /// How many tokens the last text has.
    pub fn count(&self) -> usize {
        self.tokens.len()
    }

    /// Token `i` lowercased (Python's `lower()`), and its word-table key
    /// ([`Key::NONE`] if it is too long to be a word): read from the
    /// lowercased copy of the text for ASCII tokens, lowercased into `buf`
    /// for others.
    #[inline]
    pub fn lowercase<'a>(&'a self, i: usize, buf: &'a mut String) -> (&'a str, Key) {
        let Span { start, end } = self.tokens[i];
        if let Some(key) = ascii_key(self.lowered.as_bytes(), start, end - start) {
            return (&self.lowered[start..end], key);
        }
        buf.clear();
        let token = &self.text[start..end];
        if token.is_ascii() {
            buf.push_str(&self.lowered[start..end]);
        } else {
            buf.push_str(&token.to_lowercase());
        }
        (buf, Key::new(buf.as_bytes()).unwrap_or(Key::NONE))
    }

    /// Whether steps 5-6 leave the tokens as step 4 found them (most
    /// texts): no paragraph break to drop, no `(` that could start `( ! )`,
    /// and no two neighbouring tokens that could hold one emoticon between
    /// them (sentences only keep emoticons from joining across them).
    fn nothing_to_rewrite(&self) -> bool {
        if self.eos.is_some() {
            return false;
        }
        let bytes = self.text.as_bytes();
        let mut previous_last: Option<u8> = None;
        for span in &self.found {
            let t = &bytes[span.start..span.end];
            let (Some(&first), Some(&last)) = (t.first(), t.last()) else { continue };
            if t == b"(" || previous_last.is_some_and(|p| emoticon_pair(p, first)) {
                return false;
            }
            previous_last = Some(last);
        }
        true
    }

    /// The tokens of the last text, in order.
    #[cfg(test)]
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(|s| &self.text[s.start..s.end])
    }

    /// A token's bytes (comparisons need no character boundaries).
    fn span(&self, s: Span) -> &[u8] {
        &self.text.as_bytes()[s.start..s.end]
    }

    /// Steps 1-4. Runs of plain bytes are found a block at a time in the
    /// lowercased, padded copy (lowercasing keeps a byte plain or not); the
    /// bytes that are not plain are read from `s`.
    fn find_tokens(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut start: Option<usize> = None;
        let mut newlines = 0u32;
        let mut i = 0;
        loop {
            let j = next_special(self.lowered.as_bytes(), i);
            if j > i && start.is_none() {
                // Plain bytes start a token.
                if newlines > 0 {
                    self.paragraph_break(&mut newlines);
                }
                start = Some(i);
            }
            if j >= bytes.len() {
                break;
            }
            i = j;
            if bytes[i] == b' ' {
                // The usual separator.
                if let Some(st) = start.take() {
                    self.split(s, st, i);
                }
                if newlines > 0 {
                    self.paragraph_break(&mut newlines);
                }
                i += 1;
                continue;
            }
            let c = match bytes[i] {
                b if b < 128 => b as char,
                _ => s[i..].chars().next().unwrap_or(' '),
            };
            let width = c.len_utf8();
            if is_space(c) {
                if let Some(st) = start.take() {
                    self.split(s, st, i);
                }
                match c {
                    '\n' => newlines += 1,
                    // "\r\n" is one "\n".
                    '\r' if bytes.get(i + 1) == Some(&b'\n') => {}
                    _ => self.paragraph_break(&mut newlines),
                }
                i += width;
                continue;
            }
            self.paragraph_break(&mut newlines);
            if is_quote(c) {
                if let Some(st) = start.take() {
                    // Step 1 before step 2: "n't" becomes " n't", so a token
                    // ending in `n` before "'t" loses the `n` to a token of its own.
                    if c == '\'' && bytes[i - 1] == b'n' && bytes.get(i + 1) == Some(&b't') {
                        if st < i - 1 {
                            self.split(s, st, i - 1);
                        }
                        self.split(s, i - 1, i);
                    } else {
                        self.split(s, st, i);
                    }
                }
                self.split(s, i, i + width);
            } else if start.is_none() {
                start = Some(i);
            }
            i += width;
        }
        if let Some(st) = start {
            self.split(s, st, bytes.len());
        }
        self.paragraph_break(&mut newlines);
    }

    /// Ends a run of newlines: two or more make an `EOS` token.
    fn paragraph_break(&mut self, newlines: &mut u32) {
        if *newlines >= 2 {
            let eos = match self.eos {
                Some(span) => span,
                None => {
                    let start = self.text.len();
                    self.text.push_str(EOS);
                    let span = Span { start, end: self.text.len() };
                    self.eos = Some(span);
                    span
                }
            };
            self.found.push(eos);
        }
        *newlines = 0;
    }

    /// Step 4 for the whitespace-separated token `s[from..to]`: its leading
    /// punctuation, then the token, then its trailing punctuation, ellipses
    /// and periods, each a token.
    #[inline(always)]
    fn split(&mut self, s: &str, from: usize, to: usize) {
        let b = s.as_bytes();
        let (first, last) = (b[from], b[to - 1]);
        let ends = |c: u8| is_punctuation(c) || c == b'.';
        if !is_punctuation(first) {
            if !ends(last) {
                // Nothing to split off (the usual case).
                self.found.push(Span { start: from, end: to });
                return;
            }
            if to - from >= 2 && !ends(b[to - 2]) {
                // One mark after a word ("word," "word."; a contraction
                // starts with a mark or ends in a letter, so this is none).
                if last == b'.' && is_abbreviation(&s[from..to]) {
                    self.found.push(Span { start: from, end: to });
                } else {
                    self.found.push(Span { start: from, end: to - 1 });
                    self.found.push(Span { start: to - 1, end: to });
                }
                return;
            }
        }
        self.split_punctuated(s, from, to);
    }

    /// [`Tokenizer::split`] for a token with punctuation to split off.
    #[inline(never)]
    fn split_punctuated(&mut self, s: &str, from: usize, to: usize) {
        let b = s.as_bytes();
        let span = |start, end| Span { start, end };
        let (mut lo, mut hi) = (from, to);
        while lo < hi && is_punctuation(b[lo]) && !is_contraction(&b[lo..hi]) {
            self.found.push(span(lo, lo + 1));
            lo += 1;
        }
        self.tail.clear();
        while lo < hi {
            let last = b[hi - 1];
            if !(is_punctuation(last) || last == b'.') || is_contraction(&b[lo..hi]) {
                break;
            }
            if is_punctuation(last) {
                self.tail.push(span(hi - 1, hi));
                hi -= 1;
            }
            if b[lo..hi].ends_with(b"...") {
                self.tail.push(span(hi - 3, hi));
                hi -= 3;
                // Python's `t[:-3].rstrip(".")`: further periods are dropped.
                while hi > lo && b[hi - 1] == b'.' {
                    hi -= 1;
                }
            }
            if hi > lo && b[hi - 1] == b'.' {
                if is_abbreviation(&s[lo..hi]) {
                    break;
                }
                self.tail.push(span(hi - 1, hi));
                hi -= 1;
            }
        }
        if hi > lo {
            self.found.push(span(lo, hi));
        }
        while let Some(t) = self.tail.pop() {
            self.found.push(t);
        }
    }

    /// Step 5, then step 6 per sentence.
    fn sentences(&mut self) {
        let n = self.found.len();
        let (mut i, mut j) = (0, 0);
        while j < n {
            if ends_sentence(self.span(self.found[j])) {
                while j < n {
                    let t = self.span(self.found[j]);
                    if !(ends_sentence(t)
                        || matches!(t, b"'" | b"\"" | b")")
                        || t == "”".as_bytes()
                        || t == "’".as_bytes())
                    {
                        break;
                    }
                    // Python counts the quote in the sentence being built,
                    // which is still empty here: a quote always stops the run.
                    if t == b"'" || t == b"\"" {
                        break;
                    }
                    j += 1;
                }
                self.sentence(i, j);
                i = j;
            }
            j += 1;
        }
        self.sentence(i, n);
    }

    /// Appends the tokens `found[from..to]` (without `EOS`) as one sentence,
    /// rewritten by step 6.
    fn sentence(&mut self, from: usize, to: usize) {
        let found = std::mem::take(&mut self.found);
        let sentence = &found[from.min(found.len())..to.min(found.len())];
        let mut words = std::mem::take(&mut self.words);
        words.clear();
        let mut paren = false;
        for &w in sentence {
            let t = self.span(w);
            if !is_eos(t) {
                paren |= t == b"(";
                words.push(w);
            }
        }
        if paren {
            let mut sarcastic = std::mem::take(&mut self.sarcastic);
            sarcastic.clear();
            self.sarcasm(&words, &mut sarcastic);
            self.emoticons(&sarcastic);
            self.sarcastic = sarcastic;
        } else {
            self.emoticons(&words);
        }
        (self.words, self.found) = (words, found);
    }

    /// `( ! )` → `(!)`, from `words` into `out`.
    fn sarcasm(&mut self, words: &[Span], out: &mut Vec<Span>) {
        let mut k = 0;
        while k < words.len() {
            if k + 2 < words.len()
                && self.span(words[k]) == b"("
                && self.span(words[k + 1]) == b"!"
                && self.span(words[k + 2]) == b")"
            {
                out.push(self.join(&words[k..k + 3]));
                k += 3;
            } else {
                out.push(words[k]);
                k += 1;
            }
        }
    }

    /// Emoticons across tokens → one token, from `words` onto `tokens`: at
    /// each character, in order, the first emoticon that matches from there
    /// and ends where a token ends.
    fn emoticons(&mut self, words: &[Span]) {
        let trie = Trie::get();
        let mut k = 0;
        while k < words.len() {
            let mut last = k;
            let token = self.span(words[k]);
            // A match within the token leaves it as it is: only a match that
            // goes on into the next word changes anything, and then the token
            // ends with part of an emoticon that the next word continues.
            // (The usual case, quickly.)
            let joins = match (token.last(), words.get(k + 1)) {
                (Some(&last), Some(next)) => {
                    self.span(*next).first().is_some_and(|&f| emoticon_pair(last, f))
                }
                _ => false,
            };
            if !joins {
                self.tokens.push(words[k]);
                k += 1;
                continue;
            }
            // A match from byte `o` takes the rest of the token, so only the
            // token's last few bytes can start one. Bytes, not characters: an
            // emoticon starts with a leading byte, so it cannot match from
            // the middle of a character. The first match found (leftmost,
            // then in Python's order) wins, even one within the token.
            let from = token.len().saturating_sub(MAX_EMOTICON_BYTES);
            for (o, &b) in token.iter().enumerate().skip(from) {
                if !may_start_emoticon(b) {
                    continue;
                }
                if let Some(end) = self.match_from(trie, words, k, o) {
                    last = end;
                    break;
                }
            }
            let joined = self.join(&words[k..=last]);
            self.tokens.push(joined);
            k = last + 1;
        }
    }

    /// If an emoticon is written from byte `o` of `words[k]` to the end of
    /// some later word (one space between words allowed anywhere), the index
    /// of that last word, for the first such emoticon in Python's order.
    fn match_from(&self, trie: &Trie, words: &[Span], k: usize, o: usize) -> Option<usize> {
        let mut node = 0;
        let mut best: Option<(u32, usize)> = None;
        let mut piece = &self.span(words[k])[o..];
        let mut at = k;
        loop {
            for &b in piece {
                match trie.child(node, b) {
                    Some(next) => node = next,
                    None => return best.map(|(_, at)| at),
                }
            }
            // An emoticon ends here, where a word ends.
            if let Some(order) = trie.nodes[node as usize].ends
                && best.is_none_or(|(o, _)| order < o)
            {
                best = Some((order, at));
            }
            at += 1;
            match words.get(at) {
                Some(w) if !trie.nodes[node as usize].children.is_empty() => piece = self.span(*w),
                _ => return best.map(|(_, at)| at),
            }
        }
    }

    /// One token of `words` concatenated (the token itself if there is one).
    fn join(&mut self, words: &[Span]) -> Span {
        if let [one] = words {
            return *one;
        }
        let start = self.text.len();
        for s in words {
            self.text.extend_from_within(s.start..s.end);
        }
        Span { start, end: self.text.len() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        let mut t = Tokenizer::default();
        t.tokenize(s);
        t.tokens().map(str::to_owned).collect()
    }

    #[test]
    fn splits_like_textblob() {
        // Each expected list is `" ".join(find_tokens(s)).split()` in Python,
        // after the sarcasm and emoticon rewrites.
        let cases: &[(&str, &[&str])] = &[
            ("I don't like it.", &["I", "do", "n", "'", "t", "like", "it", "."]),
            ("The U.S. is big, e.g. Texas...", &["The", "U.S.", "is", "big", ",", "e.g.", "Texas", "..."]),
            ("Mr. Smith (!) said: great :-) ok", &["Mr.", "Smith", "(!)", "said", ":", "great", ":-)", "ok"]),
            ("so sad : ' (", &["so", "sad", ":'("]),
            ("wow!!!", &["wow", "!", "!", "!"]),
            ("“quoted”", &["“", "quoted", "”"]),
            ("one\n\ntwo", &["one", "two"]),
        ];
        for (s, want) in cases {
            assert_eq!(tokens(s), *want, "{s:?}");
        }
    }

    /// Python's emoticon rewrite of one sentence, restated with a regular
    /// expression as TextBlob writes it: each emoticon's characters joined by
    /// an optional space, then `($|\s)`, replaced by the emoticon without
    /// spaces (the `regex` crate's alternation is leftmost-first, as Python's).
    fn python_emoticons(tokens: &[String]) -> Vec<String> {
        static RE: OnceLock<regex::Regex> = OnceLock::new();
        let re = RE.get_or_init(|| {
            let alternatives: Vec<String> = EMOTICONS
                .iter()
                .flat_map(|(_, mood)| mood.iter())
                .map(|e| e.chars().map(|c| regex::escape(&c.to_string())).collect::<Vec<_>>().join(" ?"))
                .collect();
            regex::Regex::new(&format!("({})($|\\s)", alternatives.join("|"))).unwrap()
        });
        let sentence = tokens.join(" ");
        let rewritten = re.replace_all(&sentence, |c: &regex::Captures<'_>| c[1].replace(' ', "") + &c[2]);
        rewritten.split_whitespace().map(str::to_owned).collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Emoticons across tokens are joined exactly as Python's regular
        /// expression joins them, on sentences made of emoticon pieces and
        /// words that end or start like them.
        #[test]
        fn emoticons_are_joined_like_pythons_rewrite(picks in proptest::collection::vec(0usize..1000, 1..12)) {
            let mut vocabulary: Vec<String> = ["so", "to", "x", "X", "8", "o", "O", "xo", "boxD", "good", "c", "D",
                "(", ")", ":", "'", "-", "^", "3", "<", ">", "°", "♥", "=", ";", "p", "b", "s", "S", "/", "\\", "[", "]",
                "*", "_", ".", "{", "}", "''", "'''", "8-", ":o", "o_", ">:", "x-", ":'", ":c"]
                .iter().map(|s| s.to_string()).collect();
            for e in EMOTICONS.iter().flat_map(|(_, mood)| mood.iter()) {
                let chars: Vec<char> = e.chars().collect();
                for cut in 1..chars.len() {
                    vocabulary.push(chars[..cut].iter().collect());
                    vocabulary.push(chars[cut..].iter().collect());
                }
                vocabulary.push((*e).to_owned());
            }
            let tokens: Vec<String> = picks.iter().map(|p| vocabulary[p % vocabulary.len()].clone()).collect();
            let mut t = Tokenizer { text: tokens.join(" "), ..Tokenizer::default() };
            let mut words = Vec::new();
            let mut at = 0;
            for w in &tokens {
                words.push(Span { start: at, end: at + w.len() });
                at += w.len() + 1;
            }
            t.emoticons(&words);
            let ours: Vec<String> = t.tokens().map(str::to_owned).collect();
            proptest::prop_assert_eq!(ours, python_emoticons(&tokens), "{:?}", tokens);
        }
    }

    /// Python's steps 1-4 restated as TextBlob writes them: the replacements
    /// and quote spacing as string replacements, `\r\n` and `\n{2,}`, a split
    /// on whitespace, then step 4 per token (the general split, which the
    /// quick ones are held to below).
    fn python_find_tokens(text: &str) -> Vec<String> {
        let mut s = text.to_owned();
        for c in CONTRACTIONS {
            s = s.replace(c, &format!(" {c}"));
        }
        for q in ["“", "”", "‘", "’", "'", "\""] {
            s = s.replace(q, &format!(" {q} "));
        }
        s = s.replace("\r\n", "\n");
        let s = regex::Regex::new("\n{2,}").unwrap().replace_all(&s, format!(" {EOS} "));
        let mut out = Vec::new();
        for token in s.split(is_space).filter(|t| !t.is_empty()) {
            let mut t = Tokenizer::default();
            t.split_punctuated(token, 0, token.len());
            out.extend(t.found.iter().map(|f| token[f.start..f.end].to_owned()));
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// Steps 1-4 find the tokens Python's string rewrites find, on texts
        /// of pieces written next to each other.
        #[test]
        fn tokens_are_found_like_pythons_rewrites(picks in proptest::collection::vec(0usize..1000, 0..24)) {
            let pieces = ["do", "n", "N", "t", "T", "n't", "N'T", "'", "\"", "’", "“", "”", "‘", " ", "  ", "\t",
                "\n", "\n\n", "\r\n", "\r", "\u{a0}", "\u{3000}", "\u{85}", "é", "ñ", "\0", "\x7f", "\x01", ".",
                "...", ",", "(", "!", "Mr.", "U.S.", "e.g.", "can", "'s", "'ll", "x", "0123456789abcdefghij", ":-)"];
            let text: String = picks.iter().map(|p| pieces[p % pieces.len()]).collect();
            let mut t = Tokenizer::default();
            t.begin(&text);
            t.find_tokens(&text);
            let ours: Vec<String> = t.found.iter().map(|s| t.text[s.start..s.end].to_owned()).collect();
            proptest::prop_assert_eq!(ours, python_find_tokens(&text), "{:?}", text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The shortcut past steps 5-6 gives what they give.
        #[test]
        fn the_shortcut_changes_no_token(picks in proptest::collection::vec(0usize..1000, 1..16)) {
            let pieces = ["so", "to", "good", "x", "o", "8", ":", ")", "(", "!", "?", ".", "...", "'", "-", "D",
                "P", "\n\n", "\n", " ", "(!)", ":-)", "<3", "°", "♥", "n't", "Mr.", "e.g.", ";", "=", "\"", "”"];
            let text: String = picks.iter().map(|p| pieces[p % pieces.len()]).collect::<Vec<_>>().join(" ");
            let mut shortcut = Tokenizer::default();
            shortcut.tokenize(&text);
            let mut full = Tokenizer::default();
            full.begin(&text);
            full.find_tokens(&text);
            full.sentences();
            let (a, b): (Vec<&str>, Vec<&str>) = (shortcut.tokens().collect(), full.tokens().collect());
            proptest::prop_assert_eq!(a, b, "{:?}", text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        /// The quick cases of step 4 split as the general one does.
        #[test]
        fn quick_splits_are_the_general_ones(token in "[a-zA-Z.,!?;:()'\"nt#@-]{1,8}") {
            let (mut quick, mut general) = (Tokenizer::default(), Tokenizer::default());
            quick.split(&token, 0, token.len());
            general.split_punctuated(&token, 0, token.len());
            let spans = |t: &Tokenizer| t.found.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>();
            proptest::prop_assert_eq!(spans(&quick), spans(&general), "{:?}", token);
        }
    }

    #[test]
    fn every_emoticon_starts_with_a_listed_character() {
        for e in EMOTICONS.iter().flat_map(|(_, m)| m.iter()) {
            assert!(may_start_emoticon(e.as_bytes()[0]), "{e}");
            assert!(may_start_emoticon(e.to_lowercase().as_bytes()[0]), "{e}");
        }
    }

    #[test]
    fn the_longest_emoticon_is_known() {
        let longest = EMOTICONS.iter().flat_map(|(_, m)| m.iter()).map(|e| e.len()).max();
        assert_eq!(longest, Some(MAX_EMOTICON_BYTES));
    }

    #[test]
    fn no_emoticon_is_a_prefix_of_another_of_the_same_mood() {
        for (_, mood) in EMOTICONS {
            for a in *mood {
                for b in *mood {
                    assert!(a == b || !b.starts_with(a), "{a} / {b}");
                }
            }
        }
    }

    #[test]
    fn abbreviations() {
        assert!(
            ABBREVIATIONS.iter().all(|a| a.len() <= 5),
            "is_abbreviation packs tokens of five bytes at most"
        );
        for a in ABBREVIATIONS {
            assert!(is_abbreviation(a), "{a}");
        }
        for t in ["U.S.", "a.", "Mr.", "Mrs.", "Ms.", "Dr.", "e.g.", "St|."] {
            assert!(is_abbreviation(t), "{t}");
        }
        for t in ["us.", "USA.", "Mr", "...", "Mé."] {
            assert!(!is_abbreviation(t), "{t}");
        }
    }
}
