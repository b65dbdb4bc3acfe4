//! The C side of the SDK: the plugin table and the `extern "C"` functions behind it. Every
//! function converts its arguments, calls the safe trait inside `catch_unwind`, and reports
//! failures through a status code and the thread's last-error message.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_void;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};

use ferry_plugin_abi::{self as abi, FerryHeader, FerryKeyValue, FerryObjectInfo, FerryStr};

use crate::error::{PluginError, PluginResult};
use crate::object::{ObjectInfo, OpenConfig};
use crate::{Plugin, Store, Upload};

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    /// Keeps the key of the last `stat`/listed object alive until the next call.
    static LAST_KEY: RefCell<String> = const { RefCell::new(String::new()) };
}

type StoreBox = Box<dyn Store>;
type ReaderBox = Box<dyn Read + Send>;
type UploadBox = Box<dyn Upload>;

/// The table `export_plugin!` hands to the host, with the storage its pointers refer to.
pub struct PluginTable {
    table: abi::FerryPluginV1,
    _schemes: Vec<FerryStr>,
}

// SAFETY: the table holds pointers to `'static` strings and to `_schemes`, which is never
// mutated after construction.
unsafe impl Send for PluginTable {}
// SAFETY: as above; the table is read-only.
unsafe impl Sync for PluginTable {}

impl PluginTable {
    /// Builds the table of plugin `P`.
    pub fn new<P: Plugin>() -> PluginTable {
        let schemes: Vec<FerryStr> = P::SCHEMES.iter().map(|s| FerryStr::from_str(s)).collect();
        let table = abi::FerryPluginV1 {
            header: FerryHeader {
                magic: abi::FERRY_PLUGIN_MAGIC,
                abi_version: abi::FERRY_PLUGIN_ABI_VERSION,
                struct_size: size_of::<abi::FerryPluginV1>() as u32,
            },
            name: FerryStr::from_str(P::NAME),
            version: FerryStr::from_str(P::VERSION),
            description: FerryStr::from_str(P::DESCRIPTION),
            schemes: schemes.as_ptr(),
            scheme_count: schemes.len(),
            capabilities: P::CAPABILITIES,
            last_error: Some(last_error),
            open: Some(open::<P>),
            close: Some(close),
            stat: Some(stat),
            list: Some(list),
            read_open: Some(read_open),
            read_chunk: Some(read_chunk),
            read_close: Some(read_close),
            write_open: Some(write_open),
            write_chunk: Some(write_chunk),
            write_finish: Some(write_finish),
            delete: Some(delete),
        };
        PluginTable {
            table,
            _schemes: schemes,
        }
    }

    /// The pointer `ferry_plugin_entry` returns.
    pub fn header(&self) -> *const FerryHeader {
        &self.table.header
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_string()
    }
}

fn set_last_error(message: String) {
    LAST_ERROR.with(|e| *e.borrow_mut() = message);
}

/// Runs `f`, turning its error or panic into a status code and the thread's last error.
fn guard(f: impl FnOnce() -> PluginResult<()>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => abi::FERRY_OK,
        Ok(Err(e)) => {
            let status = e.kind.status();
            set_last_error(e.message);
            status
        }
        Err(payload) => {
            set_last_error(format!(
                "the plugin panicked: {}",
                panic_message(payload.as_ref())
            ));
            abi::FERRY_ERR_PANIC
        }
    }
}

/// A host string as `&str`.
///
/// # Safety
/// `s` must point to `len` readable bytes for the duration of the call.
unsafe fn text<'a>(s: FerryStr, what: &str) -> PluginResult<&'a str> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { s.as_bytes() }
        .ok_or_else(|| PluginError::invalid_input(format!("{what}: null pointer")))?;
    std::str::from_utf8(bytes)
        .map_err(|_| PluginError::invalid_input(format!("{what} is not valid UTF-8")))
}

fn non_null<T>(p: *mut T, what: &str) -> PluginResult<*mut T> {
    if p.is_null() {
        Err(PluginError::invalid_input(format!("{what}: null pointer")))
    } else {
        Ok(p)
    }
}

