//! # ferry-objectstore
//!
//! The code every `object_store`-based plugin shares: a container prefix as a Ferry
//! [`Source`](ferry_core::Source) and [`Sink`](ferry_core::Sink) ([`ObjectStoreBackend`]), and
//! uploads ([`upload`]) with bounded memory and nothing partial left behind. Plugins bring the
//! configured client, their error mapping and their limits.

pub mod backend;
pub mod client;
pub mod config;
pub mod errors;
pub mod upload;

pub use backend::ObjectStoreBackend;
pub use config::{BackendConfig, ContainerCopy, CopyPolicy, ErrorMapper, UploadPolicy};
pub use upload::Uploads;
