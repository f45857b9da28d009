//! What a tweet record is, wherever one is read: the names of its text and date
//! fields (JSON keys, CSV columns, document fields), and which wins when a
//! record has several. The stream decoder, the replay's CSV reader and the
//! lab's loader and producer all go by these.
//!
//! - Text, best first: `full_text` (also inside the Twitter API's
//!   `extended_tweet`, and `text` inside API v2's `note_tweet`: the untruncated
//!   text of a long tweet), `text`, `tweet` (the lab's).
//! - A Twitter API v2 object (`{"data": {"text", "created_at", …}, "includes":
//!   …}`) is read through its `data`: its fields count where the object has
//!   none of its own.
//! - Date, best first: `created_at`, `date`, `tweet_created`, `timestamp`.
//! - Language, best first: `lang` (Twitter's, X's, the lines `live` and
//!   `produce` write), `language` (Mastodon's; a data set's column).
//!
//! Names match without regard to ASCII case (`Tweet` and `Date` are the lab's
//! column names). The lab's `{"tweet": …, "date": …}` is what the replay and
//! the producer write.

/// Text field names, best first.
pub const TEXT_FIELDS: [&str; 3] = ["full_text", "text", "tweet"];

/// Date field names, best first.
pub const DATE_FIELDS: [&str; 4] = ["created_at", "date", "tweet_created", "timestamp"];

/// Language field names, best first.
pub const LANG_FIELDS: [&str; 2] = ["lang", "language"];

/// The Twitter API object that holds the untruncated `full_text`.
pub const EXTENDED: &str = "extended_tweet";

/// Twitter API v2's object of a long tweet's untruncated `text`.
pub const NOTE: &str = "note_tweet";

/// Twitter API v2's object of the tweet itself, in a response or a stream line.
pub const V2_DATA: &str = "data";

/// What a field name is, with its rank (0 is best).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Text(usize),
    Date(usize),
    Lang(usize),
}

/// What `name` names, if anything.
// Always inlined: it runs on every key of every object, and inlined into the
// decoder the match on exact names costs next to nothing (measured: 30
// instructions a key as a call).
#[inline(always)]
pub fn field(name: &str) -> Option<Field> {
    match name {
        "full_text" => Some(Field::Text(0)),
        "text" => Some(Field::Text(1)),
        "tweet" | "Tweet" => Some(Field::Text(2)),
        "created_at" => Some(Field::Date(0)),
        "date" | "Date" => Some(Field::Date(1)),
        "tweet_created" => Some(Field::Date(2)),
        "timestamp" => Some(Field::Date(3)),
        "lang" => Some(Field::Lang(0)),
        "language" => Some(Field::Lang(1)),
        // Other capitalizations: compared with the names of the same length
        // (a key that is none of them differs at its first byte, mostly).
        _ => {
            let is = |n: &str| name.eq_ignore_ascii_case(n);
            match name.len() {
                4 if is("text") => Some(Field::Text(1)),
                4 if is("date") => Some(Field::Date(1)),
                4 if is("lang") => Some(Field::Lang(0)),
                5 if is("tweet") => Some(Field::Text(2)),
                8 if is("language") => Some(Field::Lang(1)),
                9 if is("full_text") => Some(Field::Text(0)),
                9 if is("timestamp") => Some(Field::Date(3)),
                10 if is("created_at") => Some(Field::Date(0)),
                13 if is("tweet_created") => Some(Field::Date(2)),
                _ => None,
            }
        }
    }
}

/// A record's text, date and language fields as a reader finds them, kept
/// by rank; [`Found::text`] and [`Found::date`] give the best (a language
/// is of the text's kind, `T`). Every reader of records
/// (the stream decoder, the lab's loader and producer) fills one, so which
/// field wins is decided here, once.
#[derive(Debug)]
pub struct Found<T, D> {
    text: [Option<T>; TEXT_FIELDS.len()],
    date: [Option<D>; DATE_FIELDS.len()],
    lang: [Option<T>; LANG_FIELDS.len()],
}

impl<T, D> Default for Found<T, D> {
    fn default() -> Self {
        Found { text: Default::default(), date: Default::default(), lang: Default::default() }
    }
}

impl<T, D> Found<T, D> {
    /// A text field's value, `None` where it is not a string. A later field
    /// of the same rank replaces an earlier one (as a repeated JSON key does).
    pub fn set_text(&mut self, rank: usize, value: Option<T>) {
        self.text[rank] = value;
    }

