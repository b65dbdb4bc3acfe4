//! Opening a vendor plugin library and checking, in order, that it is a Ferry plugin (entry
//! symbol, magic), that it speaks this ABI version, and that its table is complete, before
//! anything else of it is used.

use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};

use ferry_plugin_abi::{self as abi, FerryHeader, FerryPluginV1, FerryStr};
use libloading::Library;

use ferry_core::capabilities::Capabilities;
use ferry_core::error::{Error, Result};

/// A loaded plugin library and a copy of its (checked) table.
///
/// The library is never unloaded: a plugin's own threads (HTTP pools, runtimes) may outlive
/// its last handle, and unmapping their code under them would crash the process. Everything
/// that uses the table holds an `Arc` of this, so it lives at least as long as any handle.
pub struct PluginLibrary {
    path: PathBuf,
    _library: ManuallyDrop<Library>,
    table: FerryPluginV1,
    name: String,
    version: String,
    description: String,
    schemes: Vec<String>,
}

// SAFETY: the table is a read-only copy of plain data and `extern "C"` function pointers that
// the ABI contract declares callable from any thread.
unsafe impl Send for PluginLibrary {}
// SAFETY: as above.
unsafe impl Sync for PluginLibrary {}

impl std::fmt::Debug for PluginLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginLibrary")
            .field("path", &self.path)
            .field("name", &self.name)
            .finish()
    }
}

fn refuse(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::invalid_input(format!("{} {what}", path.display()))
}

/// Reads a string of the plugin's table.
///
/// # Safety
/// `s` must be valid while the library is loaded (the ABI contract for table strings).
unsafe fn table_text(path: &Path, s: FerryStr, field: &str) -> Result<String> {
    // SAFETY: forwarded from the caller.
    let bytes = unsafe { s.as_bytes() }.ok_or_else(|| {
        refuse(
            path,
            format_args!("is a broken Ferry plugin: {field} is a null pointer"),
        )
    })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| {
        refuse(
            path,
            format_args!("is a broken Ferry plugin: {field} is not UTF-8"),
        )
    })
}

fn valid_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

