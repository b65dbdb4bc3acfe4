//! Every historical milvus-backup layout in the format notes, composed as small backups on local
//! disk, examined through the real local plugin: the right binlogs are found under each key
//! layout, and the inventory counts what the meta says.

use std::path::Path;

use ferry_core::backup::{examine, BackupRef, ProblemCode, Severity, TreeSource};
use ferry_core::memory::MemoryStore;
use ferry_core::Source;

fn write(dir: &Path, key: &str, bytes: &[u8]) {
    let path = dir.join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The folder `dir` as a store (read into memory, so the core's tests need no storage plugin;
/// open it again after changing the folder).
async fn open(dir: &Path) -> MemoryStore {
    MemoryStore::from_dir(dir).unwrap()
}

fn whole() -> BackupRef {
    BackupRef {
        name: "b".to_string(),
        prefix: String::new(),
    }
}

/// pre-0.3.1: level files only, group id 0 (no group directory), no log_id, empty db name.
#[tokio::test]
async fn level_files_only_old_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("b");
    write(&d, "binlogs/insert_log/10/20/30/0/40", &[0; 7]);
    write(&d, "binlogs/insert_log/10/20/30/100/41", &[0; 9]);
    write(&d, "binlogs/delta_log/10/20/30/42", &[0; 3]);
    write(&d, "meta/backup_meta.json", br#"{"id":"x","state_code":2,"name":"b","start_time":1690000000000,"size":19,"milvus_version":"v2.2.9","backup_timestamp":1690000000000}"#);
    write(&d, "meta/collection_meta.json", br#"{"infos":[{"collection_id":10,"collection_name":"old","has_index":false,"size":19,"load_state":"NotExist"}]}"#);
    write(&d, "meta/partition_meta.json", br#"{"infos":[{"partition_id":20,"partition_name":"_default","collection_id":10,"size":19}]}"#);
    write(&d, "meta/segment_meta.json", br#"{"infos":[{"segment_id":30,"collection_id":10,"partition_id":20,"num_of_rows":12,"size":19,"backuped":true,
        "binlogs":[{"fieldID":0,"binlogs":[{"log_path":"files/insert_log/10/20/30/0/40","log_size":7}]},{"fieldID":100,"binlogs":[{"log_path":"files/insert_log/10/20/30/100/41","log_size":9}]}],
        "deltalogs":[{"fieldID":0,"binlogs":[{"log_path":"files/delta_log/10/20/30/42","log_size":3}]}]}]}"#);
    let store = open(&d).await;
    let e = examine(&store, &whole(), false).await.unwrap();
    assert_eq!(e.backup.tree_source, TreeSource::LevelFiles);
    assert!(!e.has_errors(), "{:?}", e.backup.problems);
    assert!(e
        .backup
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::NoFullMeta));
    let c = &e.inventory.collections[0];
    assert_eq!(c.db, "default");
    assert_eq!(
        (c.entities, c.segments, c.insert_files, c.delta_files),
        (12, 1, 2, 1)
    );
    assert_eq!(c.bytes, 19);
}

/// v0.1–v0.4.3 with a small group counter as the group directory.
#[tokio::test]
async fn small_group_counter_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("b");
    write(&d, "binlogs/insert_log/10/20/1/30/0/40", &[0; 5]);
    write(&d, "binlogs/delta_log/10/20/1/30/42", &[0; 2]);
    write(&d, "meta/backup_meta.json", br#"{"name":"b","size":7}"#);
    write(&d, "meta/collection_meta.json", br#"{"infos":[]}"#);
    write(&d, "meta/partition_meta.json", br#"{"infos":[]}"#);
    write(&d, "meta/segment_meta.json", br#"{"infos":[]}"#);
    write(&d, "meta/full_meta.json", br#"{"name":"b","size":7,"collection_backups":[{"collection_id":10,"db_name":"default","collection_name":"c",
        "partition_backups":[{"partition_id":20,"collection_id":10,"segment_backups":[{"segment_id":30,"collection_id":10,"partition_id":20,"num_of_rows":4,"group_id":1,"size":7,
        "binlogs":[{"binlogs":[{"log_path":"files/insert_log/10/20/30/0/40","log_size":5}]}],
        "deltalogs":[{"binlogs":[{"log_path":"files/delta_log/10/20/30/42","log_size":2}]}]}]}]}]}"#);
    let store = open(&d).await;
    let e = examine(&store, &whole(), false).await.unwrap();
    assert_eq!(e.backup.tree_source, TreeSource::FullMeta);
    assert!(!e.has_errors(), "{:?}", e.backup.problems);
    assert!(e.backup.problems.is_empty(), "{:?}", e.backup.problems);
    assert_eq!(e.inventory.total_entities, 4);
}

/// v0.4.4–v0.5.3: insert logs under group = segment, partition-level L0 delta logs without the
/// group directory; v0.5.4+: collection-level L0 under partition -1; ids beyond 2^53; quirks.
#[tokio::test]
async fn group_equals_segment_and_l0_segments() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("b");
    let (c, p, s, l0, cl0) = (
        9_007_199_254_740_993i64,
        9_007_199_254_740_995i64,
        9_007_199_254_740_997i64,
        9_007_199_254_740_999i64,
        9_007_199_254_741_001i64,
    );
    write(
        &d,
        &format!("binlogs/insert_log/{c}/{p}/{s}/{s}/0/1001"),
        &[0; 10],
    );
    write(
        &d,
        &format!("binlogs/insert_log/{c}/{p}/{s}/{s}/100/1002"),
        &[0; 11],
    );
    write(
        &d,
        &format!("binlogs/delta_log/{c}/{p}/{s}/{s}/1003"),
        &[0; 4],
    );
    write(&d, &format!("binlogs/delta_log/{c}/{p}/{l0}/1004"), &[0; 5]);
    write(&d, &format!("binlogs/delta_log/{c}/-1/{cl0}/1005"), &[0; 6]);
    write(
        &d,
        "meta/backup_meta.json",
        br#"{"id":"x","name":"b","size":36,"milvus_version":"v2.5.4","future":{"x":[1]}}"#,
    );
    write(&d, "meta/collection_meta.json", br#"{"infos":[]}"#);
    write(&d, "meta/partition_meta.json", br#"{"infos":[]}"#);
    write(&d, "meta/segment_meta.json", br#"{"infos":[]}"#);
    let full = format!(
        r#"{{"name":"b","size":36,"rbac_meta":null,"collection_backups":[{{"collection_id":{c},"db_name":"","collection_name":"quirky","schema":{{"fields":[{{"fieldID":100,"data_type":5}}]}},
        "l0_segments":[{{"segment_id":{cl0},"collection_id":{c},"partition_id":-1,"num_of_rows":3,"is_l0":true,"size":6,"deltalogs":[{{"binlogs":[{{"log_path":"files/delta_log/{c}/-1/{cl0}/1005","log_size":6,"log_id":1005}}]}}]}}],
        "partition_backups":[{{"partition_id":{p},"partition_name":"_default","collection_id":{c},"segment_backups":[
          {{"segment_id":{s},"collection_id":{c},"partition_id":{p},"num_of_rows":250,"group_id":{s},"size":25,"storage_version":1,"v_channel":"ch",
            "binlogs":[{{"binlogs":[{{"log_path":"files/insert_log/{c}/{p}/{s}/0/1001","log_size":10}}]}},{{"fieldID":100,"binlogs":[{{"log_path":"files/insert_log/{c}/{p}/{s}/100/1002","log_size":11,"log_id":1002}}]}}],
            "deltalogs":[{{"fieldID":7777,"binlogs":[{{"log_path":"files/delta_log/{c}/{p}/{s}/1003","log_size":4}}]}}]}},
          {{"segment_id":{l0},"collection_id":{c},"partition_id":{p},"num_of_rows":2,"is_l0":true,"size":5,"binlogs":null,
            "deltalogs":[{{"binlogs":[{{"log_path":"files/delta_log/{c}/{p}/{l0}/1004","log_size":5}}]}}]}}]}}]}}]}}"#
    );
    write(&d, "meta/full_meta.json", full.as_bytes());
    let store = open(&d).await;
    let e = examine(&store, &whole(), false).await.unwrap();
    assert!(e.backup.problems.is_empty(), "{:?}", e.backup.problems);
    let col = &e.inventory.collections[0];
    assert_eq!(col.id, c, "ids beyond 2^53 stay exact");
    assert_eq!(col.db, "default");
    assert_eq!(col.entities, 250, "L0 rows are deletes, not entities");
    assert_eq!((col.segments, col.l0_segments), (1, 2));
    assert_eq!((col.insert_files, col.delta_files), (2, 3));
}

