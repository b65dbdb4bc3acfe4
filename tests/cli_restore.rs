//! Restoring a backup into a real Milvus 2.3.5 server and proving it there (issue 17). The
//! server runs in its own network namespace (tests/support/milvus.rs); pymilvus 2.3.8 is only the
//! independent checker: every count and query below is asked through it, not through Ferry.
//!
//! The tests share one server and run one at a time (each restores the same collection names).

mod support;

use std::sync::Mutex;

use serde_json::{json, Value};
use support::milvus::{milvus, Milvus, PASSWORD, USER};

/// One test at a time against the shared server.
static SERVER: Mutex<()> = Mutex::new(());

fn sample() -> String {
    support::sample_backup().display().to_string()
}

fn creds() -> Vec<(&'static str, &'static str)> {
    vec![
        ("FERRY_MILVUS_USER", USER),
        ("FERRY_MILVUS_PASSWORD", PASSWORD),
    ]
}

/// A folder the server reads (local storage: any absolute path of the host's file system).
fn storage(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("milvus-storage");
    std::fs::create_dir_all(&path).unwrap();
    path.display().to_string()
}

fn restore(server: &Milvus, extra: &[&str], storage: &str) -> (i32, Value, String) {
    let url = server.url();
    let mut args = vec![
        "migrate",
        sample_str(),
        url.as_str(),
        "--milvus-storage",
        storage,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = server.ferry(&args, &creds());
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let doc =
        serde_json::from_str::<Value>(&stdout).unwrap_or_else(|_| Value::String(stdout.clone()));
    (out.status.code().unwrap_or(-1), doc, stderr)
}

fn sample_str() -> &'static str {
    static S: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    S.get_or_init(sample).as_str()
}

fn clean(server: &Milvus) {
    server.check(json!({"op": "drop_all"}));
}

fn count(server: &Milvus, collection: &str) -> i64 {
    server.check(json!({"op": "count", "collection": collection}))["count"]
        .as_i64()
        .unwrap()
}

