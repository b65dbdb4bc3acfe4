//! Keeping secrets out of every output: a [`Secret`] wrapper whose `Debug`/`Display` never show
//! the value, and [`redact_text`], which scrubs credentials from free text (URLs with user info or
//! signed query strings, `key=value` pairs with secret-looking names).

use std::fmt;

/// A secret value (key, token, SAS, password). It cannot be printed or serialised by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself; call only where it is handed to a storage client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Parameter names whose values are secret wherever they appear as `name=value`.
const SECRET_PARAMS: &[&str] = &[
    "sig",
    "signature",
    "x-amz-signature",
    "x-amz-security-token",
    "x-amz-credential",
    "x-goog-signature",
    "x-goog-credential",
    "token",
    "access_token",
    "session_token",
    "secret",
    "password",
    "passwd",
    "secret_access_key",
    "secretaccesskey",
    "account_key",
    "accountkey",
    "client_secret",
    "sas",
    "sas_token",
    "key",
];

/// Placeholder written where a secret was removed.
pub const REDACTED: &str = "<redacted>";

/// Removes credentials from free text: user info and query strings of URLs, and the values of
/// `name=value` pairs whose name looks secret. Idempotent.
pub fn redact_text(text: &str) -> String {
    let step = redact_urls(text);
    redact_params(&step)
}

fn is_url_end(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')' | '`')
}

fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (before, after) = rest.split_at(pos + 3);
        out.push_str(before);
        let end = after.find(is_url_end).unwrap_or(after.len());
        let (url, tail) = after.split_at(end);
        out.push_str(&redact_one_url(url));
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// `url` is what follows `scheme://`.
fn redact_one_url(url: &str) -> String {
    let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
    let (authority, path) = url.split_at(authority_end);
    let authority = match authority.rfind('@') {
        Some(at) => format!("{REDACTED}@{}", &authority[at + 1..]),
        None => authority.to_string(),
    };
    let path = match path.find('?') {
        Some(q) if q + 1 < path.len() => format!("{}?{REDACTED}", &path[..q]),
        _ => path.to_string(),
    };
    format!("{authority}{path}")
}

fn redact_params(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        if bytes[i] == b'=' {
            let name_start = text[..i]
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
                .map(|(p, c)| p + c.len_utf8())
                .unwrap_or(0);
            let name = text[name_start..i].to_ascii_lowercase();
            if SECRET_PARAMS.contains(&name.as_str()) {
                out.push('=');
                let value_len = text[i + 1..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ';' | '"' | '\''))
                    .unwrap_or(text.len() - i - 1);
                let value = &text[i + 1..i + 1 + value_len];
                if value.is_empty() || value == REDACTED {
                    out.push_str(value);
                } else {
                    out.push_str(REDACTED);
                }
                i += 1 + value_len;
                continue;
            }
        }
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "<redacted>");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn urls_lose_userinfo_and_query() {
        let t = redact_text("fetch https://AKIA:wJalr@host:9000/b/k?X-Amz-Signature=abc failed");
        assert!(!t.contains("wJalr"));
        assert!(!t.contains("abc"));
        assert!(t.contains("host:9000/b/k"));
    }

    #[test]
    fn secret_params_are_scrubbed() {
        let t = redact_text("config token=ey.J.x and password=pw region=us-east-1");
        assert!(!t.contains("ey.J.x"));
        assert!(!t.contains("=pw"));
        assert!(t.contains("region=us-east-1"));
    }

    #[test]
    fn multibyte_text_before_a_parameter() {
        // Found by fuzzing the location parser: a multi-byte character before `name=`.
        assert_eq!(redact_text("aÉkey=v"), "aÉkey=<redacted>");
        assert_eq!(redact_text("É=x"), "É=x");
    }

    #[test]
    fn redaction_is_idempotent_and_leaves_plain_text() {
        let plain = "copying binlogs/insert_log/1/2/3/100/4 (12 bytes)";
        assert_eq!(redact_text(plain), plain);
        let once = redact_text("https://a.b/c?sig=x");
        assert_eq!(redact_text(&once), once);
    }
}