/// Fills `out` from `info`, keeping the key alive in a thread-local until the next call.
fn to_abi(info: &ObjectInfo, out: &mut FerryObjectInfo) {
    LAST_KEY.with(|k| {
        let mut k = k.borrow_mut();
        k.clear();
        k.push_str(&info.key);
        out.key = FerryStr {
            ptr: k.as_ptr(),
            len: k.len(),
        };
    });
    out.size = info.size;
    out.modified_unix_ms = info.modified_unix_ms.unwrap_or(abi::FERRY_TIME_UNKNOWN);
    out.flags = 0;
    out.crc32c = 0;
    out.md5 = [0; 16];
    if let Some(c) = info.crc32c {
        out.flags |= abi::FERRY_OBJECT_HAS_CRC32C;
        out.crc32c = c;
    }
    if let Some(m) = info.md5 {
        out.flags |= abi::FERRY_OBJECT_HAS_MD5;
        out.md5 = m;
    }
}

unsafe extern "C" fn last_error() -> FerryStr {
    LAST_ERROR.with(|e| {
        let e = e.borrow();
        FerryStr {
            ptr: e.as_ptr(),
            len: e.len(),
        }
    })
}

unsafe extern "C" fn open<P: Plugin>(
    config: *const FerryKeyValue,
    count: usize,
    out_store: *mut *mut c_void,
) -> i32 {
    guard(|| {
        let out_store = non_null(out_store, "out_store")?;
        let pairs: &[FerryKeyValue] = if count == 0 {
            &[]
        } else {
            // SAFETY: the host passes `count` pairs at `config`.
            unsafe { std::slice::from_raw_parts(non_null(config.cast_mut(), "config")?, count) }
        };
        let mut entries = Vec::with_capacity(pairs.len());
        for pair in pairs {
            // SAFETY: the host's strings are valid for the call.
            let key = unsafe { text(pair.key, "a configuration key")? };
            // SAFETY: as above.
            let value = unsafe { text(pair.value, "a configuration value")? };
            entries.push((key.to_string(), value.to_string()));
        }
        let store: StoreBox = P::open(&OpenConfig::new(entries))?;
        // SAFETY: `out_store` is non-null and writable by contract.
        unsafe { *out_store = Box::into_raw(Box::new(store)).cast() };
        Ok(())
    })
}

/// The store behind a handle.
///
/// # Safety
/// `store` must be a handle returned by `open` and not yet closed.
unsafe fn store_ref<'a>(store: *mut c_void) -> PluginResult<&'a StoreBox> {
    let store = non_null(store, "store")?;
    // SAFETY: forwarded from the caller.
    Ok(unsafe { &*store.cast::<StoreBox>() })
}

unsafe extern "C" fn close(store: *mut c_void) {
    if store.is_null() {
        return;
    }
    let _ = guard(|| {
        // SAFETY: the host closes each handle once.
        drop(unsafe { Box::from_raw(store.cast::<StoreBox>()) });
        Ok(())
    });
}

unsafe extern "C" fn stat(store: *mut c_void, key: FerryStr, out: *mut FerryObjectInfo) -> i32 {
    guard(|| {
        // SAFETY: handles and strings are valid per the ABI contract.
        let (store, key) = unsafe { (store_ref(store)?, text(key, "the key")?) };
        let out = non_null(out, "out")?;
        match store.stat(key)? {
            // SAFETY: `out` is non-null and writable.
            Some(info) => to_abi(&info, unsafe { &mut *out }),
            None => return Err(PluginError::not_found(format!("{key} does not exist"))),
        }
        Ok(())
    })
}

unsafe extern "C" fn list(
    store: *mut c_void,
    prefix: FerryStr,
    callback: abi::FerryListCallback,
    context: *mut c_void,
) -> i32 {
    guard(|| {
        // SAFETY: handles and strings are valid per the ABI contract.
        let (store, prefix) = unsafe { (store_ref(store)?, text(prefix, "the prefix")?) };
        let callback = callback.ok_or_else(|| PluginError::invalid_input("list: null callback"))?;
        let mut info = FerryObjectInfo::new(FerryStr::EMPTY, 0);
        store.list(prefix, &mut |object| {
            to_abi(&object, &mut info);
            // SAFETY: the host's callback and context are valid for the call.
            unsafe { callback(context, &info) == 0 }
        })
    })
}

