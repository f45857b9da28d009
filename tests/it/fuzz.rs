//! Property tests: any input, however odd, scores (sentiment) and splits (hashtags)
//! without panicking, deterministically, and within range.

use proptest::prelude::*;
use tweetstream::sentiment::textblob::{Sentiment, TextBlob};
use tweetstream::sentiment::vader::{Scores, SentimentAnalyzer};
use tweetstream::transforms::hashtags::{HashtagMode, for_each_hashtag};

/// Tokens that exercise VADER's rules, mixed with odd characters.
fn tricky_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "but",
            "BUT",
            "no",
            "No",
            "not",
            "never",
            "so",
            "this",
            "least",
            "at",
            "very",
            "kind",
            "of",
            "sort",
            "just",
            "enough",
            "without",
            "doubt",
            "the",
            "shit",
            "bomb",
            "bad",
            "ass",
            "yeah",
            "right",
            "kiss",
            "death",
            "to",
            "die",
            "for",
            "beating",
            "heart",
            "GOOD",
            "good",
            "great",
            "horrible",
            "isn't",
            "can't",
            "lol",
            ":)",
            ":D",
            ":-(",
            "!!!",
            "??",
            "?",
            "!",
            "💔",
            "😁",
            "👨\u{200d}👩\u{200d}👧",
            "❤️",
            "#love",
            "@user",
            "http://t.co/x#y",
            "\u{fffd}",
            "\0",
            "\u{2028}",
            "\u{1c5}",
            "ΣΑΣ",
            "İ",
            "\u{212a}ILL",
            "\r",
            "\x1c",
            "",
            " ",
            "\u{3000}",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,12}",
        any::<String>(),
    ]
}

fn tricky_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (tricky_token(), prop::sample::select(vec![" ", "  ", "\t", ", ", "\n", ""])),
        0..60,
    )
    .prop_map(|parts| parts.into_iter().flat_map(|(t, sep)| [t, sep.to_owned()]).collect())
}

fn check(scores: Scores) {
    assert!((-1.0..=1.0).contains(&scores.compound), "{scores:?}");
    for p in [scores.pos, scores.neu, scores.neg] {
        assert!((0.0..=1.0).contains(&p), "{scores:?}");
    }
    let total = scores.pos + scores.neu + scores.neg;
    // The proportions sum to 1 before rounding (or are all zero for no tokens).
    assert!(total == 0.0 || (total - 1.0).abs() <= 0.0025, "{scores:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_text_scores_in_range_and_deterministically(text in tricky_text()) {
        let mut a = SentimentAnalyzer::new();
        let first = a.polarity_scores(&text);
        check(first);
        // Same analyzer again (scratch buffers reused) and a fresh one.
        prop_assert_eq!(a.polarity_scores(&text), first);
        prop_assert_eq!(SentimentAnalyzer::new().polarity_scores(&text), first);
    }

    #[test]
    fn arbitrary_unicode_never_panics(text in any::<String>()) {
        check(SentimentAnalyzer::new().polarity_scores(&text));
    }
}

#[test]
fn huge_lines_score_without_blowing_up() {
    // 1 MiB of lexicon words and "but": the worst case for the `but` rule.
    let unit = "good bad great but horrible love hate ";
    let text = unit.repeat((1 << 20) / unit.len());
    let scores = SentimentAnalyzer::new().polarity_scores(&text);
    check(scores);
    let zwj = "👨\u{200d}👩\u{200d}👧\u{200d}👦".repeat(20_000);
    check(SentimentAnalyzer::new().polarity_scores(&zwj));
}

proptest! {
    #[test]
    fn hashtag_extraction_never_panics(text in tricky_text()) {
        for mode in [HashtagMode::Twitter, HashtagMode::Spark] {
            let mut n = 0;
            for_each_hashtag(mode, &text, &mut String::new(), |t| {
                assert!(t.starts_with('#') || t.starts_with('＃'));
                n += 1;
            });
            prop_assert!(n <= text.len());
        }
    }
}

