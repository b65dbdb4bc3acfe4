//! Resume: kill a migration part-way (SIGKILL, no chance to clean up), run it again: it copies
//! only what is missing, leaves no partial file, and verifies clean.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::*;

#[test]
fn killed_migration_resumes_copying_only_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("src");
    // 600 segments × 6 fields = 3600 binlogs of 16 KiB; one at a time, each fsynced.
    let backup = generate_backup(&root, "big_backup", 600, 6, 16 * 1024);
    let total_objects = file_count(&backup);
    let dest = tmp.path().join("dest");
    let landed = dest.join("big_backup");

    let mut child = Command::new(ferry_bin())
        .args([
            "migrate",
            backup.to_str().unwrap(),
            dest.to_str().unwrap(),
            "--concurrency",
            "1",
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if file_count(&landed.join("binlogs")) >= 200 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "ferry finished before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "ferry made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the process was killed");

    let copied_before = file_count(&landed);
    assert!(
        copied_before >= 200 && copied_before < total_objects,
        "{copied_before} of {total_objects}"
    );
    assert!(
        !landed.join("meta/full_meta.json").exists()
            && !landed.join("meta/backup_meta.json").exists(),
        "meta is copied last, so an interrupted copy never looks complete"
    );
    // Every object under its final name is complete.
    let source_tree = tree(&backup);
    for (key, bytes) in tree(&landed) {
        assert_eq!(
            source_tree.get(&key),
            Some(&bytes),
            "{key} is partial or wrong"
        );
    }

    let (code, doc) = ferry_json(&["migrate", backup.to_str().unwrap(), dest.to_str().unwrap()]);
    assert_eq!(code, 0, "{doc}");
    let t = &doc["backups"][0]["transfer"];
    assert_eq!(t["skipped"], copied_before as u64);
    assert_eq!(t["copied"], (total_objects - copied_before) as u64);
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    assert_eq!(tree(&backup), tree(&landed));
    assert!(
        !dest.join(".ferry-partial").exists(),
        "stale staged files of the killed run are cleaned"
    );
}

#[test]
fn interrupted_with_sigint_stops_cleanly_and_says_how_to_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = generate_backup(&tmp.path().join("src"), "b2", 400, 6, 16 * 1024);
    let dest = tmp.path().join("dest");
    let child = Command::new(ferry_bin())
        .args([
            "migrate",
            backup.to_str().unwrap(),
            dest.to_str().unwrap(),
            "--concurrency",
            "1",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while file_count(&dest.join("b2/binlogs")) < 50 {
        assert!(Instant::now() < deadline, "ferry made no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("interrupted") && t.contains("run the same command again"),
        "{t}"
    );
    assert!(
        !dest.join(".ferry-partial").exists(),
        "in-flight writes discarded"
    );
    assert!(!dest.join("b2/meta/full_meta.json").exists());
}
