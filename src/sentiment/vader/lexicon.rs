//! The VADER 3.3.2 lexicons, embedded at build time, and the word table built from them.
//!
//! Python VADER looks a lowercased token up in up to four places (the lexicon,
//! `BOOSTER_DICT`, `NEGATE`, and string comparisons against a dozen rule words).
//! Here one hash lookup per token returns all of it as an [`Entry`], so the rules
//! later compare small integers instead of strings.

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

use crate::sentiment::pystr::is_space;
use crate::sentiment::word_table::WordTable;
pub use crate::sentiment::word_table::{Key, MAX_WORD_BYTES};

const VADER_LEXICON: &str = include_str!("data/vader_lexicon.txt");
const EMOJI_LEXICON: &str = include_str!("data/emoji_utf8_lexicon.txt");

/// Booster increment (`B_INCR`).
pub const B_INCR: f64 = 0.293;
/// Dampener increment (`B_DECR`).
pub const B_DECR: f64 = -0.293;

/// Single-word entries of `BOOSTER_DICT`. Its multi-word keys ("kind of", "sort of",
/// "just enough") only ever match as n-grams, see [`BOOSTER_NGRAMS`].
const BOOSTERS: &[(&str, f64)] = &[
    ("absolutely", B_INCR),
    ("amazingly", B_INCR),
    ("awfully", B_INCR),
    ("completely", B_INCR),
    ("considerable", B_INCR),
    ("considerably", B_INCR),
    ("decidedly", B_INCR),
    ("deeply", B_INCR),
    ("effing", B_INCR),
    ("enormous", B_INCR),
    ("enormously", B_INCR),
    ("entirely", B_INCR),
    ("especially", B_INCR),
    ("exceptional", B_INCR),
    ("exceptionally", B_INCR),
    ("extreme", B_INCR),
    ("extremely", B_INCR),
    ("fabulously", B_INCR),
    ("flipping", B_INCR),
    ("flippin", B_INCR),
    ("frackin", B_INCR),
    ("fracking", B_INCR),
    ("fricking", B_INCR),
    ("frickin", B_INCR),
    ("frigging", B_INCR),
    ("friggin", B_INCR),
    ("fully", B_INCR),
    ("fuckin", B_INCR),
    ("fucking", B_INCR),
    ("fuggin", B_INCR),
    ("fugging", B_INCR),
    ("greatly", B_INCR),
    ("hella", B_INCR),
    ("highly", B_INCR),
    ("hugely", B_INCR),
    ("incredible", B_INCR),
    ("incredibly", B_INCR),
    ("intensely", B_INCR),
    ("major", B_INCR),
    ("majorly", B_INCR),
    ("more", B_INCR),
    ("most", B_INCR),
    ("particularly", B_INCR),
    ("purely", B_INCR),
    ("quite", B_INCR),
    ("really", B_INCR),
    ("remarkably", B_INCR),
    ("so", B_INCR),
    ("substantially", B_INCR),
    ("thoroughly", B_INCR),
    ("total", B_INCR),
    ("totally", B_INCR),
    ("tremendous", B_INCR),
    ("tremendously", B_INCR),
    ("uber", B_INCR),
    ("unbelievably", B_INCR),
    ("unusually", B_INCR),
    ("utter", B_INCR),
    ("utterly", B_INCR),
    ("very", B_INCR),
    ("almost", B_DECR),
    ("barely", B_DECR),
    ("hardly", B_DECR),
    ("kinda", B_DECR),
    ("kindof", B_DECR),
    ("kind-of", B_DECR),
    ("less", B_DECR),
    ("little", B_DECR),
    ("marginal", B_DECR),
    ("marginally", B_DECR),
    ("occasional", B_DECR),
    ("occasionally", B_DECR),
    ("partly", B_DECR),
    ("scarce", B_DECR),
    ("scarcely", B_DECR),
    ("slight", B_DECR),
    ("slightly", B_DECR),
    ("somewhat", B_DECR),
    ("sorta", B_DECR),
    ("sortof", B_DECR),
    ("sort-of", B_DECR),
];

