//! The words of a Postgres statement: just enough lexing to translate the
//! dialect without touching what is inside strings, quoted names or comments.

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Spaces and comments.
    Space,
    /// A name or keyword, as written.
    Word,
    /// A `"quoted"` name.
    QuotedName,
    /// A `'string'` (or `E'…'`, `B'…'`, `X'…'`).
    Str,
    Number,
    /// `$N`.
    Param(usize),
    /// `::`.
    Cast,
    /// One of `( ) [ ] , ; .`.
    Punct,
    /// A run of operator characters (`=`, `<>`, `~`, `||`, …).
    Op,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
}

impl Token<'_> {
    /// A word equal to `keyword`, in any case.
    pub fn is(&self, keyword: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    pub fn is_punct(&self, c: &str) -> bool {
        self.kind == Kind::Punct && self.text == c
    }

    /// A name (a word or a quoted name), unquoted and folded as Postgres
    /// folds it.
    pub fn name(&self) -> Option<String> {
        match self.kind {
            Kind::Word => Some(self.text.to_ascii_lowercase()),
            Kind::QuotedName => Some(self.text[1..self.text.len() - 1].replace("\"\"", "\"")),
            _ => None,
        }
    }

    /// A string literal's value (of `'…'` or `E'…'`).
    pub fn string(&self) -> Option<String> {
        if self.text.starts_with('$') {
            return self.dollar_string();
        }
        if self.kind != Kind::Str || self.text.len() < 2 || !self.text.ends_with('\'') {
            return None;
        }
        if self.text.starts_with('\'') {
            Some(self.text[1..self.text.len() - 1].replace("''", "'"))
        } else if self.text.starts_with(['e', 'E']) && self.text.len() >= 3 {
            Some(unescape(&self.text[2..self.text.len() - 1]))
        } else {
            None
        }
    }

    /// A dollar-quoted string's value (`$$…$$`, `$tag$…$tag$`): the text
    /// between its two delimiters (none when it is unterminated).
    fn dollar_string(&self) -> Option<String> {
        let delimiter = &self.text[..self.text.get(1..)?.find('$')? + 2];
        let body = self.text.strip_prefix(delimiter)?.strip_suffix(delimiter)?;
        (self.kind == Kind::Str).then(|| body.to_owned())
    }
}

/// The value of an `E'…'` string's body: Postgres' backslash escapes
/// (`\n`, `\t`, `\b`, `\f`, `\r`, octal `\ooo`, `\xhh`, `\uXXXX`,
/// `\UXXXXXXXX`, and `\c` for any other `c`) and `''` for a quote. An escape
/// that names no character (a zero, a surrogate) is dropped.
fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                chars.next_if_eq(&'\'');
                out.push('\'');
            }
            '\\' => {
                let Some(e) = chars.next() else { break };
                // Up to `max` more digits of `radix` after `v`.
                let digits =
                    |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, mut v: u32, radix: u32, max| {
                        for _ in 0..max {
                            match chars.peek().and_then(|d| d.to_digit(radix)) {
                                Some(d) => {
                                    v = v.saturating_mul(radix).saturating_add(d);
                                    chars.next();
                                }
                                None => break,
                            }
                        }
                        v
                    };
                let code = match e {
                    'b' => Some(8),
                    'f' => Some(12),
                    'n' => Some(10),
                    'r' => Some(13),
                    't' => Some(9),
                    '0'..='7' => Some(digits(&mut chars, e.to_digit(8).unwrap_or(0), 8, 2)),
                    'x' if chars.peek().is_some_and(char::is_ascii_hexdigit) => {
                        Some(digits(&mut chars, 0, 16, 2))
                    }
                    'u' => Some(digits(&mut chars, 0, 16, 4)),
                    'U' => Some(digits(&mut chars, 0, 16, 8)),
                    other => {
                        out.push(other);
                        None
                    }
                };
                if let Some(ch) = code.filter(|&c| c != 0).and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            c => out.push(c),
        }
    }
    out
}

const OPERATOR: &[u8] = b"+-*/<>=~!@#%^&|`?";

/// The tokens of `sql`, covering it entirely (their texts joined are `sql`).
/// An unterminated string, name or comment runs to the end.
pub fn tokens(sql: &str) -> Vec<Token<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let kind;
        (kind, i) = token_at(sql, i);
        out.push(Token { kind, text: &sql[start..i] });
    }
    out
}

/// The kind of the token starting at byte `i` of `sql` and where it ends
/// (past `i`: every token takes at least a byte).
fn token_at(sql: &str, mut i: usize) -> (Kind, usize) {
    let b = sql.as_bytes();
    let (start, c) = (i, b[i]);
    let kind = if c.is_ascii_whitespace() {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        Kind::Space
    } else if b[i..].starts_with(b"--") {
        i = sql[i..].find('\n').map_or(b.len(), |n| i + n + 1);
        Kind::Space
    } else if b[i..].starts_with(b"/*") {
        i = block_comment_end(b, i);
        Kind::Space
    } else if c == b'\'' || (matches!(c | 0x20, b'e' | b'b' | b'x') && b.get(i + 1) == Some(&b'\'')) {
        let backslash = c | 0x20 == b'e';
        i = closing(b, if c == b'\'' { i } else { i + 1 }, b'\'', backslash);
        Kind::Str
    } else if let Some(end) = dollar_quoted(sql, i) {
        i = end;
        Kind::Str
    } else if c == b'"' {
        i = closing(b, i, b'"', false);
        Kind::QuotedName
    } else if c == b'$' && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        Kind::Param(sql[start + 1..i].parse().unwrap_or(usize::MAX))
    } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_') {
            // An exponent's sign belongs to the number.
            if matches!(b[i], b'e' | b'E') && matches!(b.get(i + 1), Some(b'+' | b'-')) {
                i += 1;
            }
            i += 1;
        }
        Kind::Number
    } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$' || b[i] >= 0x80) {
            i += 1;
        }
        Kind::Word
    } else {
        return symbol_at(sql, i);
    };
    (kind, i)
}