/// Missing, resized and orphaned objects, misaligned fields, a segment without insert logs and a
/// MinIO data directory are each reported with the right code and severity.
#[tokio::test]
async fn damage_is_reported_with_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("b");
    write(&d, "binlogs/insert_log/10/20/30/30/0/40", &[0; 5]);
    write(&d, "binlogs/insert_log/10/20/30/30/0/41", &[0; 5]);
    write(&d, "binlogs/insert_log/10/20/30/30/100/42", &[0; 6]);
    write(&d, "binlogs/insert_log/10/20/30/30/100/99", &[0; 1]);
    write(
        &d,
        "meta/backup_meta.json",
        br#"{"name":"other","size":16}"#,
    );
    write(&d, "meta/full_meta.json/xl.meta", b"minio");
    write(&d, "meta/backup_meta.json.bak", b"x");
    write(&d, "notes.txt", b"x");
    let store = open(&d).await;
    // full_meta.json is a folder here (a MinIO data dir): no full_meta object, no level files.
    let e = examine(&store, &whole(), false).await.unwrap();
    let codes: Vec<(ProblemCode, Severity)> = e
        .backup
        .problems
        .iter()
        .map(|p| (p.code, p.severity))
        .collect();
    assert!(
        codes.contains(&(ProblemCode::MinioDataDirectory, Severity::Error)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(ProblemCode::MetaMissing, Severity::Error)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(ProblemCode::NameMismatch, Severity::Warning)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&(ProblemCode::StrayObject, Severity::Warning)),
        "{codes:?}"
    );

    std::fs::remove_dir_all(d.join("meta/full_meta.json")).unwrap();
    write(&d, "meta/collection_meta.json", br#"{"infos":[]}"#);
    write(&d, "meta/partition_meta.json", br#"{"infos":[]}"#);
    write(&d, "meta/segment_meta.json", br#"{"infos":[]}"#);
    write(&d, "meta/full_meta.json", br#"{"collection_backups":[{"collection_id":10,"collection_name":"c","partition_backups":[{"partition_id":20,"segment_backups":[
        {"segment_id":30,"collection_id":10,"partition_id":20,"num_of_rows":8,"group_id":30,
         "binlogs":[{"binlogs":[{"log_path":"a/0/40","log_size":5},{"log_path":"a/0/41","log_size":5}]},{"fieldID":100,"binlogs":[{"log_path":"a/100/42","log_size":7},{"log_path":"a/100/43","log_size":1}]},{"fieldID":101,"binlogs":[{"log_path":"a/101/44","log_size":1}]}]},
        {"segment_id":31,"collection_id":10,"partition_id":20,"num_of_rows":8}]}]}]}"#);
    let store = open(&d).await;
    let e = examine(&store, &whole(), false).await.unwrap();
    let has = |code: ProblemCode, key: Option<&str>| {
        e.backup
            .problems
            .iter()
            .any(|p| p.code == code && (key.is_none() || p.key.as_deref() == key))
    };
    assert!(
        has(
            ProblemCode::SizeMismatch,
            Some("binlogs/insert_log/10/20/30/30/100/42")
        ),
        "{:?}",
        e.backup.problems
    );
    assert!(has(
        ProblemCode::BinlogMissing,
        Some("binlogs/insert_log/10/20/30/30/100/43")
    ));
    assert!(has(ProblemCode::MisalignedBinlogCount, None));
    assert!(has(ProblemCode::SegmentWithoutInsertLogs, None));
    assert!(has(
        ProblemCode::UnreferencedObject,
        Some("binlogs/insert_log/10/20/30/30/100/99")
    ));
    assert!(e.has_errors());
}

