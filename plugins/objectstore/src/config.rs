//! What a plugin hands over to build an object_store backend: the configured client, its error
//! mapping, its limits. Shared by the backend (`backend`) and the uploads (`upload`), which both
//! read it and neither of which knows the other's internals.

use std::sync::Arc;

use async_trait::async_trait;
use ferry_core::{Capabilities, Error, Location, Result};
use object_store::path::Path;
use object_store::ObjectStore;

/// Maps an object_store error from an operation on a location (and key) to a Ferry error.
pub type ErrorMapper = fn(object_store::Error, &Location, Option<&str>) -> Error;

/// How server-side copies behave on this backend.
#[derive(Debug, Clone, Copy)]
pub struct CopyPolicy {
    /// Largest object one copy request may move; larger ones are streamed.
    pub max_single_copy: Option<u64>,
    /// After a copy, check the destination's size (and wait while it is still pending).
    pub confirm_after_copy: bool,
}

/// Copies objects from another container of the same service into a backend's container,
/// without streaming them (object_store copies only inside one container).
#[async_trait]
pub trait ContainerCopy: Send + Sync + std::fmt::Debug {
    /// Copies `from` of container `from_container` to `to` in this backend's container.
    async fn copy(&self, from_container: &str, from: &Path, to: &Path) -> Result<()>;
}

/// What a plugin hands over to build a backend.
pub struct BackendConfig {
    /// The location (for messages).
    pub location: Location,
    /// Key prefix inside the container (empty or ending with `/`).
    pub prefix: String,
    /// The object_store client, bound to one container.
    pub store: Arc<dyn ObjectStore>,
    /// A client for server-side copy requests, when they need other credentials than `store`
    /// (e.g. a SAS that also authorises the copy's source).
    pub copy_store: Option<Arc<dyn ObjectStore>>,
    /// The plugin's error mapping.
    pub map_error: ErrorMapper,
    /// Store and credentials identity for server-side copies (`None`: never copy server-side).
    pub copy_domain: Option<String>,
    /// Capabilities to declare.
    pub capabilities: Capabilities,
    /// Upload sizes.
    pub upload: UploadPolicy,
    /// Server-side copy behaviour.
    pub copy: CopyPolicy,
    /// What to call the container in messages (`bucket`, `container`).
    pub container_word: &'static str,
    /// The container's name.
    pub container: String,
    /// Copies from other containers, when the plugin can (the copy domain then leaves the
    /// container out).
    pub container_copy: Option<Arc<dyn ContainerCopy>>,
}

/// Upload sizes of a store.
#[derive(Debug, Clone, Copy)]
pub struct UploadPolicy {
    /// Objects up to this size are uploaded with one request.
    pub single_put_limit: u64,
    /// Smallest part.
    pub min_part_size: u64,
    /// Parts to stay under (S3 allows 10,000; Azure 50,000 blocks).
    pub max_parts: u64,
}

impl UploadPolicy {
    /// S3's limits: 5 MiB minimum part, 10,000 parts (Ferry: 8 MiB parts, stays under 9,000).
    pub const S3: UploadPolicy = UploadPolicy {
        single_put_limit: 8 * 1024 * 1024,
        min_part_size: 8 * 1024 * 1024,
        max_parts: 9_000,
    };
    /// Azure's limits: 50,000 blocks per blob (Ferry: 8 MiB blocks, stays under 45,000).
    pub const AZURE: UploadPolicy = UploadPolicy {
        single_put_limit: 8 * 1024 * 1024,
        min_part_size: 8 * 1024 * 1024,
        max_parts: 45_000,
    };

    /// The part size for an object of `size` bytes: at least the minimum, a whole number of
    /// MiB, and few enough parts to stay under the limit.
    pub fn part_size(&self, size: u64) -> u64 {
        const MIB: u64 = 1024 * 1024;
        let needed = size.div_ceil(self.max_parts);
        needed.div_ceil(MIB).max(self.min_part_size.div_ceil(MIB)) * MIB
    }
}

impl BackendConfig {
    /// Maps an object_store error of an operation on `key` (or on the container) to Ferry's.
    pub fn map(&self, e: object_store::Error, key: Option<&str>) -> Error {
        (self.map_error)(e, &self.location, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_sizes_respect_limits() {
        const MIB: u64 = 1024 * 1024;
        let s3 = UploadPolicy::S3;
        assert_eq!(s3.part_size(9 * MIB), 8 * MIB);
        assert_eq!(s3.part_size(1024 * MIB), 8 * MIB);
        let five_tib = 5 * 1024 * 1024 * MIB;
        let p = s3.part_size(five_tib);
        assert!(five_tib.div_ceil(p) <= 10_000);
        assert_eq!(p % MIB, 0);
        assert!((10 * 1024 * MIB).div_ceil(s3.part_size(10 * 1024 * MIB)) <= 10_000);
        let az = UploadPolicy::AZURE;
        let huge = 190 * 1024 * 1024 * MIB;
        assert!(huge.div_ceil(az.part_size(huge)) <= 50_000);
    }
}
