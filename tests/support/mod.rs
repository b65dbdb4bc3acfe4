//! Shared helpers for the workspace-level integration tests: run the real `ferry` binary, find the
//! sample backup, generate milvus-backup-shaped folders, compare trees.

#![allow(dead_code)]

pub mod faults;
pub mod milvus;
pub mod plugins;
pub mod proxy;
pub mod servers;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

/// The `ferry` binary built for these tests.
pub fn ferry_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ferry"))
}

/// Runs `ferry` with `args`.
pub fn ferry(args: &[&str]) -> Output {
    ferry_env(args, &[])
}

/// Runs `ferry` with `args` and only the given cloud environment: every `AWS_*` and `FERRY_*`
/// variable of the test process is removed, the user's ~/.aws files are hidden, and instance
/// metadata lookups are switched off (no test sends traffic off 127.0.0.1).
pub fn ferry_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    ferry_command(Command::new(ferry_bin()), args, env)
        .output()
        .expect("ferry runs")
}

/// `command` (the `ferry` binary, or a wrapper that runs it, such as `nsenter … ferry`) set up
/// the way [`ferry_env`] describes, with `args` appended.
pub fn ferry_command(mut cmd: Command, args: &[&str], env: &[(&str, &str)]) -> Command {
    cmd.args(args).env_remove("RUST_LOG");
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") || k.starts_with("FERRY_") {
            cmd.env_remove(k);
        }
    }
    // A safety net: any request that would leave loopback goes to a closed local port instead.
    for var in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ] {
        cmd.env(var, "http://127.0.0.1:9");
    }
    cmd.env("NO_PROXY", "127.0.0.1,localhost,.localhost,::1")
        .env("no_proxy", "127.0.0.1,localhost,.localhost,::1");
    // Jobs go to a state directory of this test process, never the user's.
    cmd.env(
        "FERRY_STATE_DIR",
        std::env::temp_dir().join(format!("ferry-test-state-{}", std::process::id())),
    );
    // Vendor plugins come only from what a test names, never the user's plugin folder.
    cmd.env(
        "XDG_DATA_HOME",
        std::env::temp_dir().join(format!("ferry-test-data-{}", std::process::id())),
    );
    cmd.env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/ferry-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/ferry-test/credentials",
        );
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Runs `ferry … --json` and parses stdout.
pub fn ferry_json(args: &[&str]) -> (i32, Value) {
    ferry_json_env(args, &[])
}

/// Runs `ferry … --json` with the given environment (see [`ferry_env`]) and parses stdout.
pub fn ferry_json_env(args: &[&str], env: &[(&str, &str)]) -> (i32, Value) {
    let mut all: Vec<&str> = args.to_vec();
    all.push("--json");
    let out = ferry_env(&all, env);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    (out.status.code().unwrap_or(-1), last_json(&text, &out))
}

/// The JSON document of a `--json` run: the whole stdout, or for newline-delimited events
/// (`migrate`, `jobs resume`) the last line, which is the final report.
pub fn last_json(text: &str, out: &Output) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "stdout holds no JSON document ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// stdout + stderr as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The real sample backup shipped in `examples/`.
pub fn sample_backup() -> PathBuf {
    repo_root().join("examples/backups/real_backup_1")
}

/// Copies a directory tree (files only), making the copy writable.
pub fn copy_tree(from: &Path, to: &Path) {
    for (rel, _) in tree(from) {
        let dst = to.join(&rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), &dst).unwrap();
        let mut perms = std::fs::metadata(&dst).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&dst, perms).unwrap();
    }
}

/// A writable copy of the sample under `dir/real_backup_1`.
pub fn sample_copy(dir: &Path) -> PathBuf {
    let dst = dir.join("real_backup_1");
    copy_tree(&sample_backup(), &dst);
    dst
}

/// Every regular file under `root`, by relative path, with its bytes' SHA-free fingerprint
/// (length and contents).
pub fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let e = e.unwrap();
            let path = e.path();
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

/// Number of regular files under `root`.
pub fn file_count(root: &Path) -> usize {
    let mut n = 0;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => n += 1,
                _ => {}
            }
        }
    }
    n
}

