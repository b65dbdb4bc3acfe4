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