#[test]
fn the_sample_restored_with_its_indexes_holds_what_the_backup_says() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(&dir);
    let (code, doc, stderr) = restore(server, &["--load", "--index", "auto"], &storage);
    assert_eq!(code, 0, "{doc}\n{stderr}");
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(
        doc["server_version"],
        support::milvus::pinned_server_version()
    );
    // Independent counts (pymilvus): 3,000 inserted − 10 deleted; 300 + 200 images.
    assert_eq!(count(server, "docs"), 2990);
    let entities = server.check(json!({"op": "partitions", "collection": "images"}));
    assert_eq!(entities, json!({"_default": 0, "cats": 300, "dogs": 200}));
    // The deleted pks are gone, the others kept their data.
    let gone = server.check(json!({"op": "query", "collection": "docs",
        "expr": "pk in [3, 77, 500, 1199, 1500, 2201, 2345, 2600, 2998, 2999]", "fields": ["pk"]}));
    assert_eq!(gone["rows"], json!([]));
    let four = server.check(
        json!({"op": "query", "collection": "docs", "expr": "pk == 4",
        "fields": ["title", "color"]}),
    );
    assert_eq!(four["rows"][0]["title"], "doc-00004", "{four}");
    assert_eq!(
        four["rows"][0]["color"], "green",
        "the dynamic field's keys survive: {four}"
    );
    let hits = server.check(
        json!({"op": "search_by_pk", "collection": "docs", "pk_field": "pk",
        "vector_field": "vec", "pk": 4, "metric": "L2"}),
    );
    assert_eq!(hits["ids"][0], 4, "{hits}");
    // Ferry's own report agrees, per collection, and says what it compared.
    let docs = doc["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"] == "default.docs")
        .unwrap();
    assert_eq!(docs["check"]["expected"], 2990);
    assert_eq!(docs["check"]["statistics"], 2990);
    assert_eq!(docs["check"]["count"], 2990);
    assert_eq!(
        docs["imports"].as_array().unwrap().len(),
        2,
        "one import per segment group"
    );
    // --index auto: AUTOINDEX with the backed-up metric; images had no index: a metric chosen and said.
    let images = doc["collections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["target"] == "default.images")
        .unwrap();
    assert_eq!(docs["indexes"][0]["metric"], "L2");
    assert!(
        images["indexes"][0]["note"]
            .as_str()
            .unwrap()
            .contains("no index"),
        "{images}"
    );
    // The temporary copy is gone.
    let left: Vec<_> = walkdir(&std::path::PathBuf::from(&storage));
    assert!(left.is_empty(), "temporary binlogs left behind: {left:?}");
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walkdir(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn the_backed_up_indexes_are_rebuilt_and_an_existing_collection_is_refused_then_dropped() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    server.check(json!({"op": "create", "collection": "images", "dim": 4}));
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(&dir);
    let (code, doc, stderr) = restore(server, &[], &storage);
    assert_eq!(code, 7, "a conflict: {doc}\n{stderr}");
    let said = format!("{doc}{stderr}");
    assert!(
        said.contains("default.images") && said.contains("--drop-existing"),
        "{said}"
    );
    let listed = server.check(json!({"op": "collections"}));
    assert_eq!(
        listed["collections"],
        json!(["images"]),
        "nothing was created"
    );
    assert!(
        walkdir(&std::path::PathBuf::from(&storage)).is_empty(),
        "nothing was copied"
    );

    let (code, doc, stderr) = restore(server, &["--drop-existing"], &storage);
    assert_eq!(code, 0, "{doc}\n{stderr}");
    let indexes = server.check(json!({"op": "indexes", "collection": "docs"}));
    assert_eq!(
        indexes["indexes"][0]["params"]["index_type"], "HNSW",
        "{indexes}"
    );
    assert_eq!(indexes["indexes"][0]["name"], "vec_idx");
    assert_eq!(
        server.check(json!({"op": "entities", "collection": "docs"}))["entities"],
        2990
    );
    assert_eq!(
        server.check(json!({"op": "entities", "collection": "images"}))["entities"],
        500
    );
}

#[test]
fn a_wrong_password_and_nothing_listening_fail_clearly_without_secrets() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(&dir);
    let url = server.url();
    let out = server.ferry(
        &["migrate", sample_str(), &url, "--milvus-storage", &storage],
        &[
            ("FERRY_MILVUS_USER", "root"),
            ("FERRY_MILVUS_PASSWORD", "not-the-password-42"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("refused the credentials"), "{stderr}");
    assert!(
        !stderr.contains("not-the-password-42"),
        "the password leaked: {stderr}"
    );
    assert_eq!(
        server.check(json!({"op": "collections"}))["collections"],
        json!([])
    );

    let port = support::servers::unused_port();
    let out = server.ferry(
        &[
            "migrate",
            sample_str(),
            &format!("milvus://127.0.0.1:{port}"),
            "--milvus-storage",
            &storage,
        ],
        &creds(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(9), "{stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("cannot reach"),
        "{stderr}"
    );
}

#[test]
fn storage_the_server_does_not_read_is_caught_by_the_check_and_explained() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(&dir);
    // The server is told a path relative to its localStorage.path: Milvus 2.3.5 then reports
    // the tasks Completed with 0 rows and no error.
    let (code, doc, stderr) = restore(
        server,
        &[
            "--milvus-storage-path",
            "not/where/the/files/are",
            "--collection",
            "images",
        ],
        &storage,
    );
    assert_eq!(code, 8, "{doc}\n{stderr}");
    let said = format!("{doc}{stderr}");
    assert!(said.contains("the server read no binlogs"), "{said}");
    assert!(said.contains("--milvus-storage"), "{said}");
    // Nothing half-written stays in the cluster: the collection this run created is dropped.
    assert_eq!(
        server.check(json!({"op": "collections"}))["collections"],
        json!([])
    );
}

#[test]
fn verify_against_a_cluster_finds_a_collection_that_lost_rows() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(&dir);
    let (code, doc, stderr) = restore(server, &["--load", "--index", "auto"], &storage);
    assert_eq!(code, 0, "{doc}\n{stderr}");
    let url = server.url();
    let out = server.ferry(&["verify", sample_str(), &url, "--json"], &creds());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Statistics of Milvus 2.3 do not subtract deletes; count(*) of the loaded collection does.
    server.check(json!({"op": "delete", "collection": "docs", "expr": "pk in [10, 11, 12]"}));
    let out = server.ferry(&["verify", sample_str(), &url], &creds());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stdout}\n{stderr}");
    assert!(stderr.contains("default.docs"), "{stderr}");
    assert!(
        !stderr.contains("default.images"),
        "images did not change: {stderr}"
    );
    assert!(
        stdout.contains("2987"),
        "the count the cluster gave is shown: {stdout}"
    );
}

