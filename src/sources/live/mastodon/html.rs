//! A Mastodon status's `content` (HTML) as the text a reader sees: tags
//! removed, `<br>` a newline, paragraphs separated by a blank line, and
//! character references decoded once (`&amp;lt;` reads `&lt;`). A hashtag
//! link (`<a … class="mention hashtag">#<span>spark</span></a>`) reads
//! `#spark`, so the engine counts it as a hashtag.
//!
//! The content is the server's: the work is linear in its length whatever
//! it holds (each byte is looked at a bounded number of times: a reference
//! is looked for within its longest length, a paragraph's blank line within
//! the last two characters written), which the tests count.

/// The text of `html`.
pub fn text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find(['<', '&']) {
        crate::cost::add(at + 1);
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if rest.starts_with('<') {
            let end = tag_end(rest);
            crate::cost::add(end + 1);
            let name = tag_name(&rest[1..end]);
            if name.eq_ignore_ascii_case("br") {
                out.push('\n');
            } else if name.eq_ignore_ascii_case("p") && !out.is_empty() {
                // A paragraph after another: a blank line between them.
                let trailing = out.bytes().rev().take(2).take_while(|b| *b == b'\n').count();
                crate::cost::add(2);
                for _ in trailing..2 {
                    out.push('\n');
                }
            }
            rest = &rest[(end + 1).min(rest.len())..];
        } else {
            let (decoded, used) = reference(rest);
            match decoded {
                Some(c) => out.push(c),
                None => out.push('&'),
            }
            rest = &rest[used..];
        }
    }
    out.push_str(rest);
    out
}

/// Where the tag starting `s` (at its `<`) ends: its `>`, outside quoted
/// attribute values (or the end of the text if it never closes).
fn tag_end(s: &str) -> usize {
    let mut quote = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return i,
            _ => {}
        }
    }
    s.len()
}

/// A tag's name: `p` for `<p class=…>`, `</p>` and `<br/>` alike; opening
/// tags only count (a closing one has a `/` first and gets an empty name).
fn tag_name(inside: &str) -> &str {
    let end = inside.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(inside.len());
    crate::cost::add(end);
    &inside[..end]
}

/// The longest reference looked for, `&` to `;` (`&#x10FFFF;` and the names).
const MAX_REFERENCE: usize = 12;

/// The character reference at the start of `s` (at its `&`) and the bytes
/// it takes; `None` and 1 where it is not one (the `&` stays as it is).
fn reference(s: &str) -> (Option<char>, usize) {
    let within = &s.as_bytes()[1..s.len().min(MAX_REFERENCE + 1)];
    crate::cost::add(within.len());
    let Some(semi) = memchr::memchr(b';', within).map(|i| i + 1) else { return (None, 1) };
    let name = &s[1..semi];
    let c = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        code.map(|c| char::from_u32(c).unwrap_or('\u{FFFD}'))
    } else {
        match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            "nbsp" => Some('\u{A0}'),
            _ => None,
        }
    };
    match c {
        Some(c) => (Some(c), semi + 1),
        None => (None, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_is_linear_in_the_content_whatever_it_holds() {
        let hostile: [(&str, &dyn Fn(usize) -> String); 7] = [
            ("&", &|n| "&".repeat(n)),
            ("&#", &|n| "&#".repeat(n)),
            ("&amp", &|n| "&amp".repeat(n)),
            ("<br> then <p>", &|n| format!("{}{}", "<br>".repeat(n), "<p>".repeat(n))),
            ("<", &|n| format!("<p>{}", "<".repeat(n))),
            ("an open quote", &|n| format!("<a title=\"{}", "x>".repeat(n))),
            ("paragraphs", &|n| "<p>a</p>".repeat(n)),
        ];
        for (what, make) in hostile {
            let make = |n| make(n).into_bytes();
            crate::cost::assert_linear(what, 20_000, 16, make, |html| {
                text(std::str::from_utf8(html).unwrap());
            });
        }
    }

    #[test]
    fn a_status_reads_as_its_reader_sees_it() {
        let content = concat!(
            r#"<p>Learning <a href="https://m.social/tags/Spark" class="mention hashtag" rel="tag">#<span>Spark</span></a> "#,
            r#"&amp; <a href="https://m.social/tags/rust" class="mention hashtag" rel="tag">#<span>rust</span></a> &lt;3</p>"#,
            r#"<p>line one<br>line two<br />three</p><p>it&#39;s &quot;fine&quot; &#x1F600; &amp;lt;</p>"#
        );
        assert_eq!(
            text(content),
            "Learning #Spark & #rust <3\n\nline one\nline two\nthree\n\nit's \"fine\" \u{1F600} &lt;"
        );
    }

    #[test]
    fn odd_html_is_kept_as_text_not_lost() {
        assert_eq!(text("a & b &unknown; c"), "a & b &unknown; c");
        assert_eq!(text(r#"<a title="x>y">link</a>"#), "link");
        assert_eq!(text("unclosed <b"), "unclosed ");
        assert_eq!(text("&#99999999;"), "\u{FFFD}");
        assert_eq!(text(""), "");
        assert_eq!(text("<p></p><p>x</p>"), "x");
    }
}