unsafe extern "C" fn read_open(
    store: *mut c_void,
    key: FerryStr,
    offset: u64,
    length: u64,
    out_reader: *mut *mut c_void,
) -> i32 {
    guard(|| {
        // SAFETY: handles and strings are valid per the ABI contract.
        let (store, key) = unsafe { (store_ref(store)?, text(key, "the key")?) };
        let out_reader = non_null(out_reader, "out_reader")?;
        let length = (length != abi::FERRY_READ_TO_END).then_some(length);
        let reader: ReaderBox = store.read(key, offset, length)?;
        // SAFETY: `out_reader` is non-null and writable.
        unsafe { *out_reader = Box::into_raw(Box::new(reader)).cast() };
        Ok(())
    })
}

unsafe extern "C" fn read_chunk(
    reader: *mut c_void,
    buffer: *mut u8,
    capacity: usize,
    out_len: *mut usize,
) -> i32 {
    guard(|| {
        let reader = non_null(reader, "reader")?.cast::<ReaderBox>();
        let out_len = non_null(out_len, "out_len")?;
        let buffer = non_null(buffer, "buffer")?;
        // SAFETY: the host owns `capacity` writable bytes at `buffer` for the call, and uses
        // one reader from one thread at a time.
        let (reader, buf) = unsafe {
            (
                &mut *reader,
                std::slice::from_raw_parts_mut(buffer, capacity),
            )
        };
        let n = loop {
            match reader.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(PluginError::io("reading", &e)),
            }
        };
        // SAFETY: `out_len` is non-null and writable.
        unsafe { *out_len = n };
        Ok(())
    })
}

unsafe extern "C" fn read_close(reader: *mut c_void) {
    if reader.is_null() {
        return;
    }
    let _ = guard(|| {
        // SAFETY: the host closes each reader once.
        drop(unsafe { Box::from_raw(reader.cast::<ReaderBox>()) });
        Ok(())
    });
}

unsafe extern "C" fn write_open(
    store: *mut c_void,
    key: FerryStr,
    size: u64,
    out_writer: *mut *mut c_void,
) -> i32 {
    guard(|| {
        // SAFETY: handles and strings are valid per the ABI contract.
        let (store, key) = unsafe { (store_ref(store)?, text(key, "the key")?) };
        let out_writer = non_null(out_writer, "out_writer")?;
        let upload: UploadBox = store.write(key, size)?;
        // SAFETY: `out_writer` is non-null and writable.
        unsafe { *out_writer = Box::into_raw(Box::new(upload)).cast() };
        Ok(())
    })
}

unsafe extern "C" fn write_chunk(writer: *mut c_void, data: *const u8, len: usize) -> i32 {
    guard(|| {
        let writer = non_null(writer, "writer")?.cast::<UploadBox>();
        let data = if len == 0 {
            &[][..]
        } else {
            // SAFETY: the host owns `len` readable bytes at `data` for the call.
            unsafe { std::slice::from_raw_parts(non_null(data.cast_mut(), "data")?, len) }
        };
        // SAFETY: one writer is used by one thread at a time.
        unsafe { &mut *writer }.write(data)
    })
}

unsafe extern "C" fn write_finish(writer: *mut c_void, commit: u32) -> i32 {
    guard(|| {
        let writer = non_null(writer, "writer")?;
        // SAFETY: the host finishes each writer once; this frees it.
        let upload = *unsafe { Box::from_raw(writer.cast::<UploadBox>()) };
        if commit != 0 {
            upload.commit()
        } else {
            upload.abort();
            Ok(())
        }
    })
}

unsafe extern "C" fn delete(store: *mut c_void, key: FerryStr) -> i32 {
    guard(|| {
        // SAFETY: handles and strings are valid per the ABI contract.
        let (store, key) = unsafe { (store_ref(store)?, text(key, "the key")?) };
        store.delete(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn panics_become_status_and_message() {
        let status = guard(|| panic!("boom at the boundary"));
        assert_eq!(status, abi::FERRY_ERR_PANIC);
        // SAFETY: reading the thread's own last error right after the call.
        let message = unsafe { text(last_error(), "x").unwrap().to_string() };
        assert!(message.contains("boom at the boundary"), "{message}");
    }

    #[test]
    fn errors_keep_their_kind() {
        let status = guard(|| Err(PluginError::new(ErrorKind::StorageFull, "quota")));
        assert_eq!(status, abi::FERRY_ERR_STORAGE_FULL);
    }
}
