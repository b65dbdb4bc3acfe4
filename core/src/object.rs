//! What a storage says about one object: key, size, time, e-tag and any checksums it reports.

use std::time::SystemTime;

use serde::Serialize;

use crate::key::ObjectKey;

/// Checksums a store reports for an object (or Ferry computed while streaming).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Checksums {
    /// CRC32C (Castagnoli), as GCS reports and Ferry computes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crc32c: Option<u32>,
    /// MD5 of the whole object (GCS, Azure Content-MD5, single-part S3 e-tags).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5: Option<[u8; 16]>,
}

impl Checksums {
    /// A checksum set holding only a CRC32C.
    pub fn crc32c(value: u32) -> Self {
        Checksums {
            crc32c: Some(value),
            md5: None,
        }
    }

    /// Compares with `other`: `Some(true)` when they share an algorithm and all shared values
    /// agree, `Some(false)` when a shared value differs, `None` when they share none.
    pub fn agree(&self, other: &Checksums) -> Option<bool> {
        let mut shared = false;
        if let (Some(a), Some(b)) = (self.crc32c, other.crc32c) {
            if a != b {
                return Some(false);
            }
            shared = true;
        }
        if let (Some(a), Some(b)) = (self.md5, other.md5) {
            if a != b {
                return Some(false);
            }
            shared = true;
        }
        shared.then_some(true)
    }

    /// Whether no checksum is known.
    pub fn is_empty(&self) -> bool {
        self.crc32c.is_none() && self.md5.is_none()
    }
}

/// Metadata of one object, with its key relative to the location that listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Key relative to the location's root (`/`-separated).
    pub key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, when the store reports one.
    pub last_modified: Option<SystemTime>,
    /// The store's e-tag (or an equivalent version marker), when it reports one.
    pub etag: Option<String>,
    /// Checksums the store reports without reading the object.
    pub checksums: Checksums,
}

impl ObjectMeta {
    /// Metadata with only key and size known.
    pub fn new(key: ObjectKey, size: u64) -> Self {
        ObjectMeta {
            key,
            size,
            last_modified: None,
            etag: None,
            checksums: Checksums::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_agreement() {
        let a = Checksums::crc32c(1);
        assert_eq!(a.agree(&Checksums::crc32c(1)), Some(true));
        assert_eq!(a.agree(&Checksums::crc32c(2)), Some(false));
        assert_eq!(a.agree(&Checksums::default()), None);
        let md5 = Checksums {
            crc32c: None,
            md5: Some([1; 16]),
        };
        assert_eq!(a.agree(&md5), None);
    }
}
