//! Every bad input: a clear error naming the input, a non-zero exit, and nothing half-written at
//! the destination.

mod support;

use std::path::Path;

use support::*;

/// Runs a migration expected to fail; returns (exit code, output text).
fn failing_migrate(source: &Path, dest: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["migrate", source.to_str().unwrap(), dest.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = ferry(&args);
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 0, "expected failure:\n{}", text(&out));
    (code, text(&out))
}

fn assert_nothing_written(dest: &Path) {
    assert_eq!(
        file_count(dest),
        0,
        "files were written under {}",
        dest.display()
    );
}

#[test]
fn not_a_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("random");
    std::fs::create_dir_all(src.join("photos")).unwrap();
    std::fs::write(src.join("photos/cat.jpg"), b"meow").unwrap();
    let dest = tmp.path().join("dest");
    let (code, t) = failing_migrate(&src, &dest, &[]);
    assert_eq!(code, 6);
    assert!(
        t.contains("no Milvus backup found") && t.contains(src.to_str().unwrap()),
        "{t}"
    );
    assert!(!dest.exists());
}

#[test]
fn missing_source_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("nope");
    let (code, t) = failing_migrate(&src, &tmp.path().join("d"), &[]);
    assert_eq!(code, 4);
    assert!(
        t.contains(src.to_str().unwrap()) && t.contains("does not exist"),
        "{t}"
    );
}

#[test]
fn meta_folder_missing_is_an_incomplete_backup() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    let b = sample_copy(&root);
    std::fs::remove_dir_all(b.join("meta")).unwrap();
    let dest = tmp.path().join("dest");
    let (code, t) = failing_migrate(&root, &dest, &[]);
    assert_eq!(code, 6);
    assert!(
        t.contains("incomplete") && t.contains("real_backup_1"),
        "{t}"
    );
    // Pointing at the folder itself says the same.
    let (code, t) = failing_migrate(&b, &dest, &[]);
    assert_eq!(code, 6);
    assert!(t.contains("backup_meta.json"), "{t}");
    assert!(!dest.exists());
}

#[test]
fn malformed_full_meta() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_copy(tmp.path());
    std::fs::write(
        b.join("meta/full_meta.json"),
        b"{\"collection_backups\": [ {\"collection_id\": 12,",
    )
    .unwrap();
    let dest = tmp.path().join("dest");
    let (code, t) = failing_migrate(&b, &dest, &[]);
    assert_eq!(code, 6);
    assert!(
        t.contains("meta/full_meta.json") && t.contains("not valid"),
        "{t}"
    );
    assert!(!dest.exists());
    let out = ferry(&["inspect", b.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(6));
    assert!(text(&out).contains("MetaUnparseable"), "{}", text(&out));
}

#[test]
fn referenced_binlog_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_copy(tmp.path());
    let key = "binlogs/delta_log/470745661787078674/470745661787078675/470745661787278682/470745661787278682/470745661787278708";
    std::fs::remove_file(b.join(key)).unwrap();
    let dest = tmp.path().join("dest");
    let (code, t) = failing_migrate(&b, &dest, &[]);
    assert_eq!(code, 6);
    assert!(t.contains("missing") && t.contains(key), "{t}");
    assert!(!dest.exists());
}

#[test]
fn size_mismatch() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_copy(tmp.path());
    let key = "binlogs/insert_log/470745661787478770/470745661787478782/470745661787478790/470745661787478790/100/470745661787278716";
    let mut bytes = std::fs::read(b.join(key)).unwrap();
    bytes.extend_from_slice(b"junk");
    std::fs::write(b.join(key), bytes).unwrap();
    let dest = tmp.path().join("dest");
    let (code, t) = failing_migrate(&b, &dest, &[]);
    assert_eq!(code, 6);
    assert!(t.contains("size mismatch") && t.contains(key), "{t}");
    assert!(!dest.exists());
}

#[test]
fn truncated_binlog_is_caught_by_deep() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_copy(tmp.path());
    // Truncate a binlog and make the meta agree with the new size: only --deep can tell.
    let key = "binlogs/insert_log/470745661787078674/470745661787078675/470745661787278682/470745661787278682/101/470745661787278687";
    let bytes = std::fs::read(b.join(key)).unwrap();
    assert_eq!(bytes.len(), 40566);
    std::fs::write(b.join(key), &bytes[..30000]).unwrap();
    let full = std::fs::read_to_string(b.join("meta/full_meta.json")).unwrap();
    assert_eq!(full.matches("\"log_size\":40566").count(), 1);
    let full = full.replace("\"log_size\":40566", "\"log_size\":30000");
    std::fs::write(b.join("meta/full_meta.json"), full).unwrap();

    let dest = tmp.path().join("dest");
    let (code, t) = failing_migrate(&b, &dest, &["--deep"]);
    assert_eq!(code, 6);
    assert!(t.contains(key), "{t}");
    assert!(!dest.exists());
    let (code, doc) = ferry_json(&["inspect", b.to_str().unwrap(), "--deep"]);
    assert_eq!(code, 6);
    let problems = doc["backups"][0]["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p["code"] == "binlog_corrupt" && p["key"] == key),
        "{doc}"
    );
}

