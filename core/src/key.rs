//! Object keys relative to a location's root, validated so that no key can escape the root.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// The longest key Ferry accepts, in bytes (S3 allows 1024; local paths allow 4096).
pub const MAX_KEY_LEN: usize = 4096;
/// The longest single path segment, in bytes (common filesystem limit).
pub const MAX_SEGMENT_LEN: usize = 255;

/// A relative, `/`-separated object key that cannot escape its root: no leading `/`, no `.` or
/// `..` segments, no empty segments (except the trailing one of a directory marker), no NUL,
/// no backslash, no control characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Validates and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self> {
        let key = key.into();
        validate(&key)?;
        Ok(ObjectKey(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a zero-byte "directory marker" key ending with `/`.
    pub fn is_dir_marker(&self) -> bool {
        self.0.ends_with('/')
    }

    /// The key's last segment (file name).
    pub fn file_name(&self) -> &str {
        self.0
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(&self.0)
    }

    /// The key's segments.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.trim_end_matches('/').split('/')
    }

    /// `prefix` + this key; `prefix` is a directory prefix (empty or ending with `/`).
    pub fn under(&self, prefix: &str) -> Result<ObjectKey> {
        ObjectKey::new(format!("{}{}", prefix, self.0))
    }

    /// This key with a leading directory `prefix` (empty or ending with `/`) removed.
    pub fn strip_prefix(&self, prefix: &str) -> Option<ObjectKey> {
        self.0
            .strip_prefix(prefix)
            .filter(|rest| !rest.is_empty())
            .map(|rest| ObjectKey(rest.to_string()))
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn refuse(key: &str, why: &str) -> Error {
    let shown: String = key
        .chars()
        .take(200)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    Error::invalid_input(format!("refusing object key {shown:?}: {why}")).with_hint(
        "keys must stay inside the location's root; remove or rename the offending object",
    )
}

fn validate(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(refuse(key, "the key is empty"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(refuse(key, "the key is longer than 4096 bytes"));
    }
    if key.starts_with('/') {
        return Err(refuse(key, "absolute keys would escape the root"));
    }
    if key.contains('\0') {
        return Err(refuse(key, "the key contains a NUL byte"));
    }
    if key.contains('\\') {
        return Err(refuse(key, "backslashes are not allowed in keys"));
    }
    if key.chars().any(|c| c.is_control()) {
        return Err(refuse(key, "the key contains control characters"));
    }
    let body = key.strip_suffix('/').unwrap_or(key);
    for segment in body.split('/') {
        match segment {
            "" => return Err(refuse(key, "the key has an empty path segment (`//`)")),
            "." | ".." => return Err(refuse(key, "`.` and `..` segments would escape the root")),
            s if s.len() > MAX_SEGMENT_LEN => {
                return Err(refuse(key, "a path segment is longer than 255 bytes"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Validates a directory prefix: empty, or a valid key ending with `/`.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Ok(());
    }
    if !prefix.ends_with('/') {
        return Err(Error::invalid_input(format!(
            "prefix {prefix:?} must end with `/`"
        )));
    }
    validate(prefix)
}

/// Checks that `name` can be one path segment (a backup folder name): a valid key without `/`.
pub fn validate_segment(name: &str) -> Result<()> {
    if name.contains('/') {
        return Err(refuse(name, "a single name cannot contain `/`"));
    }
    validate(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_keys() {
        for k in [
            "meta/full_meta.json",
            "binlogs/insert_log/1/2/3/3/100/4",
            "a b/ümlaut+x=y",
            "dir/",
            "x",
        ] {
            assert!(ObjectKey::new(k).is_ok(), "{k}");
        }
    }

    #[test]
    fn refuses_escaping_keys() {
        for k in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a\\..\\b",
            "a\0b",
            "a\nb",
            "..",
        ] {
            let err = ObjectKey::new(k).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{k:?}");
        }
        assert!(ObjectKey::new("a".repeat(300)).is_err());
        assert!(ObjectKey::new("a/".repeat(2100)).is_err());
    }

    #[test]
    fn helpers() {
        let k = ObjectKey::new("b1/meta/full_meta.json").unwrap();
        assert_eq!(k.file_name(), "full_meta.json");
        assert_eq!(
            k.strip_prefix("b1/").unwrap().as_str(),
            "meta/full_meta.json"
        );
        assert!(k.strip_prefix("b2/").is_none());
        assert!(ObjectKey::new("d/").unwrap().is_dir_marker());
        assert!(validate_prefix("b1/").is_ok());
        assert!(validate_prefix("b1").is_err());
        assert!(validate_segment("a/b").is_err());
    }
}