/// A location that is a root of several backups, with a half-written one and strays.
#[tokio::test]
async fn discovery_of_a_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(&root.join("a"), "meta/backup_meta.json", br#"{"name":"a"}"#);
    write(&root.join("b"), "meta/backup_meta.json", br#"{"name":"b"}"#);
    write(&root.join("half"), "binlogs/insert_log/1/2/3/3/0/4", b"x");
    write(root, "milvus_backup_check_123", b"x");
    write(&root.join("photos"), "cat.jpg", b"x");
    let store = open(root).await;
    let found = ferry_core::backup::discover(&store).await.unwrap();
    let names: Vec<&str> = found.backups.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert_eq!(found.backups[0].prefix, "a/");
    assert_eq!(found.incomplete, vec!["half".to_string()]);
    assert!(found.stray.contains(&"milvus_backup_check_123".to_string()));
    assert!(found.stray.contains(&"photos/".to_string()));
    // The backup folder itself: one backup, named after the folder.
    let store = open(&root.join("a")).await;
    let found = ferry_core::backup::discover(&store).await.unwrap();
    assert_eq!(
        found.backups,
        vec![BackupRef {
            name: "a".into(),
            prefix: String::new()
        }]
    );
    assert_eq!(
        store.location().to_string(),
        root.join("a").to_str().unwrap()
    );
}