/// `NEGATE`.
const NEGATE: &[&str] = &[
    "aint",
    "arent",
    "cannot",
    "cant",
    "couldnt",
    "darent",
    "didnt",
    "doesnt",
    "ain't",
    "aren't",
    "can't",
    "couldn't",
    "daren't",
    "didn't",
    "doesn't",
    "dont",
    "hadnt",
    "hasnt",
    "havent",
    "isnt",
    "mightnt",
    "mustnt",
    "neither",
    "don't",
    "hadn't",
    "hasn't",
    "haven't",
    "isn't",
    "mightn't",
    "mustn't",
    "neednt",
    "needn't",
    "never",
    "none",
    "nope",
    "nor",
    "not",
    "nothing",
    "nowhere",
    "oughtnt",
    "shant",
    "shouldnt",
    "uhuh",
    "wasnt",
    "werent",
    "oughtn't",
    "shan't",
    "shouldn't",
    "uh-uh",
    "wasn't",
    "weren't",
    "without",
    "wont",
    "wouldnt",
    "won't",
    "wouldn't",
    "rarely",
    "seldom",
    "despite",
];

/// Words the rules compare by name (`words[i-1].lower() == "least"` and so on),
/// including every word of the idioms and booster n-grams.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
#[repr(u8)]
pub enum Word {
    #[default]
    Other,
    At,
    Ass,
    Bad,
    Beating,
    Bomb,
    Bus,
    But,
    Death,
    Die,
    Doubt,
    Enough,
    For,
    Heart,
    Just,
    Kind,
    Kiss,
    Least,
    Never,
    No,
    Nor,
    Of,
    Or,
    Right,
    Shit,
    So,
    Sort,
    Stop,
    The,
    This,
    To,
    Very,
    Without,
    Yeah,
}

pub(super) const RULE_WORDS: &[(&str, Word)] = &[
    ("at", Word::At),
    ("ass", Word::Ass),
    ("bad", Word::Bad),
    ("beating", Word::Beating),
    ("bomb", Word::Bomb),
    ("bus", Word::Bus),
    ("but", Word::But),
    ("death", Word::Death),
    ("die", Word::Die),
    ("doubt", Word::Doubt),
    ("enough", Word::Enough),
    ("for", Word::For),
    ("heart", Word::Heart),
    ("just", Word::Just),
    ("kind", Word::Kind),
    ("kiss", Word::Kiss),
    ("least", Word::Least),
    ("never", Word::Never),
    ("no", Word::No),
    ("nor", Word::Nor),
    ("of", Word::Of),
    ("or", Word::Or),
    ("right", Word::Right),
    ("shit", Word::Shit),
    ("so", Word::So),
    ("sort", Word::Sort),
    ("stop", Word::Stop),
    ("the", Word::The),
    ("this", Word::This),
    ("to", Word::To),
    ("very", Word::Very),
    ("without", Word::Without),
    ("yeah", Word::Yeah),
];

/// `SPECIAL_CASES` as word sequences. Python joins 2 or 3 lowercased tokens with a
/// space and looks the string up; since a token never contains whitespace, that is
/// the same as comparing word by word. The key "badass" has no space and so can
/// never match a joined sequence; Python never applies it, and neither do we.
pub const SPECIAL_CASES: &[(&[Word], f64)] = &[
    (&[Word::The, Word::Shit], 3.0),
    (&[Word::The, Word::Bomb], 3.0),
    (&[Word::Bad, Word::Ass], 1.5),
    (&[Word::Bus, Word::Stop], 0.0),
    (&[Word::Yeah, Word::Right], -2.0),
    (&[Word::Kiss, Word::Of, Word::Death], -1.5),
    (&[Word::To, Word::Die, Word::For], 3.0),
    (&[Word::Beating, Word::Heart], 3.5),
];

/// The multi-word keys of `BOOSTER_DICT`, all dampeners.
pub const BOOSTER_NGRAMS: &[&[Word]] =
    &[&[Word::Just, Word::Enough], &[Word::Kind, Word::Of], &[Word::Sort, Word::Of]];