/// Text made of the pieces that hashtag rules turn on: hash signs (also
/// fullwidth), letters in several scripts and cases (Σ lowercases by position),
/// digits (also non-ASCII ones), marks, `_`, `&`, URL prefixes, punctuation,
/// and every kind of whitespace.
fn hashtag_text() -> impl Strategy<Value = String> {
    let pieces = vec![
        "#", "#", "#", "＃", "a", "Z", "_", "7", "٣", "é", "É", "ß", "Σ", "ς", "日本", "\u{301}", "&", "'",
        ",", ".", "!", ":", "/", "://", "http://", "HTTPS://", "www.", "WWW.", "x", "²", "Ⅻ", "😀",
        "\u{fe0f}", "\u{ef}", " ", " ", "\t", "\n", "\u{b}", "\u{a0}", "\u{3000}", "\u{2028}", "\u{85}",
        "\u{1c}",
    ];
    prop::collection::vec(prop::sample::select(pieces), 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    /// The engine's fast extractor finds exactly the tags of the rules restated
    /// with regex classes (`tests/it/common`), in order.
    #[test]
    fn twitter_hashtags_follow_the_rules(text in hashtag_text()) {
        let mut got = Vec::new();
        for_each_hashtag(HashtagMode::Twitter, &text, &mut String::new(), |t| got.push(t.to_owned()));
        prop_assert_eq!(got, crate::common::twitter_tags(&text), "{:?}", text);
    }
}

/// Tokens that exercise TextBlob's tokenizer and rules: emoticon pieces,
/// quotes, contractions, abbreviations, paragraph breaks, negations,
/// modifiers, `!` and `(!)`.
fn textblob_token() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            ":",
            ")",
            "(",
            "'",
            "\"",
            "!",
            "(!)",
            "( ! )",
            "...",
            ".",
            "..",
            "-",
            "^",
            ";",
            "=",
            ">",
            "<",
            "3",
            "D",
            "o",
            "O",
            "x",
            "_",
            "°",
            "♥",
            "“",
            "”",
            "‘",
            "’",
            "n't",
            "don't",
            "U.S.",
            "e.g.",
            "Mr.",
            "very",
            "really",
            "not",
            "no",
            "never",
            "good",
            "bad",
            "great",
            "terribly",
            "happily",
            "\n\n",
            "\r\n",
            "\r",
            "END-OF-SENTENCE",
            "#U.S.",
            "@x",
            "Σ",
            "İ",
            "\u{2028}",
            "\u{1c}",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,8}",
        any::<String>(),
    ]
}

fn textblob_text() -> impl Strategy<Value = String> {
    prop::collection::vec((textblob_token(), prop::sample::select(vec![" ", "", "  ", "\n"])), 0..60)
        .prop_map(|parts| parts.into_iter().flat_map(|(t, sep)| [t, sep.to_owned()]).collect())
}

fn check_blob(s: Sentiment) {
    assert!((-1.0..=1.0).contains(&s.polarity), "{s:?}");
    assert!((0.0..=1.0).contains(&s.subjectivity), "{s:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn textblob_scores_any_text_in_range_and_deterministically(text in textblob_text()) {
        let mut a = TextBlob::new();
        let first = a.sentiment(&text);
        check_blob(first);
        let again = a.sentiment(&text);
        prop_assert_eq!(again.polarity.to_bits(), first.polarity.to_bits());
        let fresh = TextBlob::new().sentiment(&text);
        prop_assert_eq!(fresh.subjectivity.to_bits(), first.subjectivity.to_bits());
    }

    #[test]
    fn textblob_never_panics_on_arbitrary_unicode(text in any::<String>()) {
        check_blob(TextBlob::new().sentiment(&text));
    }
}

#[test]
fn textblob_scores_huge_lines() {
    // 1 MiB of emoticons written across tokens (each one merged), of sarcasm
    // marks, and of lexicon words: the worst cases of the merging steps.
    for unit in [": ) ", "( ! ) ", "very not good ! ", "\n\n:'(", "o_O x "] {
        let text = unit.repeat((1 << 20) / unit.len());
        check_blob(TextBlob::new().sentiment(&text));
    }
}
