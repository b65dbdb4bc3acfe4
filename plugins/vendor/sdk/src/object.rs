//! Plain Rust views of the ABI's object info and open configuration.

/// What a plugin says about one object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectInfo {
    /// Key relative to the store's root (ignored for `stat`).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch.
    pub modified_unix_ms: Option<i64>,
    /// CRC32C, when the storage keeps one.
    pub crc32c: Option<u32>,
    /// MD5, when the storage keeps one.
    pub md5: Option<[u8; 16]>,
}

/// The location a store is opened at, as `key = value` pairs: `scheme`, `host`, `endpoint`
/// (`host:port`), `path` (prefix: empty or ending with `/`, no leading `/`) and `option.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenConfig {
    entries: Vec<(String, String)>,
}

impl OpenConfig {
    /// A configuration from pairs.
    pub fn new(entries: Vec<(String, String)>) -> Self {
        OpenConfig { entries }
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The scheme (always given).
    pub fn scheme(&self) -> &str {
        self.get("scheme").unwrap_or_default()
    }

    /// The prefix inside the store: empty or ending with `/`.
    pub fn path(&self) -> &str {
        self.get("path").unwrap_or_default()
    }

    /// Every pair.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }
}