    /// A date field's value.
    pub fn set_date(&mut self, rank: usize, value: Option<D>) {
        self.date[rank] = value;
    }

    /// A language field's value, `None` where it is not a string.
    pub fn set_lang(&mut self, rank: usize, value: Option<T>) {
        self.lang[rank] = value;
    }

    /// The Twitter API's [`EXTENDED`]`.full_text` (`None`: the object has no
    /// string `full_text`): the untruncated text, ranked with `full_text`.
    pub fn set_extended(&mut self, full_text: Option<T>) {
        self.text[0] = full_text;
    }
}

/// Reading what was found (the values are references into the record).
impl<T: Copy, D: Copy> Found<T, D> {
    /// Takes `other`'s text (and date, and language) where these fields have
    /// none (a v2 object's `data`).
    pub fn fill_from(&mut self, other: &Found<T, D>) {
        if self.text.iter().all(Option::is_none) {
            self.text = other.text;
        }
        if self.date.iter().all(Option::is_none) {
            self.date = other.date;
        }
        if self.lang.iter().all(Option::is_none) {
            self.lang = other.lang;
        }
    }

    /// The best text, the best date and the best language, as found. By
    /// reference: a tweet's decoder calls it on every line, and moving the
    /// arrays out cost a copy of all of them.
    #[inline]
    pub fn best(&self) -> (Option<T>, Option<D>, Option<T>) {
        let first = |slots: &[Option<T>]| slots.iter().find_map(|s| *s);
        (first(&self.text), self.date.iter().find_map(|d| *d), first(&self.lang))
    }

    pub fn text(&self) -> Option<T> {
        self.best().0
    }

    pub fn date(&self) -> Option<D> {
        self.best().1
    }

    pub fn lang(&self) -> Option<T> {
        self.best().2
    }
}

/// Where a header's best text, date and language columns are.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    pub text: Option<usize>,
    pub date: Option<usize>,
    pub lang: Option<usize>,
}

/// The best of `names` for text, date and language (e.g. of a CSV header).
pub fn pick<'a>(names: impl IntoIterator<Item = &'a str>) -> Columns {
    // (rank, index) of the best of each so far.
    let mut best: [Option<(usize, usize)>; 3] = [None; 3];
    for (i, name) in names.into_iter().enumerate() {
        let (slot, r) = match field(name.trim()) {
            Some(Field::Text(r)) => (0, r),
            Some(Field::Date(r)) => (1, r),
            Some(Field::Lang(r)) => (2, r),
            None => continue,
        };
        if best[slot].is_none_or(|(b, _)| r < b) {
            best[slot] = Some((r, i));
        }
    }
    let [text, date, lang] = best.map(|b| b.map(|(_, i)| i));
    Columns { text, date, lang }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_path_agrees_with_the_lists() {
        let lengths: Vec<usize> =
            TEXT_FIELDS.iter().chain(&DATE_FIELDS).chain(&LANG_FIELDS).map(|n| n.len()).collect();
        for len in lengths {
            assert!(matches!(len, 4 | 5 | 8 | 9 | 10 | 13), "a name of {len} bytes: add it to field()");
        }
        for (rank, name) in LANG_FIELDS.iter().enumerate() {
            assert_eq!(field(name), Some(Field::Lang(rank)));
            assert_eq!(field(&name.to_uppercase()), Some(Field::Lang(rank)));
        }
        for (rank, name) in TEXT_FIELDS.iter().enumerate() {
            assert_eq!(field(name), Some(Field::Text(rank)));
            assert_eq!(field(&name.to_uppercase()), Some(Field::Text(rank)));
        }
        for (rank, name) in DATE_FIELDS.iter().enumerate() {
            assert_eq!(field(name), Some(Field::Date(rank)));
        }
        assert_eq!(field("Tweet"), Some(Field::Text(2)));
        assert_eq!(field("Date"), Some(Field::Date(1)));
        assert_eq!(field("id"), None);
        assert_eq!(field("Texts"), None);
    }

    #[test]
    fn pick_takes_the_best_of_a_header() {
        let c = pick(["id", "Tweet", "Date", "text", "language", "lang"]);
        assert_eq!((c.text, c.date, c.lang), (Some(3), Some(2), Some(5)));
        let c = pick(["x", " created_at ", "date"]);
        assert_eq!((c.text, c.date, c.lang), (None, Some(1), None));
    }
}
