//! # ferry-plugin-local
//!
//! Local disk as a Ferry [`Source`](ferry_core::Source) and [`Sink`](ferry_core::Sink): a
//! directory is the root, keys are relative paths. Keys that would escape the root (`..`,
//! absolute paths, NUL, backslashes, symlinks leading outside) are refused before any I/O.
//! Writes go to a temporary file under `<root>/.ferry-partial/`, are made durable and renamed, so a
//! partial object never appears under its final name.

mod listing;
mod paths;
mod store;
mod write;
mod writeback;

use std::sync::Arc;

use ferry_core::registry::{boxed_sink, boxed_source};
use ferry_core::{Capabilities, Location, PluginDescriptor, Sink, Source};

pub use paths::STAGING_DIR;
pub use store::LocalStore;

/// What local stores can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    list: true,
    read: true,
    range_read: true,
    write: true,
    delete: true,
    atomic_write: true,
    server_side_copy: true,
    ..Capabilities::NONE
};

fn open_source(
    location: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Source>>> {
    boxed_source(async move {
        let store = LocalStore::open_existing(location).await?;
        Ok(store)
    })
}

fn open_sink(
    location: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Sink>>> {
    boxed_sink(async move { LocalStore::open_for_writing(location) })
}

ferry_core::inventory::submit! {
    PluginDescriptor {
        name: "local",
        version: env!("CARGO_PKG_VERSION"),
        schemes: &["file"],
        description: "Local disk: a directory path or file:// URL",
        capabilities: CAPABILITIES,
        options: &[],
        open_source,
        open_sink,
    }
}

/// Referenced by the CLI's `builtins` module so that the linker keeps this plugin's
/// registration (see the crate-stack notes on `inventory`).
pub fn link() {}
