//! Building the example vendor plugins the way a vendor would: the Rust ones with cargo (as
//! `cdylib`s), the C one with the system C compiler against the committed header.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `target/<profile>` of this test binary (`…/target/debug/deps/<test>` → `…/target/debug`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds the Rust plugin crate `package` (library `lib_name`) and returns the library path.
pub fn rust_plugin(package: &str, lib_name: &str) -> PathBuf {
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    let _guard = LOCK
        .get_or_init(|| Mutex::new(()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dir = profile_dir();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root())
        .args(["build", "--quiet", "-p", package]);
    if dir.file_name().and_then(|n| n.to_str()) == Some("release") {
        cmd.arg("--release");
    }
    if let Some(target) = dir.parent() {
        cmd.env("CARGO_TARGET_DIR", target);
    }
    let status = cmd.status().expect("cargo runs");
    assert!(status.success(), "building the plugin {package} failed");
    let path = dir.join(format!("lib{lib_name}.so"));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// The WebDAV example plugin.
pub fn webdav_plugin() -> PathBuf {
    rust_plugin("ferry-plugin-webdav", "ferry_plugin_webdav")
}

/// The misbehaving test plugin.
pub fn faulty_plugin() -> PathBuf {
    rust_plugin("ferry-plugin-faulty", "ferry_plugin_faulty")
}

/// Compiles `plugins/vendor/examples/c-dir/cdir.c` into `out_dir` with extra `-D` definitions.
pub fn c_plugin(out_dir: &Path, file_name: &str, defines: &[&str]) -> PathBuf {
    let root = repo_root();
    let out = out_dir.join(file_name);
    let mut cmd = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    cmd.args([
        "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-std=c11",
    ])
    .arg("-I")
    .arg(root.join("plugins/vendor/abi/include"));
    for d in defines {
        cmd.arg(format!("-D{d}"));
    }
    cmd.arg("-o")
        .arg(&out)
        .arg(root.join("plugins/vendor/examples/c-dir/cdir.c"));
    let output = cmd
        .output()
        .expect("a C compiler (cc) is installed: see tests/servers/install.sh");
    assert!(
        output.status.success(),
        "compiling the C plugin failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// A shared library on this machine that is not a Ferry plugin (zlib).
pub fn foreign_library() -> PathBuf {
    for candidate in [
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/aarch64-linux-gnu/libz.so.1",
        "/usr/lib64/libz.so.1",
        "/usr/lib/libz.so.1",
    ] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    panic!("no libz.so.1 found: install zlib (Debian: zlib1g)");
}
