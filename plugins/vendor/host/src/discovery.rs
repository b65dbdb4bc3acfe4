//! Where plugin libraries come from, in order: `--plugin PATH` (repeatable), the
//! `FERRY_PLUGIN_PATH` list (files or folders, separated like `PATH`), and the per-user folder
//! `$XDG_DATA_HOME/ferry/plugins` (else `~/.local/share/ferry/plugins`).

use std::path::{Path, PathBuf};

/// Why a file is being loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginFileOrigin {
    /// Named with `--plugin`.
    Flag,
    /// Listed in `FERRY_PLUGIN_PATH`.
    EnvPath,
    /// Found in the per-user plugin folder.
    UserDir,
}

/// One library to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginFile {
    /// Its path.
    pub path: PathBuf,
    /// Where it was named.
    pub origin: PluginFileOrigin,
}

/// The per-user plugin folder.
pub fn user_plugin_dir() -> Option<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(data.join("ferry").join("plugins"))
}

fn is_library(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    name.ends_with(".so")
        || name.contains(".so.")
        || name.ends_with(".dylib")
        || name.ends_with(".dll")
}

/// The libraries in `dir`, sorted by name.
fn libraries_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && is_library(p))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn expand(path: PathBuf, origin: PluginFileOrigin, out: &mut Vec<PluginFile>) {
    if path.is_dir() {
        for p in libraries_in(&path) {
            out.push(PluginFile { path: p, origin });
        }
    } else {
        out.push(PluginFile { path, origin });
    }
}

/// Every plugin file to load: `flags` first, then `FERRY_PLUGIN_PATH`, then the user folder;
/// a file named twice is loaded once.
pub fn plugin_files(flags: &[PathBuf]) -> Vec<PluginFile> {
    let mut out = Vec::new();
    for f in flags {
        expand(f.clone(), PluginFileOrigin::Flag, &mut out);
    }
    if let Some(list) = std::env::var_os("FERRY_PLUGIN_PATH") {
        for p in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
            expand(p, PluginFileOrigin::EnvPath, &mut out);
        }
    }
    if let Some(dir) = user_plugin_dir() {
        for p in libraries_in(&dir) {
            out.push(PluginFile {
                path: p,
                origin: PluginFileOrigin::UserDir,
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(std::fs::canonicalize(&f.path).unwrap_or_else(|_| f.path.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_names() {
        assert!(is_library(Path::new("/x/libferry_webdav.so")));
        assert!(is_library(Path::new("/x/libz.so.1")));
        assert!(is_library(Path::new("/x/p.dylib")));
        assert!(!is_library(Path::new("/x/README.md")));
    }

    #[test]
    fn folders_expand_to_their_libraries_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("liba.so"), b"").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        let files = plugin_files(&[dir.path().to_path_buf(), dir.path().join("liba.so")]);
        let ours: Vec<_> = files
            .iter()
            .filter(|f| f.path.starts_with(dir.path()))
            .collect();
        assert_eq!(ours.len(), 1, "{files:?}");
        assert_eq!(ours[0].origin, PluginFileOrigin::Flag);
    }
}
