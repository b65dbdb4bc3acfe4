//! `faulty://` — a directory-backed store used by Ferry's tests to prove that the host
//! survives misbehaving vendor plugins. It is a stand-in for a buggy plugin (no real server
//! misbehaves on demand), driven by environment variables read at each call:
//!
//! - `FERRY_FAULTY_PANIC=<op>`: panic inside `stat`, `list`, `read` or `write` (also when the
//!   key or prefix contains `panic-in-<op>`, for tests that share one process);
//! - `FERRY_FAULTY_FAIL_WRITE=<text>`: writes of keys containing `<text>` fail with
//!   "storage full" after their first bytes, exercising the abort path.
//!
//! `faulty:///abs/dir/` stores objects as files under `/abs/dir/`.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ferry_plugin_sdk::abi;
use ferry_plugin_sdk::{
    export_plugin, ErrorKind, ObjectInfo, OpenConfig, Plugin, PluginError, PluginResult, Store,
    Upload,
};

struct Faulty;

fn maybe_panic(op: &str, key: &str) {
    if std::env::var("FERRY_FAULTY_PANIC").as_deref() == Ok(op)
        || key.contains(&format!("panic-in-{op}"))
    {
        panic!("faulty plugin: deliberate panic in {op}");
    }
}

impl Plugin for Faulty {
    const NAME: &'static str = "faulty";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str = "test plugin that panics or fails on demand";
    const SCHEMES: &'static [&'static str] = &["faulty"];
    const CAPABILITIES: u64 = abi::FERRY_CAP_LIST
        | abi::FERRY_CAP_READ
        | abi::FERRY_CAP_RANGE_READ
        | abi::FERRY_CAP_WRITE
        | abi::FERRY_CAP_DELETE
        | abi::FERRY_CAP_ATOMIC_WRITE;

    fn open(config: &OpenConfig) -> PluginResult<Box<dyn Store>> {
        if config.get("host").is_some() {
            return Err(PluginError::invalid_input(
                "faulty locations have no host: use faulty:///absolute/dir/",
            ));
        }
        Ok(Box::new(DirStore {
            root: PathBuf::from(format!("/{}", config.path())),
        }))
    }
}

struct DirStore {
    root: PathBuf,
}

const PARTIAL: &str = ".faulty-partial-";
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn walk(
    dir: &Path,
    key_prefix: &str,
    each: &mut dyn FnMut(ObjectInfo) -> bool,
) -> PluginResult<bool> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(PluginError::io(&format!("listing {}", dir.display()), &e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| PluginError::io("listing", &e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(PARTIAL) {
            continue;
        }
        let meta = entry.metadata().map_err(|e| PluginError::io("stat", &e))?;
        let key = format!("{key_prefix}{name}");
        if meta.is_dir() {
            if !walk(&entry.path(), &format!("{key}/"), each)? {
                return Ok(false);
            }
        } else if !each(ObjectInfo {
            key,
            size: meta.len(),
            ..Default::default()
        }) {
            return Ok(false);
        }
    }
    Ok(true)
}

impl Store for DirStore {
    fn stat(&self, key: &str) -> PluginResult<Option<ObjectInfo>> {
        maybe_panic("stat", key);
        match fs::metadata(self.root.join(key)) {
            Ok(m) if m.is_file() => Ok(Some(ObjectInfo {
                key: key.to_string(),
                size: m.len(),
                ..Default::default()
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(PluginError::io(key, &e)),
        }
    }

    fn list(&self, prefix: &str, each: &mut dyn FnMut(ObjectInfo) -> bool) -> PluginResult<()> {
        maybe_panic("list", prefix);
        walk(&self.root.join(prefix), prefix, each).map(|_| ())
    }

    fn read(
        &self,
        key: &str,
        offset: u64,
        length: Option<u64>,
    ) -> PluginResult<Box<dyn Read + Send>> {
        maybe_panic("read", key);
        let mut file = fs::File::open(self.root.join(key)).map_err(|e| PluginError::io(key, &e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| PluginError::io(key, &e))?;
        Ok(match length {
            Some(n) => Box::new(file.take(n)),
            None => Box::new(file),
        })
    }

    fn write(&self, key: &str, _size: u64) -> PluginResult<Box<dyn Upload>> {
        maybe_panic("write", key);
        let target = self.root.join(key);
        let parent = target.parent().unwrap_or(&self.root).to_path_buf();
        fs::create_dir_all(&parent).map_err(|e| PluginError::io(key, &e))?;
        let temp = parent.join(format!(
            "{PARTIAL}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let file = fs::File::create(&temp).map_err(|e| PluginError::io(key, &e))?;
        let fail = std::env::var("FERRY_FAULTY_FAIL_WRITE")
            .ok()
            .filter(|t| !t.is_empty() && key.contains(t.as_str()));
        Ok(Box::new(FileUpload {
            file,
            temp,
            target,
            fail,
            written: 0,
        }))
    }

    fn delete(&self, key: &str) -> PluginResult<()> {
        match fs::remove_file(self.root.join(key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(PluginError::io(key, &e)),
            _ => Ok(()),
        }
    }
}

struct FileUpload {
    file: fs::File,
    temp: PathBuf,
    target: PathBuf,
    fail: Option<String>,
    written: u64,
}

impl Upload for FileUpload {
    fn write(&mut self, data: &[u8]) -> PluginResult<()> {
        if self.fail.is_some() && self.written > 0 {
            return Err(PluginError::new(
                ErrorKind::StorageFull,
                "faulty plugin: deliberate quota exceeded",
            ));
        }
        self.file
            .write_all(data)
            .map_err(|e| PluginError::io("writing", &e))?;
        self.written += data.len() as u64;
        Ok(())
    }

    fn commit(self: Box<Self>) -> PluginResult<()> {
        if self.fail.is_some() {
            let _ = fs::remove_file(&self.temp);
            return Err(PluginError::new(
                ErrorKind::StorageFull,
                "faulty plugin: deliberate quota exceeded",
            ));
        }
        self.file
            .sync_all()
            .map_err(|e| PluginError::io("syncing", &e))?;
        fs::rename(&self.temp, &self.target).map_err(|e| PluginError::io("renaming", &e))
    }

    fn abort(self: Box<Self>) {
        let _ = fs::remove_file(&self.temp);
    }
}

export_plugin!(Faulty);