/// The live restore journals of this test process's state folder (finished jobs keep theirs
/// under `restores/done/`).
fn journals() -> Vec<std::path::PathBuf> {
    let dir = std::env::temp_dir()
        .join(format!("ferry-test-state-{}", std::process::id()))
        .join("restores");
    std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default()
}

/// `(group, tasks)` of every import the journal says was sent.
fn sent_groups(journal: &str) -> Vec<(String, Vec<i64>)> {
    journal
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "sent")
        .map(|e| {
            let tasks = e["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_i64().unwrap())
                .collect();
            (
                format!(
                    "{}/{}",
                    e["collection"].as_str().unwrap(),
                    e["group"].as_str().unwrap()
                ),
                tasks,
            )
        })
        .collect()
}

/// Starts `ferry args` in the background and returns it once its journal records a first import
/// sent (task ids written), failing when it ends first or sends nothing within 2 minutes.
fn start_until_first_import(server: &Milvus, args: &[&str]) -> std::process::Child {
    let mut child = server.spawn_ferry(args, &creds());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while journals()
        .iter()
        .all(|j| sent_groups(&std::fs::read_to_string(j).unwrap_or_default()).is_empty())
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the restore ended before its imports could be interrupted"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no import was sent within 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// The `(collection/group, tasks)` of every import the live journals say was sent.
fn sent_so_far() -> Vec<(String, Vec<i64>)> {
    journals()
        .iter()
        .flat_map(|j| sent_groups(&std::fs::read_to_string(j).unwrap()))
        .collect()
}

#[test]
fn a_restore_killed_during_the_imports_resumes_without_importing_anything_twice() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    for j in journals() {
        std::fs::remove_file(j).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(&dir);
    let url = server.url();
    let args = [
        "migrate",
        sample_str(),
        url.as_str(),
        "--milvus-storage",
        storage.as_str(),
        "--import-concurrency",
        "1",
        "--json",
    ];
    // Kill it once the first import was sent (its task ids journalled) and before the last.
    let mut child = start_until_first_import(server, &args);
    child.kill().unwrap();
    child.wait().unwrap();
    let first_run = sent_so_far();
    assert!(
        !first_run.is_empty() && first_run.len() < 4,
        "killed mid-way: {first_run:?}"
    );

    // The same command again resumes.
    let out = server.ferry(&args, &creds());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let mut sent_again = Vec::new();
    let mut adopted = Vec::new();
    for c in doc["collections"].as_array().unwrap() {
        for i in c["imports"].as_array().unwrap() {
            let key = format!(
                "{}/{}",
                c["target"].as_str().unwrap(),
                i["group"].as_str().unwrap()
            );
            if i["already_imported"] == true {
                adopted.push(key);
            } else {
                sent_again.push(key);
            }
        }
    }
    for (group, _) in &first_run {
        assert!(
            !sent_again.contains(group),
            "group {group} was imported twice"
        );
        assert!(
            adopted.contains(group),
            "group {group} of the first run was not taken over"
        );
    }
    assert_eq!(
        adopted.len() + sent_again.len(),
        4,
        "every group imported once: {doc}"
    );
    // Independent counts: no row twice, none missing.
    assert_eq!(
        server.check(json!({"op": "entities", "collection": "docs"}))["entities"],
        2990
    );
    assert_eq!(
        server.check(json!({"op": "entities", "collection": "images"}))["entities"],
        500
    );
    assert!(
        journals().is_empty(),
        "the journal of a finished restore is no longer live"
    );
}

#[test]
fn a_backup_the_server_version_cannot_import_is_refused_before_anything_is_created() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    let dir = tempfile::tempdir().unwrap();
    // The sample with a collection-level L0 segment (Milvus ≥ 2.4 writes deletes that way;
    // importing them needs l0_import, which exists from 2.4.5 on).
    let backup = support::sample_copy(dir.path());
    let meta_path = backup.join("meta/full_meta.json");
    let mut meta: Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).unwrap()).unwrap();
    let docs = meta["collection_backups"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["collection_name"] == "docs")
        .unwrap();
    let id = docs["collection_id"].clone();
    docs["l0_segments"] = json!([{"segment_id": 470745661787999999i64, "collection_id": id,
        "partition_id": -1, "num_of_rows": 0, "is_l0": true, "deltalogs": [{}]}]);
    std::fs::write(&meta_path, serde_json::to_string(&meta).unwrap()).unwrap();
    let storage = storage(&dir);
    let url = server.url();
    let out = server.ferry(
        &[
            "migrate",
            backup.to_str().unwrap(),
            &url,
            "--milvus-storage",
            &storage,
        ],
        &creds(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(10), "unsupported: {stderr}");
    assert!(
        stderr.contains("L0") && stderr.contains("2.4.5") && stderr.contains("2.3.5"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was created"), "{stderr}");
    assert_eq!(
        server.check(json!({"op": "collections"}))["collections"],
        json!([])
    );
    assert!(
        walkdir(&std::path::PathBuf::from(&storage)).is_empty(),
        "nothing was copied"
    );
}

#[test]
fn the_target_storage_is_read_from_the_servers_own_milvus_yaml() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    let config = server.data.join("configs/milvus.yaml");
    assert!(config.is_file(), "{}", config.display());
    let url = server.url();
    let out = server.ferry(
        &[
            "migrate",
            sample_str(),
            &url,
            "--milvus-config",
            config.to_str().unwrap(),
            "--collection",
            "images",
            "--rename",
            "images:pictures",
            "--json",
        ],
        &creds(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let read_from = doc["server_backup_path"].as_str().unwrap();
    assert!(
        read_from.starts_with(server.storage.to_str().unwrap()),
        "{read_from}"
    );
    assert_eq!(
        server.check(json!({"op": "collections"}))["collections"],
        json!(["pictures"])
    );
    assert_eq!(
        server.check(json!({"op": "partitions", "collection": "pictures"})),
        json!({"_default": 0, "cats": 300, "dogs": 200})
    );
}

#[test]
fn the_whole_chain_local_to_an_s3_server_then_into_milvus_with_ferrys_own_copy() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    let dir = tempfile::tempdir().unwrap();
    let (_s3s, port) = server.start_s3s_inside(&dir.path().join("s3"));
    let bucket = format!("minio://127.0.0.1:{port}/bkt1/staging/");
    let dst_keys = [
        ("FERRY_DST_AWS_ACCESS_KEY_ID", support::servers::S3S_KEY),
        (
            "FERRY_DST_AWS_SECRET_ACCESS_KEY",
            support::servers::S3S_SECRET,
        ),
    ];
    let src_keys = [
        ("FERRY_SRC_AWS_ACCESS_KEY_ID", support::servers::S3S_KEY),
        (
            "FERRY_SRC_AWS_SECRET_ACCESS_KEY",
            support::servers::S3S_SECRET,
        ),
    ];
    // 1. local → S3-compatible server.
    let out = server.ferry(&["migrate", sample_str(), &bucket, "--no-job"], &dst_keys);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // 2. from there into Milvus: Ferry copies the binlogs from the bucket to the server's storage.
    let storage = storage(&dir);
    let url = server.url();
    let mut env = creds();
    env.extend_from_slice(&src_keys);
    let source = format!("{bucket}real_backup_1/");
    let out = server.ferry(
        &[
            "migrate",
            &source,
            &url,
            "--milvus-storage",
            &storage,
            "--load",
            "--index",
            "auto",
            "--json",
        ],
        &env,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        doc["copied_objects"], 37,
        "the whole backup folder was copied by Ferry: {doc}"
    );
    assert_eq!(count(server, "docs"), 2990);
    assert_eq!(count(server, "images"), 500);
}

#[test]
fn a_database_in_the_url_is_created_and_receives_the_collections() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(&dir);
    let url = format!("{}/archive", server.url());
    let out = server.ferry(
        &[
            "migrate",
            sample_str(),
            &url,
            "--milvus-storage",
            &storage,
            "--collection",
            "default.images",
        ],
        &creds(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("archive.images"), "{stdout}");
    let listed = server.check(json!({"op": "collections", "db": "archive"}));
    assert_eq!(listed["collections"], json!(["images"]));
    assert_eq!(
        server.check(json!({"op": "collections"}))["collections"],
        json!([]),
        "default untouched"
    );
    let parts = server.check(json!({"op": "partitions", "collection": "images", "db": "archive"}));
    assert_eq!(parts, json!({"_default": 0, "cats": 300, "dogs": 200}));
    // An unknown collection is refused naming what the backup holds.
    let out = server.ferry(
        &[
            "migrate",
            sample_str(),
            &url,
            "--milvus-storage",
            &storage,
            "--collection",
            "nope",
        ],
        &creds(),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("default.nope") && stderr.contains("default.docs"),
        "{stderr}"
    );
}

/// `ferry jobs list --json`: the jobs of this test process's state folder.
fn jobs(server: &Milvus) -> Vec<Value> {
    let out = server.ferry(&["jobs", "list", "--json"], &[]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc.as_array().cloned().unwrap_or_default()
}

#[test]
fn a_restore_is_a_job_that_can_be_cancelled_and_resumed_without_importing_twice() {
    let _one = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = milvus();
    clean(server);
    for j in journals() {
        std::fs::remove_file(j).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let storage = storage(&dir);
    let url = server.url();
    let args = [
        "migrate",
        sample_str(),
        url.as_str(),
        "--milvus-storage",
        storage.as_str(),
        "--import-concurrency",
        "1",
        "--job-name",
        "restore-under-test",
    ];
    let mut child = start_until_first_import(server, &args);
    let out = server.ferry(
        &["jobs", "cancel", "restore-under-test", "--wait", "60"],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "a cancelled restore exits as interrupted"
    );
    let job = jobs(server)
        .into_iter()
        .find(|j| j["name"] == "restore-under-test")
        .unwrap();
    assert_eq!(job["state"], "cancelled", "{job}");
    let before = sent_so_far();
    assert!(!before.is_empty() && before.len() < 4, "{before:?}");

    let out = server.ferry(
        &["jobs", "resume", "restore-under-test", "--json"],
        &creds(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&stdout).unwrap();
    let resent: Vec<String> = doc["collections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            let target = c["target"].as_str().unwrap().to_string();
            c["imports"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| i["already_imported"] == false)
                .map(move |i| format!("{target}/{}", i["group"].as_str().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    for (group, _) in &before {
        assert!(!resent.contains(group), "group {group} was imported twice");
    }
    assert_eq!(
        server.check(json!({"op": "entities", "collection": "docs"}))["entities"],
        2990
    );
    assert_eq!(
        server.check(json!({"op": "entities", "collection": "images"}))["entities"],
        500
    );
    let job = jobs(server)
        .into_iter()
        .find(|j| j["name"] == "restore-under-test")
        .unwrap();
    assert_eq!(job["state"], "succeeded", "{job}");
    let out = server.ferry(&["jobs", "show", "restore-under-test"], &[]);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("default.docs: verified") && shown.contains("default.images: verified"),
        "{shown}"
    );
    assert!(shown.contains("4 import request(s) sent"), "{shown}");
    assert!(
        shown.contains("import requests already sent when it stopped"),
        "the cancel says which tasks ran: {shown}"
    );
}
