//! Loading vendor plugins before the command line is parsed (their schemes and options shape
//! the flags): `--plugin PATH` is found by a pre-scan of the arguments, then every file from
//! `--plugin`, `FERRY_PLUGIN_PATH` and the per-user folder is loaded into the registry.

use std::ffi::OsString;
use std::path::PathBuf;

use ferry_core::{Registry, Result};
use ferry_plugin_host::{load_into, plugin_files, PluginFileOrigin};

/// The values of every `--plugin PATH` / `--plugin=PATH` before a `--`.
pub fn plugin_flags(args: &[OsString]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut iter = args.iter().skip(1);
    while let Some(arg) = iter.next() {
        let Some(text) = arg.to_str() else { continue };
        if text == "--" {
            break;
        }
        if text == "--plugin" {
            if let Some(value) = iter.next() {
                out.push(PathBuf::from(value));
            }
        } else if let Some(value) = text.strip_prefix("--plugin=") {
            out.push(PathBuf::from(value));
        }
    }
    out
}

/// Loads every plugin file into `registry`. A file named by `--plugin` or `FERRY_PLUGIN_PATH`
/// that cannot be loaded is an error; one found in the per-user folder is skipped with a
/// warning on stderr, so a stale file there does not stop every command.
pub fn load_plugins(registry: &mut Registry, flags: &[PathBuf]) -> Result<()> {
    for file in plugin_files(flags) {
        match load_into(registry, &file.path) {
            Ok(info) => {
                tracing::debug!(plugin = %info.name, path = %file.path.display(), "loaded plugin")
            }
            Err(e) if file.origin == PluginFileOrigin::UserDir => {
                eprintln!(
                    "ferry: warning: skipping the plugin {}: {e}",
                    file.path.display()
                );
            }
            Err(e) => {
                let how = match file.origin {
                    PluginFileOrigin::Flag => "--plugin",
                    _ => "FERRY_PLUGIN_PATH",
                };
                return Err(e.context(format!("the plugin named by {how}")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_both_spellings_before_double_dash() {
        let args: Vec<OsString> = [
            "ferry",
            "--plugin",
            "/a.so",
            "plugins",
            "--plugin=/b.so",
            "--",
            "--plugin",
            "/c.so",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        assert_eq!(
            plugin_flags(&args),
            vec![PathBuf::from("/a.so"), PathBuf::from("/b.so")]
        );
    }
}