#[test]
fn destination_with_different_bytes_is_refused_then_overwritten_on_request() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_backup();
    let dest = tmp.path().join("dest");
    let target = dest.join("real_backup_1/meta/backup_meta.json");
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, b"{\"name\":\"someone else's backup\"}").unwrap();
    let (code, t) = failing_migrate(&sample, &dest, &[]);
    assert_eq!(code, 7);
    assert!(
        t.contains("meta/backup_meta.json") && t.contains("--overwrite"),
        "{t}"
    );
    assert_eq!(
        std::fs::read(&target).unwrap(),
        b"{\"name\":\"someone else's backup\"}"
    );
    assert_eq!(file_count(&dest), 1, "nothing else written");

    let (code, doc) = ferry_json(&[
        "migrate",
        sample.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--overwrite",
    ]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["backups"][0]["transfer"]["replaced"], 1);
    assert_eq!(tree(&sample), tree(&dest.join("real_backup_1")));
}

#[test]
fn extra_objects_at_destination_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_backup();
    let dest = tmp.path().join("dest");
    let extra = dest.join("real_backup_1/binlogs/insert_log/orphan");
    std::fs::create_dir_all(extra.parent().unwrap()).unwrap();
    std::fs::write(&extra, b"old").unwrap();
    let (code, t) = failing_migrate(&sample, &dest, &[]);
    assert_eq!(code, 7);
    assert!(t.contains("binlogs/insert_log/orphan"), "{t}");
    let (code, _) = ferry_json(&[
        "migrate",
        sample.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--overwrite",
    ]);
    assert_eq!(code, 0);
    assert!(!extra.exists());
    assert_eq!(tree(&sample), tree(&dest.join("real_backup_1")));
}

#[test]
fn unwritable_destination() {
    let sample = sample_backup();
    // /sys refuses new folders even for root.
    let dest = Path::new("/sys/ferry-test-destination");
    let (code, t) = failing_migrate(&sample, dest, &[]);
    assert_eq!(code, 5, "{t}");
    assert!(
        t.contains("/sys/ferry-test-destination") && t.contains("not writable"),
        "{t}"
    );
    assert!(!dest.exists());
    // A destination whose parent is a file.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("file"), b"x").unwrap();
    let dest = tmp.path().join("file/dest");
    let (_, t) = failing_migrate(&sample, &dest, &[]);
    assert!(t.contains(dest.to_str().unwrap()), "{t}");
}

#[test]
fn symlink_escaping_the_root_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_copy(&tmp.path().join("src"));
    std::fs::write(tmp.path().join("outside-secret"), b"secret").unwrap();
    std::os::unix::fs::symlink(tmp.path().join("outside-secret"), b.join("binlogs/leak")).unwrap();
    let dest = tmp.path().join("dest");
    let (code, t) = failing_migrate(&b, &dest, &[]);
    assert_eq!(code, 3, "{t}");
    assert!(
        t.contains("binlogs/leak") && t.contains("outside the root"),
        "{t}"
    );
    assert_nothing_written(&dest);
}

#[test]
fn hostile_locations() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = sample_backup();
    let dest = tmp.path().join("d");
    for (location, code, needle) in [
        ("s3://bkt/../etc/", 3, "`..`"),
        ("s3://AKIA:SECRETKEY@bkt/x/", 3, "credentials"),
        ("https://example.com/bucket/x/", 3, "not a form"),
        ("nosuchscheme://bkt/x/", 10, "file"),
        ("hdfs://bkt/x/", 10, "no plugin serves the scheme \"hdfs\""),
    ] {
        let out = ferry(&["migrate", location, dest.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(code), "{location}: {}", text(&out));
        let t = text(&out);
        assert!(t.contains(needle), "{location}: {t}");
        assert!(!t.contains("SECRETKEY"), "{t}");
        let out = ferry(&["migrate", sample.to_str().unwrap(), location]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "destination {location}: {}",
            text(&out)
        );
    }
    assert!(!dest.exists());
}

#[test]
fn json_errors_are_json() {
    let (code, doc) = ferry_json(&["inspect", "/definitely/not/here"]);
    assert_eq!(code, 4);
    assert_eq!(doc["error"]["kind"], "not_found");
    assert!(doc["error"]["message"]
        .as_str()
        .unwrap()
        .contains("/definitely/not/here"));
}

