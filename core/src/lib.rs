//! # ferry-core
//!
//! The heart of Ferry, with no cloud SDK in it:
//! - [`Source`] and [`Sink`], the async traits every storage plugin implements, with
//!   [`Capabilities`] the engine chooses by;
//! - the [`registry`] of plugins (built-ins through `inventory`, loaded ones at run time);
//! - [`Location`] parsing for every path and URL form Ferry understands;
//! - the milvus-backup model in [`backup`]: discovery, meta parsing, inventory, validation,
//!   deep binlog checks;
//! - the [`transfer`] engine and [`verify`]cation, tied together by [`migrate`].
//!
//! It holds no `unsafe` code (`forbid(unsafe_code)`): vendor plugins are loaded by
//! `ferry-plugin-host`, and jobs are stored by `ferry-jobs`, so neither libloading nor SQLite
//! is compiled into the core or into any storage plugin.

#![forbid(unsafe_code)]

pub mod backup;
pub mod buffers;
pub mod capabilities;
pub mod error;
pub mod key;
pub mod location;
pub mod memory;
pub mod migrate;
pub mod milvus_config;
pub mod object;
pub mod options;
pub mod redact;
pub mod registry;
pub mod retry;
pub mod sink;
pub mod source;
pub mod stream;
pub mod time;
pub mod transfer;
pub mod verify;

pub use async_trait::async_trait;
pub use capabilities::Capabilities;
pub use error::{Error, ErrorKind, ErrorReport, Result};
pub use key::ObjectKey;
pub use location::Location;
pub use object::{Checksums, ObjectMeta};
pub use options::{OptionKind, OptionSpec, Side};
pub use redact::Secret;
pub use registry::{PluginDescriptor, PluginInfo, PluginOrigin, Registry};
pub use sink::{same_plugin_source, Sink};
pub use source::{Children, Source};
pub use stream::{ByteRange, ByteStream, ObjectStream};

/// Re-exported so plugins register with the same `inventory` version as the core.
pub use inventory;
pub use tokio_util::sync::CancellationToken;