/// Everything the rules need to know about one lowercased word, in 4 bytes.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// Valence from `vader_lexicon.txt` in tenths (every value there has one
    /// decimal), or [`NOT_IN_LEXICON`].
    tenths: i8,
    /// `BOOSTER_DICT` entry: +1 for `B_INCR`, -1 for `B_DECR`, 0 if none.
    booster: i8,
    /// The word is in `NEGATE`.
    pub negate: bool,
    /// The word's name, if a rule compares against it.
    pub word: Word,
}

const NOT_IN_LEXICON: i8 = i8::MIN;

/// `TENTHS[t as u8]` is `t / 10` as Python parses it from the lexicon: a
/// correctly rounded division gives the double nearest to the decimal, as
/// `float("1.9")` does.
static TENTHS: [f64; 256] = {
    let mut table = [0.0; 256];
    let mut t = 0;
    while t < 256 {
        table[t] = (t as u8 as i8) as f64 / 10.0;
        t += 1;
    }
    table
};

impl Default for Entry {
    fn default() -> Self {
        Entry { tenths: NOT_IN_LEXICON, booster: 0, negate: false, word: Word::Other }
    }
}

impl Entry {
    /// The lexicon valence, if the word is in the lexicon.
    #[inline]
    pub fn valence(&self) -> Option<f64> {
        (self.tenths != NOT_IN_LEXICON).then(|| TENTHS[usize::from(self.tenths as u8)])
    }

    /// Whether the word is in the lexicon.
    #[inline]
    pub fn in_lexicon(&self) -> bool {
        self.tenths != NOT_IN_LEXICON
    }

    /// The booster increment, if the word is a booster or dampener.
    #[inline]
    pub fn booster(&self) -> Option<f64> {
        match self.booster {
            0 => None,
            b if b > 0 => Some(B_INCR),
            _ => Some(B_DECR),
        }
    }
}

/// The lexicon tables, built once per process from the embedded files.
pub struct Lexicon {
    words: WordTable<Entry>,
    emoji: FxHashMap<char, &'static str>,
}

/// The word table's first working attempt for this lexicon (see
/// [`WordTable::new`]; a test holds it).
const TABLE_ATTEMPT: u32 = 4;

