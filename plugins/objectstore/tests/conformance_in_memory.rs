//! The conformance kit, check by check, against the object_store backend over
//! `object_store::memory::InMemory`: the shared backend (listing, ranged reads, single and
//! multipart uploads, deletes) proven in milliseconds, beside the real-server runs of the S3,
//! MinIO and Azure plugins (tests/conformance.rs at the workspace level). InMemory is
//! object_store's own in-memory implementation of its ObjectStore trait, not a mock of a
//! server: what it cannot show (a server's signatures, errors and limits) the real-server runs
//! cover.

use std::sync::Arc;

use ferry_core::Location;
use ferry_objectstore::{errors, BackendConfig, CopyPolicy, ObjectStoreBackend, UploadPolicy};
use ferry_testkit::Pair;

fn map_error(e: object_store::Error, location: &Location, key: Option<&str>) -> ferry_core::Error {
    errors::map_with(e, location, key, "in-memory store", |_, _| None)
}

async fn pair() -> Pair {
    let mut location = Location::new("memory", "memory");
    location.bucket = Some("kit".into());
    let backend = Arc::new(ObjectStoreBackend::new(BackendConfig {
        location,
        prefix: String::new(),
        store: Arc::new(object_store::memory::InMemory::new()),
        copy_store: None,
        map_error,
        copy_domain: None,
        // What an in-memory store can do, as the core's own memory store declares it.
        capabilities: ferry_core::memory::MEMORY_CAPABILITIES,
        upload: UploadPolicy::S3,
        copy: CopyPolicy {
            max_single_copy: None,
            confirm_after_copy: false,
        },
        container_word: "bucket",
        container: "kit".into(),
        container_copy: None,
    }));
    Pair {
        source: backend.clone(),
        sink: backend,
    }
}

ferry_testkit::conformance_tests!(pair());
