//! # ferry-plugin-abi
//!
//! The C-compatible contract between the `ferry` host and a vendor plugin shipped as a shared
//! library. Nothing here depends on Rust's (unstable) ABI: a plugin may be written in Rust (with
//! `ferry-plugin-sdk`), C, C++, Go or Zig against `include/ferry_plugin.h`, which is generated
//! from this file with cbindgen and committed.
//!
//! ## The contract
//! - The library exports one symbol, `ferry_plugin_entry`, a function without arguments that
//!   returns a pointer to a [`FerryPluginV1`] (whose first field is a [`FerryHeader`]) valid for
//!   as long as the library is loaded.
//! - The host reads `magic`, then `abi_version`, then `struct_size` before touching anything
//!   else, and refuses the library when any of them does not fit.
//! - **Versioning**: fields and capability bits are only ever appended. A host reads a field
//!   only when `struct_size` says the plugin's table holds it, so old plugins stay loadable.
//!   Changing or removing anything bumps [`FERRY_PLUGIN_ABI_VERSION`].
//! - **Strings** are [`FerryStr`]: UTF-8, pointer + length, not NUL-terminated. Strings the host
//!   passes are valid for the duration of the call. Strings the plugin returns from
//!   `last_error` or in a [`FerryObjectInfo`] are valid until the plugin's next call on the
//!   same thread; the table's own strings while the library is loaded.
//! - **Buffers** are owned by the host: `read_chunk` fills a host buffer, `write_chunk` reads
//!   one; the plugin keeps no pointer to them after the call.
//! - **Handles** (store, reader, writer) are opaque pointers created and freed by the plugin:
//!   `close` frees a store, `read_close` a reader, `write_finish` a writer (always, committed
//!   or not).
//! - **Threads**: every function may be called from any thread, and calls on one store may run
//!   concurrently; one reader or writer is never used by two threads at once.
//! - **Errors**: every fallible function returns a status (`FERRY_OK` or a `FERRY_ERR_*` code);
//!   on failure, `last_error()` called next on the same thread returns the plugin's message.
//!   Panics and exceptions must never unwind across the boundary (the SDK catches them and
//!   returns `FERRY_ERR_PANIC`).
#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::c_void;

/// The value of [`FerryHeader::magic`]: the bytes `FERRYPLG` read as a big-endian integer.
pub const FERRY_PLUGIN_MAGIC: u64 = 0x4645_5252_5950_4C47;
/// The ABI version this crate describes.
pub const FERRY_PLUGIN_ABI_VERSION: u32 = 1;

/// Success.
pub const FERRY_OK: i32 = 0;
/// The object, folder or store does not exist.
pub const FERRY_ERR_NOT_FOUND: i32 = 1;
/// The storage refused the credentials or the operation.
pub const FERRY_ERR_PERMISSION_DENIED: i32 = 2;
/// The location, an option or a key is malformed.
pub const FERRY_ERR_INVALID_INPUT: i32 = 3;
/// The object exists with other content, or a concurrent change was detected.
pub const FERRY_ERR_CONFLICT: i32 = 4;
/// The plugin or storage cannot do what was asked.
pub const FERRY_ERR_UNSUPPORTED: i32 = 5;
/// A temporary failure (network, throttling, timeout): the host may retry.
pub const FERRY_ERR_TRANSIENT: i32 = 6;
/// The storage is full or a quota is exhausted.
pub const FERRY_ERR_STORAGE_FULL: i32 = 7;
/// Bytes do not match what was expected (size or checksum).
pub const FERRY_ERR_INTEGRITY: i32 = 8;
/// Any other failure.
pub const FERRY_ERR_INTERNAL: i32 = 9;
/// The plugin panicked (or threw) inside the call and caught it at the boundary.
pub const FERRY_ERR_PANIC: i32 = 10;

/// Capability: lists prefixes recursively.
pub const FERRY_CAP_LIST: u64 = 1 << 0;
/// Capability: reads whole objects.
pub const FERRY_CAP_READ: u64 = 1 << 1;
/// Capability: reads byte ranges (`read_open` with an offset or a length).
pub const FERRY_CAP_RANGE_READ: u64 = 1 << 2;
/// Capability: writes objects.
pub const FERRY_CAP_WRITE: u64 = 1 << 3;
/// Capability: deletes objects.
pub const FERRY_CAP_DELETE: u64 = 1 << 4;
/// Capability: a write that is not committed never leaves anything under its key.
pub const FERRY_CAP_ATOMIC_WRITE: u64 = 1 << 5;
/// Capability: listings and `stat` report a CRC32C per object.
pub const FERRY_CAP_CRC32C: u64 = 1 << 6;
/// Capability: listings and `stat` report an MD5 per object.
pub const FERRY_CAP_MD5: u64 = 1 << 7;