/// A cast, punctuation or an operator at byte `i` (anything else stands
/// alone, and SQLite will say what it thinks).
fn symbol_at(sql: &str, mut i: usize) -> (Kind, usize) {
    let b = sql.as_bytes();
    let c = b[i];
    if b[i..].starts_with(b"::") {
        (Kind::Cast, i + 2)
    } else if b"()[],;.:".contains(&c) {
        (Kind::Punct, i + 1)
    } else if OPERATOR.contains(&c) {
        while i < b.len()
            && OPERATOR.contains(&b[i])
            && !b[i..].starts_with(b"--")
            && !b[i..].starts_with(b"/*")
        {
            i += 1;
        }
        (Kind::Op, i)
    } else {
        (Kind::Op, i + sql[i..].chars().next().map_or(1, char::len_utf8))
    }
}

/// Where the block comment opening at `i` ends: Postgres nests them.
fn block_comment_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// The end (exclusive) of a dollar-quoted string (`$$…$$`, `$tag$…$tag$`)
/// opening at `i`, if one does (unterminated, it runs to the end).
fn dollar_quoted(sql: &str, i: usize) -> Option<usize> {
    let b = sql.as_bytes();
    if b[i] != b'$' {
        return None;
    }
    let tag_len = b[i + 1..].iter().position(|&c| c == b'$')?;
    let tag = &b[i + 1..i + 1 + tag_len];
    let valid = tag.first().is_none_or(|c| c.is_ascii_alphabetic() || *c == b'_' || *c >= 0x80)
        && tag.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80);
    if !valid {
        return None;
    }
    let delimiter = &sql[i..i + tag_len + 2];
    let body = i + tag_len + 2;
    Some(sql[body..].find(delimiter).map_or(b.len(), |n| body + n + delimiter.len()))
}

/// The end (exclusive) of a quoted token opening at `open`: a doubled quote
/// is one quote; with `backslash`, a backslash escapes the next byte.
fn closing(b: &[u8], open: usize, quote: u8, backslash: bool) -> usize {
    let mut i = open + 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// The position, among `tokens`, of the `close` bracket that closes the
/// `open_bracket` at position `open`.
pub fn matching<'t, 's: 't>(
    tokens: impl IntoIterator<Item = &'t Token<'s>>,
    open: usize,
    open_bracket: &str,
    close: &str,
) -> Option<usize> {
    let mut depth = 0;
    for (k, t) in tokens.into_iter().enumerate().skip(open) {
        if t.is_punct(open_bracket) {
            depth += 1;
        } else if t.is_punct(close) {
            depth -= 1;
            if depth == 0 {
                return Some(k);
            }
        }
    }
    None
}

/// The statements of a simple query, split at top-level semicolons, each
/// without its semicolon; empty ones are left out.
pub fn statements(sql: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for t in tokens(sql) {
        if t.is_punct(";") {
            out.push(&sql[start..at]);
            start = at + 1;
        }
        at += t.text.len();
    }
    out.push(&sql[start..]);
    out.into_iter().filter(|s| tokens(s).iter().any(|t| t.kind != Kind::Space)).collect()
}

/// The tokens that are not spaces.
pub fn words(sql: &str) -> Vec<Token<'_>> {
    tokens(sql).into_iter().filter(|t| t.kind != Kind::Space).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        words(sql).into_iter().map(|t| (t.kind, t.text)).collect()
    }

    #[test]
    fn strings_names_comments_and_casts_are_tokens_of_their_own() {
        use Kind::*;
        assert_eq!(
            kinds("select 'it''s;', \"a \"\"b\"\"\"::text, $12 -- x; y\n/* a /* b */ ; */ from t;"),
            [
                (Word, "select"),
                (Str, "'it''s;'"),
                (Punct, ","),
                (QuotedName, "\"a \"\"b\"\"\""),
                (Cast, "::"),
                (Word, "text"),
                (Punct, ","),
                (Param(12), "$12"),
                (Word, "from"),
                (Word, "t"),
                (Punct, ";"),
            ]
        );
        assert_eq!(
            kinds("E'a\\'b' 1.5e-3<>2"),
            [(Str, "E'a\\'b'"), (Number, "1.5e-3"), (Op, "<>"), (Number, "2")]
        );
        assert_eq!(words("x = 'a''b'")[2].string().as_deref(), Some("a'b"));
        assert_eq!(words("\"Tag\"")[0].name().as_deref(), Some("Tag"));
        assert_eq!(words("Tag")[0].name().as_deref(), Some("tag"));
    }

    #[test]
    fn a_simple_query_splits_at_semicolons_outside_strings() {
        assert_eq!(
            statements("SELECT pg_advisory_unlock_all();\nCLOSE ALL;\nUNLISTEN *;\nRESET ALL;"),
            ["SELECT pg_advisory_unlock_all()", "\nCLOSE ALL", "\nUNLISTEN *", "\nRESET ALL"]
        );
        assert_eq!(statements("select ';' ; ; -- end;"), ["select ';' "]);
        assert!(statements(" ; ").is_empty());
    }

    proptest! {
        /// Whatever the input, the tokens cover it exactly (nothing lost,
        /// nothing invented), and lexing never panics.
        #[test]
        fn tokens_cover_the_input(sql in "[ -~\\n'\"$;:éß]{0,60}") {
            let joined: String = tokens(&sql).iter().map(|t| t.text).collect();
            prop_assert_eq!(joined, sql);
        }
    }
}