/// Deterministic pseudo-random bytes.
pub fn bytes_for(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes a milvus-backup-shaped backup (v0.5.4+ key layout, HEAD-style meta) named `name`
/// under `root`: one collection with `segments` segments of `fields` fields, one binlog of
/// `file_size` bytes per field, 100 rows per segment. Binlog bytes are random (not real
/// binlogs: only for tests that do not use `--deep`). Returns the backup folder.
pub fn generate_backup(
    root: &Path,
    name: &str,
    segments: usize,
    fields: usize,
    file_size: usize,
) -> PathBuf {
    let dir = root.join(name);
    let collection_id: i64 = 450_000_000_000_000_001;
    let partition_id: i64 = 450_000_000_000_000_002;
    let mut segs = Vec::new();
    let mut total: i64 = 0;
    let mut log_id: i64 = 450_000_000_000_100_000;
    for s in 0..segments {
        let segment_id = 450_000_000_000_010_000 + s as i64;
        let mut binlogs = Vec::new();
        let mut seg_size: i64 = 0;
        for f in 0..fields {
            let field_id = if f < 2 { f as i64 } else { 98 + f as i64 };
            log_id += 1;
            let key = format!(
                "binlogs/insert_log/{collection_id}/{partition_id}/{segment_id}/{segment_id}/{field_id}/{log_id}"
            );
            let path = dir.join(&key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes_for(log_id as u64, file_size)).unwrap();
            seg_size += file_size as i64;
            binlogs.push(json!({"fieldID": field_id, "binlogs": [{
                "log_path": format!("files/insert_log/{collection_id}/{partition_id}/{segment_id}/{field_id}/{log_id}"),
                "log_size": file_size, "log_id": log_id}]}));
        }
        total += seg_size;
        segs.push(
            json!({"segment_id": segment_id, "collection_id": collection_id,
            "partition_id": partition_id, "num_of_rows": 100, "binlogs": binlogs,
            "deltalogs": [{}], "size": seg_size, "group_id": segment_id}),
        );
    }
    let partition = json!({"partition_id": partition_id, "partition_name": "_default",
        "collection_id": collection_id, "size": total});
    let mut full_partition = partition.clone();
    full_partition["segment_backups"] = Value::Array(segs.clone());
    let collection = json!({"collection_id": collection_id, "db_name": "default",
        "collection_name": "generated", "size": total, "has_index": false,
        "partition_backups": [partition.clone()]});
    let mut full_collection = collection.clone();
    full_collection["partition_backups"] = json!([full_partition]);
    let meta = dir.join("meta");
    std::fs::create_dir_all(&meta).unwrap();
    let backup = json!({"id": "gen", "state_code": 0, "name": name, "size": total, "milvus_version": "v2.4.0"});
    let mut full = backup.clone();
    full["collection_backups"] = json!([full_collection]);
    std::fs::write(meta.join("backup_meta.json"), backup.to_string()).unwrap();
    std::fs::write(
        meta.join("collection_meta.json"),
        json!({"infos": [collection]}).to_string(),
    )
    .unwrap();
    std::fs::write(
        meta.join("partition_meta.json"),
        json!({"infos": [partition]}).to_string(),
    )
    .unwrap();
    std::fs::write(
        meta.join("segment_meta.json"),
        json!({"infos": segs}).to_string(),
    )
    .unwrap();
    std::fs::write(meta.join("full_meta.json"), full.to_string()).unwrap();
    dir
}

/// Writes a backup named `name` holding one binlog of `size` bytes under short keys (ids 1, 2,
/// 3, 4: some S3 test servers limit key lengths for multipart uploads), streamed to disk.
pub fn large_object_backup(root: &Path, name: &str, size: usize) -> PathBuf {
    use std::io::Write;
    let dir = root.join(name);
    let key = "binlogs/insert_log/1/2/3/3/100/4";
    let path = dir.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let chunk = bytes_for(7, 1024 * 1024);
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    f.flush().unwrap();
    let segment = json!({"segment_id": 3, "collection_id": 1, "partition_id": 2, "num_of_rows": 10,
        "group_id": 3, "size": size,
        "binlogs": [{"fieldID": 100, "binlogs": [{"log_path": "files/insert_log/1/2/3/100/4", "log_size": size, "log_id": 4}]}]});
    let full = json!({"name": name, "size": size, "collection_backups": [{"collection_id": 1, "collection_name": "c",
        "partition_backups": [{"partition_id": 2, "partition_name": "_default", "collection_id": 1, "segment_backups": [segment.clone()]}]}]});
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    std::fs::write(
        dir.join("meta/backup_meta.json"),
        json!({"name": name, "size": size}).to_string(),
    )
    .unwrap();
    std::fs::write(dir.join("meta/full_meta.json"), full.to_string()).unwrap();
    for f in ["collection_meta.json", "partition_meta.json"] {
        std::fs::write(dir.join("meta").join(f), r#"{"infos":[]}"#).unwrap();
    }
    std::fs::write(
        dir.join("meta/segment_meta.json"),
        json!({"infos": [segment]}).to_string(),
    )
    .unwrap();
    dir
}