/// [`FerryObjectInfo::flags`]: `crc32c` holds the object's CRC32C.
pub const FERRY_OBJECT_HAS_CRC32C: u32 = 1 << 0;
/// [`FerryObjectInfo::flags`]: `md5` holds the object's MD5.
pub const FERRY_OBJECT_HAS_MD5: u32 = 1 << 1;
/// [`FerryObjectInfo::modified_unix_ms`] when the time is unknown.
pub const FERRY_TIME_UNKNOWN: i64 = i64::MIN;
/// `read_open`'s `length` meaning "to the end of the object".
pub const FERRY_READ_TO_END: u64 = u64::MAX;

/// A UTF-8 string: pointer and length in bytes, not NUL-terminated. `ptr` may be null when
/// `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FerryStr {
    /// First byte.
    pub ptr: *const u8,
    /// Length in bytes.
    pub len: usize,
}

impl FerryStr {
    /// The empty string.
    pub const EMPTY: FerryStr = FerryStr {
        ptr: core::ptr::null(),
        len: 0,
    };

    /// Borrows a Rust string (the result lives as long as `s`).
    pub const fn from_str(s: &str) -> FerryStr {
        FerryStr {
            ptr: s.as_ptr(),
            len: s.len(),
        }
    }

    /// The bytes, or `None` when `ptr` is null with a non-zero length.
    ///
    /// # Safety
    /// `ptr` must point to `len` readable bytes that outlive `'a`.
    pub unsafe fn as_bytes<'a>(self) -> Option<&'a [u8]> {
        if self.len == 0 {
            Some(&[])
        } else if self.ptr.is_null() {
            None
        } else {
            // SAFETY: the caller guarantees `ptr..ptr+len` is readable for `'a`.
            Some(unsafe { core::slice::from_raw_parts(self.ptr, self.len) })
        }
    }
}

/// The frozen start of every plugin table: never changes, whatever the ABI version.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FerryHeader {
    /// Always [`FERRY_PLUGIN_MAGIC`].
    pub magic: u64,
    /// The ABI version the plugin was built for.
    pub abi_version: u32,
    /// `sizeof` the whole table (header included) as the plugin was compiled.
    pub struct_size: u32,
}

/// One `key = value` pair of the configuration given to `open`.
///
/// Keys: `scheme`, `host` (the URL's host, if any), `endpoint` (`host:port`, when the URL has a
/// port), `path` (the prefix inside the store: empty or ending with `/`, no leading `/`), and
/// every storage option as `option.<name>`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FerryKeyValue {
    /// The key.
    pub key: FerryStr,
    /// The value.
    pub value: FerryStr,
}

/// What a plugin says about one object.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FerryObjectInfo {
    /// Key relative to the store's root, `/`-separated (ignored by `stat`).
    pub key: FerryStr,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, milliseconds since the Unix epoch, or [`FERRY_TIME_UNKNOWN`].
    pub modified_unix_ms: i64,
    /// `FERRY_OBJECT_HAS_*` bits saying which checksums are set.
    pub flags: u32,
    /// CRC32C (Castagnoli) of the object, when `FERRY_OBJECT_HAS_CRC32C` is set.
    pub crc32c: u32,
    /// MD5 of the object, when `FERRY_OBJECT_HAS_MD5` is set.
    pub md5: [u8; 16],
}

impl FerryObjectInfo {
    /// An object of `size` bytes with nothing else known.
    pub const fn new(key: FerryStr, size: u64) -> FerryObjectInfo {
        FerryObjectInfo {
            key,
            size,
            modified_unix_ms: FERRY_TIME_UNKNOWN,
            flags: 0,
            crc32c: 0,
            md5: [0; 16],
        }
    }
}

/// Called by `list` once per object; returns 0 to go on, anything else to stop (then `list`
/// returns [`FERRY_OK`] or the status it was about to return).
pub type FerryListCallback =
    Option<unsafe extern "C" fn(context: *mut c_void, object: *const FerryObjectInfo) -> i32>;

/// The message of the calling thread's last failed call (see the contract above).
pub type FerryLastErrorFn = Option<unsafe extern "C" fn() -> FerryStr>;
/// Opens a store from `count` configuration pairs; writes the handle to `out_store`.
pub type FerryOpenFn = Option<
    unsafe extern "C" fn(
        config: *const FerryKeyValue,
        count: usize,
        out_store: *mut *mut c_void,
    ) -> i32,
