//! Blocking calls into a loaded plugin's table, each turning a status code and the plugin's
//! last-error message into a Ferry [`Error`]. Call these only from blocking threads.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, UNIX_EPOCH};

use ferry_plugin_abi::{self as abi, FerryKeyValue, FerryObjectInfo, FerryStr};

use crate::library::PluginLibrary;
use ferry_core::error::{Error, ErrorKind, Result};
use ferry_core::key::ObjectKey;
use ferry_core::object::{Checksums, ObjectMeta};

/// An opaque handle (store, reader or writer) owned by the plugin.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Handle(pub(crate) *mut c_void);

// SAFETY: the ABI lets handles be used from any thread (readers and writers from one at a time,
// which the callers guarantee).
unsafe impl Send for Handle {}
// SAFETY: as above; store handles may be used concurrently by contract.
unsafe impl Sync for Handle {}

fn kind_of(status: i32) -> ErrorKind {
    match status {
        abi::FERRY_ERR_NOT_FOUND => ErrorKind::NotFound,
        abi::FERRY_ERR_PERMISSION_DENIED => ErrorKind::PermissionDenied,
        abi::FERRY_ERR_INVALID_INPUT => ErrorKind::InvalidInput,
        abi::FERRY_ERR_CONFLICT => ErrorKind::Conflict,
        abi::FERRY_ERR_UNSUPPORTED => ErrorKind::Unsupported,
        abi::FERRY_ERR_TRANSIENT => ErrorKind::Transient,
        abi::FERRY_ERR_STORAGE_FULL => ErrorKind::StorageFull,
        abi::FERRY_ERR_INTEGRITY => ErrorKind::Integrity,
        _ => ErrorKind::Internal,
    }
}

fn as_ferry_str(s: &str) -> FerryStr {
    FerryStr::from_str(s)
}

