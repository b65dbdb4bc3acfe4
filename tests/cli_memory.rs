//! Memory stays bounded whatever the size of an object: a backup holding one 384 MiB binlog is
//! migrated and deep-verified by `ferry` processes whose peak resident memory stays far below
//! the object's size. The only test in this binary, so the children's peak is ferry's alone.

mod support;

use std::io::Write;

use serde_json::json;
use support::*;

const BIG: usize = 384 * 1024 * 1024;

fn write_big_backup(root: &std::path::Path) -> std::path::PathBuf {
    let dir = root.join("big");
    let key = "binlogs/insert_log/1/2/3/3/100/4";
    let path = dir.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let chunk = bytes_for(7, 1024 * 1024);
    for _ in 0..BIG / chunk.len() {
        f.write_all(&chunk).unwrap();
    }
    f.flush().unwrap();
    let segment = json!({"segment_id": 3, "collection_id": 1, "partition_id": 2, "num_of_rows": 10,
        "group_id": 3, "size": BIG,
        "binlogs": [{"fieldID": 100, "binlogs": [{"log_path": "files/insert_log/1/2/3/100/4", "log_size": BIG, "log_id": 4}]}]});
    let full = json!({"name": "big", "size": BIG, "collection_backups": [{"collection_id": 1, "collection_name": "c",
        "partition_backups": [{"partition_id": 2, "partition_name": "_default", "collection_id": 1, "segment_backups": [segment.clone()]}]}]});
    std::fs::create_dir_all(dir.join("meta")).unwrap();
    std::fs::write(
        dir.join("meta/backup_meta.json"),
        json!({"name": "big", "size": BIG}).to_string(),
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

fn children_peak_rss_bytes() -> u64 {
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(rc, 0);
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn a_large_object_is_streamed_with_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = write_big_backup(tmp.path());
    let dest = tmp.path().join("dest");
    let (code, doc) = ferry_json(&[
        "migrate",
        backup.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--concurrency",
        "8",
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    // Re-read and hash both sides (the binlog is not a real one, so no binlog parsing here).
    let (code, doc) = ferry_json(&[
        "verify",
        backup.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--deep",
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["backups"][0]["checksums_compared"], 6);
    assert_eq!(
        std::fs::metadata(dest.join("big/binlogs/insert_log/1/2/3/3/100/4"))
            .unwrap()
            .len(),
        BIG as u64
    );
    let peak = children_peak_rss_bytes();
    eprintln!("peak RSS of ferry: {} MiB", peak / (1024 * 1024));
    assert!(peak > 0);
    assert!(
        peak < 96 * 1024 * 1024,
        "ferry's peak RSS was {} MiB for a {} MiB object",
        peak / (1024 * 1024),
        BIG / (1024 * 1024)
    );
}