impl PluginLibrary {
    /// Loads the library at `path` and checks its header and table.
    pub fn open(path: &Path) -> Result<PluginLibrary> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(refuse(path, "is not a file").with_hint(
                    "give the path of the plugin's shared library (.so, .dylib or .dll)",
                ))
            }
            Err(e) => {
                return Err(Error::from_io(e, format!("the plugin {}", path.display()))
                    .with_hint("check the path given with --plugin or FERRY_PLUGIN_PATH"))
            }
        }
        // SAFETY: loading a library runs its initialisers; that is what loading a plugin means,
        // and the user asked for this file. Nothing else of it is used before the checks below.
        let library = unsafe { Library::new(path) }.map_err(|e| {
            refuse(
                path,
                format_args!("cannot be loaded as a shared library: {e}"),
            )
            .with_hint("a Ferry plugin is a shared library built for this platform")
        })?;
        // SAFETY: the symbol's type is fixed by the ABI; it is only called after being found.
        let entry =
            unsafe { library.get::<abi::FerryPluginEntryFn>(abi::FERRY_PLUGIN_ENTRY_SYMBOL) }
                .map_err(|_| {
                    refuse(
                path,
                "is not a Ferry plugin: it exports no `ferry_plugin_entry` symbol",
            )
            .with_hint(
                "build plugins with ferry-plugin-sdk's export_plugin! or include/ferry_plugin.h",
            )
                })?;
        // SAFETY: calling the entry point is the documented first step of the ABI.
        let header_ptr = unsafe { entry() };
        if header_ptr.is_null() {
            return Err(refuse(
                path,
                "is a broken Ferry plugin: ferry_plugin_entry returned null",
            ));
        }
        // SAFETY: a non-null entry result points to at least a header (the frozen part).
        let header: FerryHeader = unsafe { std::ptr::read_unaligned(header_ptr) };
        if header.magic != abi::FERRY_PLUGIN_MAGIC {
            return Err(refuse(
                path,
                "is not a Ferry plugin: its entry point has the wrong magic number",
            ));
        }
        if header.abi_version != abi::FERRY_PLUGIN_ABI_VERSION {
            return Err(refuse(
                path,
                format_args!(
                    "was built for Ferry plugin ABI version {}, but this ferry speaks version {}",
                    header.abi_version,
                    abi::FERRY_PLUGIN_ABI_VERSION
                ),
            )
            .with_hint(format!(
                "rebuild the plugin against ferry-plugin-sdk / ferry_plugin.h of ABI version {}, or use a ferry that speaks version {}",
                abi::FERRY_PLUGIN_ABI_VERSION,
                header.abi_version
            )));
        }
        let needed = size_of::<FerryPluginV1>();
        if (header.struct_size as usize) < needed {
            return Err(refuse(
                path,
                format_args!(
                    "is a broken Ferry plugin: its table has {} bytes, ABI version 1 needs {needed}",
                    header.struct_size
                ),
            ));
        }
        // SAFETY: the header says the table holds at least a whole `FerryPluginV1`.
        let table: FerryPluginV1 = unsafe { std::ptr::read_unaligned(header_ptr.cast()) };
        let missing: Vec<&str> = [
            ("last_error", table.last_error.is_none()),
            ("open", table.open.is_none()),
            ("close", table.close.is_none()),
            ("stat", table.stat.is_none()),
            ("list", table.list.is_none()),
            ("read_open", table.read_open.is_none()),
            ("read_chunk", table.read_chunk.is_none()),
            ("read_close", table.read_close.is_none()),
            ("write_open", table.write_open.is_none()),
            ("write_chunk", table.write_chunk.is_none()),
            ("write_finish", table.write_finish.is_none()),
            ("delete", table.delete.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
        if !missing.is_empty() {
            return Err(refuse(
                path,
                format_args!(
                    "is a broken Ferry plugin: its table lacks {}",
                    missing.join(", ")
                ),
            ));
        }
        // SAFETY: table strings are valid while the library is loaded.
        let (name, version, description) = unsafe {
            (
                table_text(path, table.name, "name")?,
                table_text(path, table.version, "version")?,
                table_text(path, table.description, "description")?,
            )
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        {
            return Err(refuse(
                path,
                format_args!("declares an invalid plugin name {name:?}"),
            ));
        }
        if table.scheme_count == 0 || table.scheme_count > 64 || table.schemes.is_null() {
            return Err(refuse(path, "declares no schemes (or more than 64)"));
        }
        let mut schemes = Vec::with_capacity(table.scheme_count);
        for i in 0..table.scheme_count {
            // SAFETY: the table declares `scheme_count` strings at `schemes`.
            let s = unsafe { table_text(path, *table.schemes.add(i), "a scheme")? };
            if !valid_scheme(&s) {
                return Err(refuse(
                    path,
                    format_args!(
                        "declares an invalid scheme {s:?} (lowercase letters, digits, `+-.`)"
                    ),
                ));
            }
            schemes.push(s);
        }
        Ok(PluginLibrary {
            path: path.to_path_buf(),
            _library: ManuallyDrop::new(library),
            table,
            name,
            version,
            description,
            schemes,
        })
    }

    /// The library's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin's version.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The plugin's description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The schemes it serves.
    pub fn schemes(&self) -> &[String] {
        &self.schemes
    }

    /// The checked table.
    pub(crate) fn table(&self) -> &FerryPluginV1 {
        &self.table
    }

    /// The capabilities its bits declare (unknown bits are ignored).
    pub fn capabilities(&self) -> Capabilities {
        let bits = self.table.capabilities;
        let has = |bit: u64| bits & bit != 0;
        Capabilities {
            list: has(abi::FERRY_CAP_LIST),
            read: has(abi::FERRY_CAP_READ),
            range_read: has(abi::FERRY_CAP_RANGE_READ),
            write: has(abi::FERRY_CAP_WRITE),
            delete: has(abi::FERRY_CAP_DELETE),
            atomic_write: has(abi::FERRY_CAP_ATOMIC_WRITE),
            server_side_copy: false,
            reports_crc32c: has(abi::FERRY_CAP_CRC32C),
            reports_md5: has(abi::FERRY_CAP_MD5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_are_checked() {
        assert!(valid_scheme("webdav"));
        assert!(valid_scheme("x-gw+s"));
        assert!(!valid_scheme("Web"));
        assert!(!valid_scheme("1x"));
        assert!(!valid_scheme(""));
    }

    #[test]
    fn missing_and_foreign_files_are_refused_by_name() {
        let err = PluginLibrary::open(Path::new("/nonexistent/libnothing.so")).unwrap_err();
        assert_eq!(err.kind(), ferry_core::ErrorKind::NotFound);
        assert!(
            err.to_string().contains("/nonexistent/libnothing.so"),
            "{err}"
        );
        let dir = std::env::temp_dir().join(format!("ferry-not-a-lib-{}", std::process::id()));
        std::fs::write(&dir, b"not an ELF file").unwrap();
        let err = PluginLibrary::open(&dir).unwrap_err();
        std::fs::remove_file(&dir).ok();
        assert!(err.to_string().contains("cannot be loaded"), "{err}");
    }
}
