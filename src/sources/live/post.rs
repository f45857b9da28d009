//! A post as the engine reads it, the one line every live feed writes:
//! `{"text": …, "created_at": <ms>, "lang": …}`.

use crate::tweet::Lang;

/// Appends a post's tweet line (with its `\n`): its text, its creation time
/// in ms since the epoch (now where the post gave none), and its language
/// where the post gave one that reads as a tag (BCP 47, [`Lang`]); a line
/// without one is read as `und`.
pub fn line(out: &mut Vec<u8>, text: &str, created_ms: Option<i64>, lang: Option<&str>) {
    let created = created_ms.unwrap_or_else(crate::time::now_millis);
    out.extend_from_slice(b"{\"text\":");
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec");
    out.extend_from_slice(format!(",\"created_at\":{created}").as_bytes());
    // A tag is letters, digits and '-': nothing to escape.
    if let Some(lang) = lang.and_then(Lang::parse) {
        out.extend_from_slice(format!(",\"lang\":\"{lang}\"").as_bytes());
    }
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_line_reads_back_as_the_post() {
        for (lang, read) in [(Some("pt-br"), "pt-BR"), (Some("no lang"), "und"), (None, "und")] {
            let mut out = Vec::new();
            line(&mut out, "olá \"#mundo\"", Some(1_700_000_000_000), lang);
            let mut scratch = String::new();
            let t =
                crate::tweet::decode(&out[..out.len() - 1], crate::tweet::InputFormat::Json, &mut scratch)
                    .unwrap();
            assert_eq!(
                (t.text, t.date.millis(), t.lang.as_str()),
                ("olá \"#mundo\"", Some(1_700_000_000_000), read)
            );
        }
    }
}
