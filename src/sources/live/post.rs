//! A post as the engine reads it, the one line every live feed writes:
//! `{"text": …, "created_at": <ms>}`.

/// Appends a post's tweet line (with its `\n`): its text, and its creation
/// time in ms since the epoch, or now where the post gave none.
pub fn line(out: &mut Vec<u8>, text: &str, created_ms: Option<i64>) {
    let created = created_ms.unwrap_or_else(crate::time::now_millis);
    out.extend_from_slice(b"{\"text\":");
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec");
    out.extend_from_slice(format!(",\"created_at\":{created}}}\n").as_bytes());
}