>;
/// Frees a store.
pub type FerryCloseFn = Option<unsafe extern "C" fn(store: *mut c_void)>;
/// Metadata of one object; [`FERRY_ERR_NOT_FOUND`] when it does not exist.
pub type FerryStatFn = Option<
    unsafe extern "C" fn(store: *mut c_void, key: FerryStr, out: *mut FerryObjectInfo) -> i32,
>;
/// Lists every object under `prefix` (empty or ending with `/`), recursively, calling
/// `callback(context, object)` for each. A prefix that does not exist lists nothing.
pub type FerryListFn = Option<
    unsafe extern "C" fn(
        store: *mut c_void,
        prefix: FerryStr,
        callback: FerryListCallback,
        context: *mut c_void,
    ) -> i32,
>;
/// Opens `length` bytes (or [`FERRY_READ_TO_END`]) of `key` from `offset`.
pub type FerryReadOpenFn = Option<
    unsafe extern "C" fn(
        store: *mut c_void,
        key: FerryStr,
        offset: u64,
        length: u64,
        out_reader: *mut *mut c_void,
    ) -> i32,
>;
/// Fills up to `capacity` bytes of the host's `buffer`; `*out_len == 0` means the end.
pub type FerryReadChunkFn = Option<
    unsafe extern "C" fn(
        reader: *mut c_void,
        buffer: *mut u8,
        capacity: usize,
        out_len: *mut usize,
    ) -> i32,
>;
/// Frees a reader.
pub type FerryReadCloseFn = Option<unsafe extern "C" fn(reader: *mut c_void)>;
/// Starts writing `key`; `size` is the exact number of bytes that will follow. Nothing may be
/// visible under `key` before `write_finish(commit = 1)` succeeds.
pub type FerryWriteOpenFn = Option<
    unsafe extern "C" fn(
        store: *mut c_void,
        key: FerryStr,
        size: u64,
        out_writer: *mut *mut c_void,
    ) -> i32,
>;
/// Appends `len` bytes of the host's `data`.
pub type FerryWriteChunkFn =
    Option<unsafe extern "C" fn(writer: *mut c_void, data: *const u8, len: usize) -> i32>;
/// Commits (`commit = 1`) or aborts (`commit = 0`) a write, and frees the writer either way.
pub type FerryWriteFinishFn = Option<unsafe extern "C" fn(writer: *mut c_void, commit: u32) -> i32>;
/// Deletes one object; deleting a missing object succeeds.
pub type FerryDeleteFn = Option<unsafe extern "C" fn(store: *mut c_void, key: FerryStr) -> i32>;

/// The plugin table of ABI version 1. New fields are only ever appended.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct FerryPluginV1 {
    /// Magic, ABI version and size of this table.
    pub header: FerryHeader,
    /// Plugin name (letters, digits, `-`, `_`).
    pub name: FerryStr,
    /// Plugin version.
    pub version: FerryStr,
    /// One line describing the plugin.
    pub description: FerryStr,
    /// URL schemes served (lowercase), `scheme_count` of them.
    pub schemes: *const FerryStr,
    /// Number of schemes.
    pub scheme_count: usize,
    /// `FERRY_CAP_*` bits.
    pub capabilities: u64,
    /// See [`FerryLastErrorFn`].
    pub last_error: FerryLastErrorFn,
    /// See [`FerryOpenFn`].
    pub open: FerryOpenFn,
    /// See [`FerryCloseFn`].
    pub close: FerryCloseFn,
    /// See [`FerryStatFn`].
    pub stat: FerryStatFn,
    /// See [`FerryListFn`].
    pub list: FerryListFn,
    /// See [`FerryReadOpenFn`].
    pub read_open: FerryReadOpenFn,
    /// See [`FerryReadChunkFn`].
    pub read_chunk: FerryReadChunkFn,
    /// See [`FerryReadCloseFn`].
    pub read_close: FerryReadCloseFn,
    /// See [`FerryWriteOpenFn`].
    pub write_open: FerryWriteOpenFn,
    /// See [`FerryWriteChunkFn`].
    pub write_chunk: FerryWriteChunkFn,
    /// See [`FerryWriteFinishFn`].
    pub write_finish: FerryWriteFinishFn,
    /// See [`FerryDeleteFn`].
    pub delete: FerryDeleteFn,
}

/// The exported entry point every plugin defines (as `ferry_plugin_entry`).
pub type FerryPluginEntryFn = unsafe extern "C" fn() -> *const FerryHeader;

/// The name of the entry symbol, NUL-terminated for `dlsym`.
pub const FERRY_PLUGIN_ENTRY_SYMBOL: &[u8] = b"ferry_plugin_entry\0";
