//! Ferry's Milvus cluster target: restore a milvus-backup backup into a Milvus cluster
//! (databases, collections exactly as backed up, partitions, data through the server's binlog
//! import, indexes, load) and prove in the cluster that it holds what the backup says.
//!
//! A cluster is not a storage: it does not take objects, it takes requests. So it does not
//! implement `ferry_core::Sink`; it sits beside it. A restore *uses* a sink — the storage the
//! Milvus server reads (its bucket, or its local folder) — to place the binlogs with Ferry's own
//! transfer engine, then asks the server to import them from there. The CLI picks this target
//! from the URL scheme (`milvus://`, `milvuss://`, a Zilliz Cloud `https://` endpoint), the way
//! it picks a storage plugin. gRPC lives here, never in `ferry-core`.

pub mod client;
pub mod endpoint;
pub mod error;
pub mod proto_schema;
pub mod version;

pub use client::MilvusClient;
pub use endpoint::{is_cluster_url, ClusterUrl, Credentials};
pub use error::{MilvusError, Result};
pub mod checks;
pub mod import;
pub mod indexes;
pub mod journal;
pub mod plan;
pub mod restore;
