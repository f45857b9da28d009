//! Secrets as types, so that no log line, error, metric label, `/health`
//! field or checkpoint key can show one: a [`Secret`] (a bearer token, a
//! password) prints only that it is there, and a [`SecretUrl`] prints its
//! URL with the secret parts masked (`user:***@`, `access_token=***`),
//! which still names the source.
//!
//! The real values are reached only through `expose` (or
//! [`SecretUrl::request_target`] and [`SecretUrl::basic_auth`]), where a
//! request is built; and [`Secrets::hide`] cuts them out of any text a
//! server or a peer sends back, which may quote them.

use base64::Engine as _;
use std::sync::Arc;

/// A secret value: its `Debug` and `Display` show only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    pub fn new(value: impl Into<Arc<str>>) -> Secret {
        Secret(value.into())
    }

    /// The value in the environment variable `name`, trimmed, if set and not empty.
    pub fn from_env(name: &str) -> Option<Secret> {
        let value = std::env::var(name).ok()?;
        let value = value.trim();
        (!value.is_empty()).then(|| Secret::new(value))
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// What stands for a secret in anything shown.
pub const MASK: &str = "***";

/// A URL that may carry credentials: `user:password@` in its authority, or
/// query parameters whose names say they are secret ([`is_secret_name`]).
/// It displays masked; the request is built from [`Self::request_target`]
/// (without the user information) and [`Self::basic_auth`], as curl and
/// browsers use a URL's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl {
    full: String,
    shown: String,
    /// The secret values in it, for [`Secrets::hide`] (the password, each
    /// secret parameter's value, in the URL's own encoding and decoded).
    values: Vec<Secret>,
}

impl SecretUrl {
    pub fn new(url: &str) -> SecretUrl {
        let (shown, values) = mask(url);
        SecretUrl { full: url.to_owned(), shown, values }
    }

    /// The URL as shown: secrets masked.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The URL to request: the whole URL without `user:password@` (those go
    /// in an `Authorization` header, [`Self::basic_auth`]).
    pub fn request_target(&self) -> String {
        match userinfo(&self.full) {
            Some((start, end)) => format!("{}{}", &self.full[..start], &self.full[end + 1..]),
            None => self.full.clone(),
        }
    }

    /// `Basic …` for the URL's `user:password@`, percent-decoded, if it has one.
    pub fn basic_auth(&self) -> Option<Secret> {
        let (start, end) = userinfo(&self.full)?;
        let info = &self.full[start..end];
        let (user, password) = info.split_once(':').unwrap_or((info, ""));
        let pair = format!("{}:{}", percent_decode(user), percent_decode(password));
        Some(Secret::new(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))))
    }

    /// Another URL made from this one's whole text (such as one with other
    /// query parameters), masked alike.
    pub fn rewritten(&self, f: impl FnOnce(&str) -> String) -> SecretUrl {
        SecretUrl::new(&f(&self.full))
    }

    /// The secret values it holds.
    pub fn secrets(&self) -> &[Secret] {
        &self.values
    }
}

impl std::fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretUrl({})", self.shown)
    }
}

/// Whether a query parameter's name says its value is a credential:
/// names containing `token`, `secret`, `password` or `signature`, ending in
/// `key` (`key`, `api_key`, `apiKey`), and `sig`, `auth`, `code`, `pass`
/// (alone or after `_` or `-`), case aside.
pub fn is_secret_name(name: &str) -> bool {
    const WITHIN: [&str; 6] = ["token", "secret", "password", "passwd", "credential", "signature"];
    const WHOLE: [&str; 5] = ["sig", "auth", "authorization", "code", "pass"];
    let n = name.to_ascii_lowercase();
    WITHIN.iter().any(|w| n.contains(w))
        || n.ends_with("key")
        || WHOLE.iter().any(|w| n == *w || n.ends_with(&format!("_{w}")) || n.ends_with(&format!("-{w}")))
}

/// Where the user information of `url` lies (`start..end`, `end` at its `@`).
fn userinfo(url: &str) -> Option<(usize, usize)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..].find(['/', '?', '#']).map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some((start, at))
}