impl PluginLibrary {
    /// The error for a failed call: the plugin's message (read right away, on this thread),
    /// the kind its status maps to, and the operation and key.
    fn failure(&self, status: i32, operation: &str, key: Option<&str>) -> Error {
        let message = self
            .table()
            .last_error
            .map(|f| {
                // SAFETY: `last_error` returns a string valid until the plugin's next call on
                // this thread; it is copied at once.
                let s = unsafe { f() };
                // SAFETY: as above.
                unsafe { s.as_bytes() }
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default()
            })
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| format!("status {status}, no message"));
        let mut error = Error::new(
            kind_of(status),
            format!("plugin {} failed to {operation}: {message}", self.name()),
        );
        if let Some(key) = key.filter(|k| !k.is_empty()) {
            error = error.with_key(key);
        }
        if status == abi::FERRY_ERR_PANIC {
            error = error.with_hint(format!(
                "the plugin {} ({}) crashed inside a call and caught it; report this to its vendor",
                self.name(),
                self.path().display()
            ));
        } else if !matches!(
            status,
            abi::FERRY_ERR_NOT_FOUND
                | abi::FERRY_ERR_PERMISSION_DENIED
                | abi::FERRY_ERR_INVALID_INPUT
                | abi::FERRY_ERR_CONFLICT
                | abi::FERRY_ERR_UNSUPPORTED
                | abi::FERRY_ERR_TRANSIENT
                | abi::FERRY_ERR_STORAGE_FULL
                | abi::FERRY_ERR_INTEGRITY
                | abi::FERRY_ERR_INTERNAL
        ) {
            error = error.with_hint(format!("the plugin returned the unknown status {status}"));
        }
        error
    }

    fn check(&self, status: i32, operation: &str, key: Option<&str>) -> Result<()> {
        if status == abi::FERRY_OK {
            Ok(())
        } else {
            Err(self.failure(status, operation, key))
        }
    }

    /// Opens a store from `key = value` pairs.
    pub(crate) fn call_open(&self, config: &[(String, String)]) -> Result<Handle> {
        let pairs: Vec<FerryKeyValue> = config
            .iter()
            .map(|(k, v)| FerryKeyValue {
                key: as_ferry_str(k),
                value: as_ferry_str(v),
            })
            .collect();
        let mut out = std::ptr::null_mut();
        let open = self.table().open.expect("checked at load");
        // SAFETY: `pairs` and their strings live for the call; `out` is writable.
        let status = unsafe { open(pairs.as_ptr(), pairs.len(), &mut out) };
        self.check(status, "open the location", None)?;
        if out.is_null() {
            return Err(Error::internal(format!(
                "plugin {} opened a store but returned a null handle",
                self.name()
            )));
        }
        Ok(Handle(out))
    }

    /// Frees a store.
    pub(crate) fn call_close(&self, store: Handle) {
        let close = self.table().close.expect("checked at load");
        // SAFETY: each store handle is closed once, after its last use.
        unsafe { close(store.0) };
    }

    /// Metadata of `key`, `None` when it does not exist.
    pub(crate) fn call_stat(&self, store: Handle, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        let mut info = FerryObjectInfo::new(FerryStr::EMPTY, 0);
        let stat = self.table().stat.expect("checked at load");
        // SAFETY: the key lives for the call; `info` is writable.
        let status = unsafe { stat(store.0, as_ferry_str(key.as_str()), &mut info) };
        if status == abi::FERRY_ERR_NOT_FOUND {
            return Ok(None);
        }
        self.check(status, "stat", Some(key.as_str()))?;
        Ok(Some(meta_of(key.clone(), &info)))
    }

    /// Lists `prefix` recursively, calling `each` per object until it returns `false`.
    pub(crate) fn call_list(
        &self,
        store: Handle,
        prefix: &str,
        each: &mut dyn FnMut(Result<ObjectMeta>) -> bool,
    ) -> Result<()> {
        struct State<'a> {
            each: &'a mut dyn FnMut(Result<ObjectMeta>) -> bool,
            plugin: &'a str,
            stopped: bool,
        }
        unsafe extern "C" fn trampoline(context: *mut c_void, info: *const FerryObjectInfo) -> i32 {
            // An unwind must not cross back into the plugin: catch it here and stop.
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                // SAFETY: `context` is the `State` passed to `list` below, alive for the call.
                let state = unsafe { &mut *context.cast::<State>() };
                if info.is_null() {
                    state.stopped = true;
                    return false;
                }
                // SAFETY: the plugin passes a valid object for the duration of the callback.
                let info = unsafe { &*info };
                // SAFETY: as above, the key is valid during the callback.
                let item = match unsafe { info.key.as_bytes() }
                    .and_then(|b| std::str::from_utf8(b).ok())
                {
                    None => Err(Error::integrity(format!(
                        "plugin {} listed a key that is not UTF-8",
                        state.plugin
                    ))),
                    Some(text) => ObjectKey::new(text)
                        .map(|key| meta_of(key, info))
                        .map_err(|e| {
                            Error::integrity(format!(
                                "plugin {} listed an invalid key {text:?}: {}",
                                state.plugin,
                                e.message()
                            ))
                        }),
                };
                let go_on = (state.each)(item);
                if !go_on {
                    state.stopped = true;
                }
                go_on
            }));
            match outcome {
                Ok(true) => 0,
                _ => 1,
            }
        }
        let mut state = State {
            each,
            plugin: self.name(),
            stopped: false,
        };
        let list = self.table().list.expect("checked at load");
        // SAFETY: the prefix and `state` live for the call; the trampoline matches the ABI.
        let status = unsafe {
            list(
                store.0,
                as_ferry_str(prefix),
                Some(trampoline),
                (&mut state as *mut State).cast(),
            )
        };
        if state.stopped {
            return Ok(());
        }
        self.check(status, "list", Some(prefix))
    }

    /// Opens a reader on `key` from `offset`, `length` bytes or to the end.
    pub(crate) fn call_read_open(
        &self,
        store: Handle,
        key: &ObjectKey,
        offset: u64,
        length: Option<u64>,
    ) -> Result<Handle> {
        let mut out = std::ptr::null_mut();
        let read_open = self.table().read_open.expect("checked at load");
        // SAFETY: the key lives for the call; `out` is writable.
        let status = unsafe {
            read_open(
                store.0,
                as_ferry_str(key.as_str()),
                offset,
                length.unwrap_or(abi::FERRY_READ_TO_END),
                &mut out,
            )
        };
        self.check(status, "open for reading", Some(key.as_str()))?;
        if out.is_null() {
            return Err(Error::internal(format!(
                "plugin {} returned a null reader",
                self.name()
            )));
        }
        Ok(Handle(out))
    }

    /// Fills `buffer`; returns the number of bytes, 0 at the end.
    pub(crate) fn call_read_chunk(
        &self,
        reader: Handle,
        buffer: &mut [u8],
        key: &ObjectKey,
    ) -> Result<usize> {
        let mut len = 0usize;
        let read_chunk = self.table().read_chunk.expect("checked at load");
        // SAFETY: the buffer is writable for the call; the reader is used by this thread only.
        let status = unsafe { read_chunk(reader.0, buffer.as_mut_ptr(), buffer.len(), &mut len) };
        self.check(status, "read", Some(key.as_str()))?;
        if len > buffer.len() {
            return Err(Error::integrity(format!(
                "plugin {} claims to have read {len} bytes into a {}-byte buffer",
                self.name(),
                buffer.len()
            )));
        }
        Ok(len)
    }

    /// Frees a reader.
    pub(crate) fn call_read_close(&self, reader: Handle) {
        let read_close = self.table().read_close.expect("checked at load");
        // SAFETY: each reader is closed once.
        unsafe { read_close(reader.0) };
    }

    /// Starts writing `size` bytes under `key`.
    pub(crate) fn call_write_open(
        &self,
        store: Handle,
        key: &ObjectKey,
        size: u64,
    ) -> Result<Handle> {
        let mut out = std::ptr::null_mut();
        let write_open = self.table().write_open.expect("checked at load");
        // SAFETY: the key lives for the call; `out` is writable.
        let status = unsafe { write_open(store.0, as_ferry_str(key.as_str()), size, &mut out) };
        self.check(status, "open for writing", Some(key.as_str()))?;
        if out.is_null() {
            return Err(Error::internal(format!(
                "plugin {} returned a null writer",
                self.name()
            )));
        }
        Ok(Handle(out))
    }

    /// Appends `data`.
    pub(crate) fn call_write_chunk(
        &self,
        writer: Handle,
        data: &[u8],
        key: &ObjectKey,
    ) -> Result<()> {
        let write_chunk = self.table().write_chunk.expect("checked at load");
        // SAFETY: `data` is readable for the call; the writer is used by this thread only.
        let status = unsafe { write_chunk(writer.0, data.as_ptr(), data.len()) };
        self.check(status, "write", Some(key.as_str()))
    }

    /// Commits or aborts a write; frees the writer.
    pub(crate) fn call_write_finish(
        &self,
        writer: Handle,
        commit: bool,
        key: &ObjectKey,
    ) -> Result<()> {
        let write_finish = self.table().write_finish.expect("checked at load");
        // SAFETY: each writer is finished once.
        let status = unsafe { write_finish(writer.0, u32::from(commit)) };
        self.check(
            status,
            if commit {
                "commit a write"
            } else {
                "abort a write"
            },
            Some(key.as_str()),
        )
    }

    /// Deletes `key`.
    pub(crate) fn call_delete(&self, store: Handle, key: &ObjectKey) -> Result<()> {
        let delete = self.table().delete.expect("checked at load");
        // SAFETY: the key lives for the call.
        let status = unsafe { delete(store.0, as_ferry_str(key.as_str())) };
        self.check(status, "delete", Some(key.as_str()))
    }
}