#[test]
fn unreferenced_objects_and_sidecars_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let b = sample_copy(tmp.path());
    std::fs::write(b.join("meta/full_meta.json.sha256"), b"x").unwrap();
    std::fs::write(b.join("binlogs/insert_log/orphan"), b"x").unwrap();
    let (code, doc) = ferry_json(&["inspect", b.to_str().unwrap()]);
    assert_eq!(code, 0, "warnings do not make a backup invalid: {doc}");
    let problems = doc["backups"][0]["problems"].as_array().unwrap();
    assert!(problems
        .iter()
        .any(|p| p["code"] == "stray_object" && p["key"] == "meta/full_meta.json.sha256"));
    assert!(problems
        .iter()
        .any(|p| p["code"] == "unreferenced_object" && p["key"] == "binlogs/insert_log/orphan"));
}

/// Rewrites the sample copy's full_meta.json with `edit`.
fn edit_full_meta(backup: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = backup.join("meta/full_meta.json");
    let mut meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut meta);
    std::fs::write(&path, serde_json::to_string(&meta).unwrap()).unwrap();
}

#[test]
fn meta_that_contradicts_itself_is_refused_with_its_problem_code() {
    type Edit = fn(&mut serde_json::Value);
    let cases: [(&str, &str, Edit); 5] = [
        ("duplicate_collection", "collection default.docs", |m| {
            let docs = m["collection_backups"][0].clone();
            m["collection_backups"].as_array_mut().unwrap().push(docs);
        }),
        ("impossible_count", "num_of_rows -5", |m| {
            m["collection_backups"][0]["partition_backups"][0]["segment_backups"][1]
                ["num_of_rows"] = serde_json::json!(-5);
        }),
        ("id_mismatch", "partition_id", |m| {
            m["collection_backups"][1]["partition_backups"][1]["segment_backups"][0]
                ["partition_id"] = serde_json::json!(42);
        }),
        ("duplicate_segment", "segment 470745661787478789", |m| {
            let seg =
                m["collection_backups"][1]["partition_backups"][1]["segment_backups"][0].clone();
            m["collection_backups"][1]["partition_backups"][2]["segment_backups"]
                .as_array_mut()
                .unwrap()
                .push(seg);
        }),
        ("duplicate_partition", "partition cats", |m| {
            let p = m["collection_backups"][1]["partition_backups"][1].clone();
            let mut p2 = p.clone();
            p2["partition_id"] = serde_json::json!(1);
            p2["segment_backups"] = serde_json::json!([]);
            m["collection_backups"][1]["partition_backups"]
                .as_array_mut()
                .unwrap()
                .push(p2);
        }),
    ];
    for (code, named, edit) in cases {
        let dir = tempfile::tempdir().unwrap();
        let backup = sample_copy(dir.path());
        edit_full_meta(&backup, edit);
        let (_, report) = ferry_json(&["inspect", backup.to_str().unwrap()]);
        let problems = report.to_string();
        assert!(
            problems.contains(&format!("\"{code}\"")),
            "{code}: {problems}"
        );
        assert!(
            problems.contains(named),
            "{code} names {named:?}: {problems}"
        );
        let dest = dir.path().join("dest");
        let (exit, text) = failing_migrate(&backup, &dest, &["--no-job"]);
        assert_eq!(exit, 6, "{code}: {text}");
        assert_nothing_written(&dest);
    }
}

/// The protobuf JSON mapping of a Go-encoded meta value: lowerCamelCase keys (but `fieldID`,
/// `autoID`, which proto names so), 64-bit integers as strings.
fn to_protobuf_json(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    fn camel(key: &str) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in key.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                out.extend(c.to_uppercase());
                upper = false;
            } else {
                out.push(c);
            }
        }
        out
    }
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (camel(k), to_protobuf_json(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(to_protobuf_json).collect()),
        Value::Number(n) if n.is_i64() => Value::String(n.to_string()),
        other => other.clone(),
    }
}

#[test]
fn protobuf_json_meta_and_a_byte_order_mark_read_as_the_original() {
    let (_, original) = ferry_json(&["inspect", sample_backup().to_str().unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    let backup = sample_copy(dir.path());
    let path = backup.join("meta/full_meta.json");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let converted = to_protobuf_json(&meta);
    assert!(converted.to_string().contains("\"collectionBackups\""));
    assert!(converted
        .to_string()
        .contains("\"segmentId\":\"470745661787278682\""));
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(serde_json::to_vec(&converted).unwrap());
    std::fs::write(&path, bytes).unwrap();
    let (code, variant) = ferry_json(&["inspect", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{variant}");
    // Everything but the folder's byte total (the rewritten full_meta.json is larger).
    let inventory = |doc: &serde_json::Value| {
        let mut inv = doc["backups"][0]["inventory"].clone();
        inv.as_object_mut().unwrap().remove("bytes");
        inv
    };
    assert_eq!(inventory(&variant), inventory(&original), "{variant}");
    assert_eq!(variant["backups"][0]["valid"], true, "{variant}");
}