/// The URL masked, and the secret values it held.
fn mask(url: &str) -> (String, Vec<Secret>) {
    let mut values = Vec::new();
    let mut shown = String::with_capacity(url.len());
    let mut rest = url;
    if let Some((start, at)) = userinfo(url) {
        let info = &url[start..at];
        shown.push_str(&url[..start]);
        match info.split_once(':') {
            Some((user, password)) => {
                shown.push_str(user);
                shown.push(':');
                shown.push_str(MASK);
                push_value(&mut values, password);
            }
            // A user alone may be a token (`https://TOKEN@host`).
            None => {
                shown.push_str(MASK);
                push_value(&mut values, info);
            }
        }
        rest = &url[at..];
    }
    let Some(q) = rest.find('?') else {
        shown.push_str(rest);
        return (shown, values);
    };
    shown.push_str(&rest[..=q]);
    let (query, fragment) = match rest[q + 1..].find('#') {
        Some(h) => (&rest[q + 1..q + 1 + h], &rest[q + 1 + h..]),
        None => (&rest[q + 1..], ""),
    };
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            shown.push('&');
        }
        match pair.split_once('=') {
            Some((name, value)) if is_secret_name(&percent_decode(name)) && !value.is_empty() => {
                shown.push_str(name);
                shown.push('=');
                shown.push_str(MASK);
                push_value(&mut values, value);
            }
            _ => shown.push_str(pair),
        }
    }
    shown.push_str(fragment);
    (shown, values)
}

fn push_value(values: &mut Vec<Secret>, raw: &str) {
    if raw.is_empty() {
        return;
    }
    let decoded = percent_decode(raw);
    if decoded != raw {
        values.push(Secret::new(decoded));
    }
    values.push(Secret::new(raw));
}

/// `%XX` escapes decoded (and `+` kept: it is a space only in forms); bytes
/// that do not make UTF-8 are replaced.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every secret a source holds, to cut out of text a server sends back (an
/// error body or an error object may quote the request).
#[derive(Clone, Debug, Default)]
pub struct Secrets(Vec<Secret>);

impl Secrets {
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Secrets {
        // The longest first: a token that contains another is cut whole.
        let mut all: Vec<Secret> = secrets.into_iter().filter(|s| s.expose().len() >= 3).collect();
        all.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
        Secrets(all)
    }

    /// `text` with every secret replaced by [`MASK`], and control characters
    /// dropped (a server's text goes into one log line).
    pub fn hide(&self, text: &str) -> String {
        let mut out: String = text.chars().filter(|c| !c.is_control()).collect();
        for s in &self.0 {
            if out.contains(s.expose()) {
                out = out.replace(s.expose(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s} {s:?}"), "*** Secret(***)");
        assert_eq!(s.expose(), "hunter2-token");
    }

    #[test]
    fn credentials_in_a_url_are_masked_and_used_as_curl_uses_them() {
        let u =
            SecretUrl::new("https://me:p%40ss@m.social/api/v1/streaming?stream=public&access_token=abc123#x");
        assert_eq!(
            u.to_string(),
            "https://me:***@m.social/api/v1/streaming?stream=public&access_token=***#x"
        );
        assert_eq!(format!("{u:?}"), format!("SecretUrl({u})"));
        assert_eq!(
            u.request_target(),
            "https://m.social/api/v1/streaming?stream=public&access_token=abc123#x"
        );
        // base64("me:p@ss"), computed with `printf me:p@ss | base64`.
        assert_eq!(u.basic_auth().unwrap().expose(), "Basic bWU6cEBzcw==");
        let hidden = Secrets::new(u.secrets().iter().cloned()).hide("bad token abc123 for p@ss and p%40ss\n");
        assert_eq!(hidden, "bad token *** for *** and ***");
    }

    #[test]
    fn a_url_without_secrets_shows_as_it_is() {
        for url in [
            "wss://jetstream2.us-east.bsky.network/subscribe?wantedCollections=app.bsky.feed.post&cursor=5",
            "http://127.0.0.1:9/2/tweets/search/stream?tweet.fields=created_at",
            "https://m.social/api/v1/streaming/hashtag?tag=rust",
            "ws://[::1]:80/x?",
        ] {
            let u = SecretUrl::new(url);
            assert_eq!(u.to_string(), url);
            assert!(u.secrets().is_empty() && u.basic_auth().is_none(), "{url}");
            assert_eq!(u.request_target(), url);
        }
    }

    #[test]
    fn secret_parameter_names() {
        for name in [
            "access_token",
            "token",
            "key",
            "api_key",
            "apiKey",
            "sig",
            "signature",
            "password",
            "auth",
            "X-Amz-Signature",
            "client_secret",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "tag",
            "stream",
            "wantedCollections",
            "wantedDids",
            "cursor",
            "tweet.fields",
            "expansions",
            "monkey_business",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
        let u = SecretUrl::new("http://TOKEN123@h/x?key=&sig=s1g");
        assert_eq!(u.to_string(), "http://***@h/x?key=&sig=***");
    }
}