fn meta_of(key: ObjectKey, info: &FerryObjectInfo) -> ObjectMeta {
    let mut meta = ObjectMeta::new(key, info.size);
    if info.modified_unix_ms != abi::FERRY_TIME_UNKNOWN && info.modified_unix_ms >= 0 {
        meta.last_modified =
            UNIX_EPOCH.checked_add(Duration::from_millis(info.modified_unix_ms as u64));
    }
    meta.checksums = Checksums {
        crc32c: (info.flags & abi::FERRY_OBJECT_HAS_CRC32C != 0).then_some(info.crc32c),
        md5: (info.flags & abi::FERRY_OBJECT_HAS_MD5 != 0).then_some(info.md5),
    };
    meta
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        assert_eq!(kind_of(abi::FERRY_ERR_NOT_FOUND), ErrorKind::NotFound);
        assert_eq!(kind_of(abi::FERRY_ERR_TRANSIENT), ErrorKind::Transient);
        assert_eq!(kind_of(abi::FERRY_ERR_STORAGE_FULL), ErrorKind::StorageFull);
        assert_eq!(kind_of(abi::FERRY_ERR_PANIC), ErrorKind::Internal);
        assert_eq!(kind_of(12345), ErrorKind::Internal);
    }

    #[test]
    fn object_info_becomes_meta() {
        let mut info = FerryObjectInfo::new(FerryStr::EMPTY, 42);
        info.flags = abi::FERRY_OBJECT_HAS_CRC32C;
        info.crc32c = 7;
        info.modified_unix_ms = 1_000;
        let meta = meta_of(ObjectKey::new("a/b").unwrap(), &info);
        assert_eq!(meta.size, 42);
        assert_eq!(meta.checksums.crc32c, Some(7));
        assert_eq!(meta.checksums.md5, None);
        assert_eq!(
            meta.last_modified,
            UNIX_EPOCH.checked_add(Duration::from_secs(1))
        );
    }
}
