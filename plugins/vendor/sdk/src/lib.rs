//! # ferry-plugin-sdk
//!
//! Write a Ferry storage plugin in safe Rust and ship it as a shared library (`cdylib`) that any
//! `ferry` speaking the same plugin ABI loads with `--plugin PATH`, whatever Rust compiler built
//! either side.
//!
//! 1. Implement [`Plugin`] (metadata and `open`) and [`Store`] (stat, list, read, write,
//!    delete) with blocking I/O: the host calls them from its blocking thread pool.
//! 2. Call [`export_plugin!`] once with your plugin type.
//! 3. Build with `crate-type = ["cdylib"]` and check it with
//!    `ferry plugins check --plugin target/release/libyour_plugin.so <LOCATION>`.
//!
//! The SDK writes the C table (see `ferry-plugin-abi`), converts strings, maps
//! [`PluginError`]s to status codes with their message, and catches every panic at the
//! boundary, turning it into a `FERRY_ERR_PANIC` error instead of aborting the host.
//!
//! A whole (read-only, empty) plugin:
//!
//! ```
//! use ferry_plugin_sdk::{abi, ObjectInfo, OpenConfig, Plugin, PluginError, PluginResult, Store, Upload};
//!
//! struct Empty;
//!
//! impl Plugin for Empty {
//!     const NAME: &'static str = "empty";
//!     const VERSION: &'static str = "0.1.0";
//!     const DESCRIPTION: &'static str = "a store that holds nothing";
//!     const SCHEMES: &'static [&'static str] = &["empty"];
//!     const CAPABILITIES: u64 = abi::FERRY_CAP_LIST | abi::FERRY_CAP_READ;
//!     fn open(_config: &OpenConfig) -> PluginResult<Box<dyn Store>> {
//!         Ok(Box::new(EmptyStore))
//!     }
//! }
//!
//! struct EmptyStore;
//!
//! impl Store for EmptyStore {
//!     fn stat(&self, _key: &str) -> PluginResult<Option<ObjectInfo>> {
//!         Ok(None)
//!     }
//!     fn list(&self, _prefix: &str, _each: &mut dyn FnMut(ObjectInfo) -> bool) -> PluginResult<()> {
//!         Ok(())
//!     }
//!     fn read(&self, key: &str, _offset: u64, _length: Option<u64>) -> PluginResult<Box<dyn std::io::Read + Send>> {
//!         Err(PluginError::not_found(format!("{key} does not exist")))
//!     }
//!     fn write(&self, _key: &str, _size: u64) -> PluginResult<Box<dyn Upload>> {
//!         Err(PluginError::invalid_input("this store is read-only"))
//!     }
//!     fn delete(&self, _key: &str) -> PluginResult<()> {
//!         Ok(())
//!     }
//! }
//!
//! ferry_plugin_sdk::export_plugin!(Empty);
//!
//! // The entry point the host looks up returns the table's header, magic first.
//! let header = unsafe { &*ferry_plugin_entry() };
//! assert_eq!(header.magic, abi::FERRY_PLUGIN_MAGIC);
//! assert_eq!(header.abi_version, abi::FERRY_PLUGIN_ABI_VERSION);
//! ```

mod error;
mod ffi;
mod object;

pub use error::{ErrorKind, PluginError, PluginResult};
pub use ferry_plugin_abi as abi;
pub use ffi::PluginTable;
pub use object::{ObjectInfo, OpenConfig};

/// What a plugin is, and how it opens a store at a location.
pub trait Plugin: 'static {
    /// Plugin name (letters, digits, `-`, `_`).
    const NAME: &'static str;
    /// Plugin version.
    const VERSION: &'static str;
    /// One line describing the plugin.
    const DESCRIPTION: &'static str;
    /// URL schemes served (lowercase).
    const SCHEMES: &'static [&'static str];
    /// `abi::FERRY_CAP_*` bits.
    const CAPABILITIES: u64;

    /// Opens the store a location names (see [`OpenConfig`]).
    fn open(config: &OpenConfig) -> PluginResult<Box<dyn Store>>;
}

/// A store opened at a location; keys are relative to its root, `/`-separated, and already
/// validated by the host (no empty, `.` or `..` segments, no leading `/`).
/// Methods are called concurrently from several threads.
pub trait Store: Send + Sync {
    /// Metadata of one object, `None` when it does not exist.
    fn stat(&self, key: &str) -> PluginResult<Option<ObjectInfo>>;

    /// Calls `each` for every object under `prefix` (empty or ending with `/`), recursively;
    /// stops early when `each` returns `false`. A missing prefix lists nothing.
    fn list(&self, prefix: &str, each: &mut dyn FnMut(ObjectInfo) -> bool) -> PluginResult<()>;

    /// Opens `key` for reading from `offset`, `length` bytes or to the end.
    fn read(
        &self,
        key: &str,
        offset: u64,
        length: Option<u64>,
    ) -> PluginResult<Box<dyn std::io::Read + Send>>;

    /// Starts writing `size` bytes under `key`. Nothing may be visible under `key` until
    /// [`Upload::commit`] succeeds.
    fn write(&self, key: &str, size: u64) -> PluginResult<Box<dyn Upload>>;

    /// Deletes `key`; a missing key is not an error.
    fn delete(&self, key: &str) -> PluginResult<()>;
}

/// An object being written.
pub trait Upload: Send {
    /// Appends bytes.
    fn write(&mut self, data: &[u8]) -> PluginResult<()>;
    /// Makes the object visible under its key.
    fn commit(self: Box<Self>) -> PluginResult<()>;
    /// Drops everything written so far; nothing stays visible.
    fn abort(self: Box<Self>);
}

/// Exports a [`Plugin`] as the `ferry_plugin_entry` symbol of this library.
///
/// ```text
/// ferry_plugin_sdk::export_plugin!(MyPlugin);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        /// The entry point the Ferry host looks up.
        #[unsafe(no_mangle)]
        pub extern "C" fn ferry_plugin_entry() -> *const $crate::abi::FerryHeader {
            static TABLE: ::std::sync::OnceLock<$crate::PluginTable> = ::std::sync::OnceLock::new();
            TABLE
                .get_or_init($crate::PluginTable::new::<$plugin>)
                .header()
        }
    };
}
