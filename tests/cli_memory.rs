//! Memory stays bounded whatever the size of an object: a backup holding one 384 MiB binlog is
//! migrated and deep-verified by `ferry` processes whose peak resident memory stays far below
//! the object's size. The only test in this binary, so the children's peak is ferry's alone.

mod support;

use support::*;

const BIG: usize = 384 * 1024 * 1024;

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
    let backup = large_object_backup(tmp.path(), "big", BIG);
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