impl Lexicon {
    /// The process-wide tables (built on first use, about a millisecond).
    pub fn get() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(Lexicon::build)
    }

    fn build() -> Lexicon {
        let mut words: FxHashMap<Key, Entry> = FxHashMap::default();
        // make_lex_dict: `line.strip().split('\t')[0:2]`, later duplicates win.
        for line in VADER_LEXICON.trim_end_matches('\n').split('\n') {
            if line.is_empty() {
                continue;
            }
            let mut cols = line.trim_matches(is_space).split('\t');
            let (Some(word), Some(measure)) = (cols.next(), cols.next()) else {
                panic!("embedded vader_lexicon.txt: malformed line {line:?}");
            };
            let valence: f64 = measure
                .parse()
                .unwrap_or_else(|_| panic!("embedded vader_lexicon.txt: bad number {measure:?}"));
            let tenths = (valence * 10.0).round();
            assert!(
                tenths.abs() < 128.0 && TENTHS[usize::from(tenths as i8 as u8)] == valence,
                "embedded vader_lexicon.txt: {measure:?} is not a whole number of tenths"
            );
            if let Some(key) = Key::new(word.as_bytes()) {
                words.entry(key).or_default().tenths = tenths as i8;
            }
            // Longer keys cannot be looked up (tokens beyond MAX_WORD_BYTES skip the
            // lookup); the lexicon has none, which the tests check.
        }
        for &(word, incr) in BOOSTERS {
            words.entry(Key::new(word.as_bytes()).expect("short rule word")).or_default().booster =
                if incr > 0.0 { 1 } else { -1 };
        }
        for &word in NEGATE {
            words.entry(Key::new(word.as_bytes()).expect("short rule word")).or_default().negate = true;
        }
        for &(name, word) in RULE_WORDS {
            words.entry(Key::new(name.as_bytes()).expect("short rule word")).or_default().word = word;
        }

        let mut emoji = FxHashMap::default();
        for line in EMOJI_LEXICON.trim_end_matches('\n').split('\n') {
            let mut cols = line.trim_matches(is_space).split('\t');
            let (Some(key), Some(description)) = (cols.next(), cols.next()) else {
                panic!("embedded emoji_utf8_lexicon.txt: malformed line {line:?}");
            };
            // Python tests `chr in self.emojis` one code point at a time, so only
            // single-code-point keys can ever match (sequences with U+FE0F or
            // ZWJ never do).
            let mut chars = key.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                emoji.insert(c, description);
            }
        }
        Lexicon { words: WordTable::new(&words, TABLE_ATTEMPT), emoji }
    }

    /// The entry for an already lowercased word (the default entry if unknown).
    #[cfg(test)]
    pub fn lookup(&self, lowercase: &[u8]) -> Entry {
        Key::new(lowercase).map(|k| self.entry(k)).unwrap_or_default()
    }

    /// The entry for a key (the default entry if unknown).
    #[inline(always)]
    pub fn entry(&self, key: Key) -> Entry {
        self.words.get(&key)
    }

    /// The emoji lexicon's description of one code point.
    #[inline]
    pub fn emoji(&self, c: char) -> Option<&'static str> {
        self.emoji.get(&c).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_lexicon_keys_keep_the_last_value() {
        // Parse the file independently and check every key resolves to its last line.
        let mut last = std::collections::HashMap::new();
        for line in VADER_LEXICON.lines().filter(|l| !l.is_empty()) {
            let mut cols = line.trim().split('\t');
            last.insert(cols.next().unwrap(), cols.next().unwrap().parse::<f64>().unwrap());
        }
        assert!(last.len() > 7000);
        let lex = Lexicon::get();
        for (word, valence) in last {
            assert!(word.len() <= MAX_WORD_BYTES, "{word} is longer than MAX_WORD_BYTES");
            assert_eq!(lex.lookup(word.as_bytes()).valence(), Some(valence), "{word}");
        }
    }

    #[test]
    fn rule_words_and_boosters_are_found() {
        let lex = Lexicon::get();
        assert_eq!(lex.lookup(b"so").word, Word::So);
        assert_eq!(lex.lookup(b"so").booster(), Some(B_INCR));
        assert_eq!(lex.lookup(b"barely").booster(), Some(B_DECR));
        assert!(lex.lookup(b"won't").negate);
        assert_eq!(lex.lookup(b"good").valence(), Some(1.9));
        assert_eq!(lex.lookup(b"zzzunknown").valence(), None);
        assert_eq!(std::mem::size_of::<Entry>(), 4);
        assert_eq!(lex.emoji('😁'), Some("beaming face with smiling eyes"));
    }

    #[test]
    fn the_word_table_finds_exactly_its_words() {
        let lex = Lexicon::get();
        let words = lex.words.slots().iter().filter(|(k, _)| k.0 != [0; 3]).count();
        assert!(words > 7000, "{words} words placed");
        for (key, entry) in lex.words.slots() {
            let found = lex.entry(*key);
            assert_eq!(
                (found.tenths, found.booster, found.negate, found.word),
                (entry.tenths, entry.booster, entry.negate, entry.word)
            );
        }
        // Near misses of real words: a letter more, less or changed.
        for w in ["goodd", "goo", "gpod", "lovee", "nott", "zzzunknown", "", "a", "the_"] {
            let e = lex.lookup(w.as_bytes());
            assert!(!e.in_lexicon() && e.booster().is_none() && !e.negate && e.word == Word::Other, "{w}");
        }
    }

    /// The table is built at the first attempt tried: a change to the
    /// lexicon that makes `TABLE_ATTEMPT` fail still builds a table, more
    /// slowly, and this test names the attempt to write down instead.
    #[test]
    fn the_word_table_is_built_at_its_first_attempt() {
        assert_eq!(Lexicon::get().words.attempt(), TABLE_ATTEMPT);
    }
}
