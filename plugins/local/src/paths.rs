//! Turning keys into paths under the root, and refusing paths that leave it.

use std::path::{Path, PathBuf};

use ferry_core::{Error, ObjectKey, Result};

/// Folder under the root where writes are staged before their atomic rename. It sits outside
/// any backup folder, so an interrupted write never leaves a stray file inside a backup.
pub const STAGING_DIR: &str = ".ferry-partial";

/// The path of `key` under `root` (the key is already validated: no `..`, no absolute path).
pub fn key_path(root: &Path, key: &ObjectKey) -> PathBuf {
    let mut path = root.to_path_buf();
    for segment in key.segments() {
        path.push(segment);
    }
    path
}

/// Refuses `path` when, with symlinks resolved, it is not inside `canonical_root`.
/// `path` must exist.
pub fn ensure_inside(canonical_root: &Path, path: &Path, key: &str) -> Result<()> {
    let resolved = std::fs::canonicalize(path)
        .map_err(|e| Error::from_io(e, format!("resolving {}", path.display())).with_key(key))?;
    if resolved.starts_with(canonical_root) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "refusing {}: a symbolic link leads outside the root {}",
            path.display(),
            canonical_root.display()
        ))
        .with_key(key)
        .with_hint("replace the link with the file it points to, or point Ferry at a folder that contains the target"))
    }
}

/// The key of `path`, relative to `root`, with `/` separators.
pub fn relative_key(root: &Path, path: &Path) -> Result<ObjectKey> {
    let relative = path.strip_prefix(root).map_err(|_| {
        Error::internal(format!(
            "{} is not under {}",
            path.display(),
            root.display()
        ))
    })?;
    let mut parts = Vec::new();
    for component in relative.components() {
        let text = component.as_os_str().to_str().ok_or_else(|| {
            Error::invalid_input(format!(
                "file name {:?} is not valid UTF-8",
                component.as_os_str()
            ))
            .with_hint("object keys must be UTF-8; rename the file")
        })?;
        parts.push(text);
    }
    ObjectKey::new(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_and_back() {
        let root = Path::new("/data/root");
        let key = ObjectKey::new("b/meta/full_meta.json").unwrap();
        let path = key_path(root, &key);
        assert_eq!(path, Path::new("/data/root/b/meta/full_meta.json"));
        assert_eq!(relative_key(root, &path).unwrap(), key);
    }

    #[test]
    fn symlink_outside_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), root.path().join("link"))
            .unwrap();
        let canonical = std::fs::canonicalize(root.path()).unwrap();
        let err = ensure_inside(&canonical, &root.path().join("link"), "link").unwrap_err();
        assert_eq!(err.kind(), ferry_core::ErrorKind::InvalidInput);
        std::fs::write(root.path().join("inside"), b"x").unwrap();
        std::os::unix::fs::symlink(root.path().join("inside"), root.path().join("ok")).unwrap();
        assert!(ensure_inside(&canonical, &root.path().join("ok"), "ok").is_ok());
    }
}
