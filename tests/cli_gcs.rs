//! GCS plugin against fake-gcs-server on 127.0.0.1 (Google's JSON API): round trips, rewrite
//! copies, resumable uploads of large objects that survive a dropped connection, credentials
//! (service-account key with a loopback token endpoint, tokens) and clear refusals.

mod support;

use std::sync::atomic::Ordering;

use support::servers::{fake_gcs, service_account_file, token_server, unique};
use support::*;

fn ok(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let (code, doc) = ferry_json_env(args, env);
    assert_eq!(code, 0, "{doc}");
    doc
}

#[test]
fn round_trip_rewrite_and_checksums() {
    let gcs = fake_gcs();
    let ep = gcs.endpoint();
    let folder = unique("rt");
    let zilliz_form = format!("https://storage.cloud.google.com/ferry-gcs-a/{folder}/");
    let other = format!("gs://ferry-gcs-b/{folder}/");
    let sample = sample_backup();
    let flags = ["--gcs-endpoint", &ep, "--gcs-anonymous"];
    let mut args = vec!["migrate", sample.to_str().unwrap(), &zilliz_form];
    args.extend(flags);
    let doc = ok(&args, &[]);
    let v = &doc["backups"][0]["verify"];
    assert_eq!(v["identical"], true);
    assert_eq!(
        v["checksums_compared"], 37,
        "GCS's CRC32C checked against Ferry's own"
    );
    // GCS → GCS: rewrite inside GCS.
    let mut args = vec!["migrate", &zilliz_form, &other];
    args.extend(flags);
    let doc = ok(&args, &[]);
    assert_eq!(doc["backups"][0]["transfer"]["server_side"], 37);
    // GCS → local.
    let out = tempfile::tempdir().unwrap();
    let mut args = vec!["migrate", &other, out.path().to_str().unwrap(), "--deep"];
    args.extend(flags);
    ok(&args, &[]);
    assert_eq!(tree(&sample), tree(&out.path().join("real_backup_1")));
    let mut args = vec!["inspect", &other, "--deep"];
    args.extend(flags);
    let doc = ok(&args, &[]);
    assert_eq!(doc["backups"][0]["inventory"]["total_entities"], 3500);
    assert_eq!(doc["backups"][0]["deep"]["files_read"], 32);
}

#[test]
fn large_object_resumes_after_a_dropped_connection() {
    let gcs = fake_gcs();
    // Cut the connection once, 20 MiB into the upload: the resumable session continues.
    let proxy = proxy::start(gcs.port, Some(20 * 1024 * 1024));
    let ep = format!("http://127.0.0.1:{}", proxy.port);
    let tmp = tempfile::tempdir().unwrap();
    let backup = large_object_backup(tmp.path(), "lg", 70 * 1024 * 1024);
    let dest = format!("gs://ferry-gcs-a/{}/", unique("lg"));
    let doc = ok(
        &[
            "migrate",
            backup.to_str().unwrap(),
            &dest,
            "--gcs-endpoint",
            &ep,
            "--gcs-anonymous",
            "--concurrency",
            "1",
        ],
        &[],
    );
    assert!(proxy.cut.load(Ordering::SeqCst), "the connection was cut");
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    assert_eq!(
        doc["backups"][0]["transfer"]["failed"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let back = tmp.path().join("back");
    ok(
        &[
            "migrate",
            &dest,
            back.to_str().unwrap(),
            "--gcs-endpoint",
            &gcs.endpoint(),
            "--gcs-anonymous",
        ],
        &[],
    );
    assert_eq!(tree(&backup), tree(&back.join("lg")));
}

#[test]
fn credentials_key_file_token_and_refusals() {
    let gcs = fake_gcs();
    let ep = gcs.endpoint();
    let tmp = tempfile::tempdir().unwrap();
    let (token_port, requests) = token_server("ya29.loopback-token");
    let key = service_account_file(tmp.path(), token_port);
    let dest = format!("gs://ferry-gcs-a/{}/", unique("sa"));
    let sample = sample_backup();
    // A service-account key (its token endpoint on loopback), through the standard variable.
    let out = ferry_env(
        &[
            "migrate",
            sample.to_str().unwrap(),
            &dest,
            "--gcs-endpoint",
            &ep,
            "-vv",
        ],
        &[
            ("GOOGLE_APPLICATION_CREDENTIALS", key.to_str().unwrap()),
            ("RUST_LOG", "debug"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        requests.load(Ordering::SeqCst) >= 1,
        "the token endpoint was asked"
    );
    assert!(!text(&out).contains("ya29.loopback-token") && !text(&out).contains("PRIVATE KEY"));
    // A plain token (temporary credentials).
    let out = ferry_env(
        &[
            "inspect",
            &dest,
            "--gcs-endpoint",
            &ep,
            "--gcs-token",
            "ya29.given-token",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("ya29.given-token"));

    // external_account is refused clearly.
    let ext = tmp.path().join("ext.json");
    std::fs::write(
        &ext,
        r#"{"type":"external_account","audience":"x","subject_token_type":"y"}"#,
    )
    .unwrap();
    let out = ferry_env(
        &[
            "inspect",
            &dest,
            "--gcs-endpoint",
            &ep,
            "--gcs-credentials",
            ext.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(text(&out).contains("external_account"), "{}", text(&out));
    // An unreadable key file.
    let out = ferry_env(
        &[
            "inspect",
            &dest,
            "--gcs-endpoint",
            &ep,
            "--gcs-credentials",
            "/nonexistent/key.json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("/nonexistent/key.json"),
        "{}",
        text(&out)
    );
    // No credentials: the chain says what it tried (and never asks a metadata server here).
    let out = ferry_env(
        &["inspect", &dest, "--gcs-endpoint", &ep, "--gcs-no-gcloud"],
        &[("HOME", tmp.path().to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        text(&out).contains("--gcs-anonymous")
            && text(&out).contains("GOOGLE_APPLICATION_CREDENTIALS"),
        "{}",
        text(&out)
    );
}

#[test]
fn refusals_are_clear() {
    let gcs = fake_gcs();
    let ep = gcs.endpoint();
    let sample = sample_backup();
    let flags = ["--gcs-endpoint", ep.as_str(), "--gcs-anonymous"];
    let mut args = vec![
        "migrate",
        sample.to_str().unwrap(),
        "gs://no-such-bucket/x/",
    ];
    args.extend(flags);
    let out = ferry_env(&args, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("no-such-bucket") && text(&out).contains("create it"),
        "{}",
        text(&out)
    );
    let out_dir = tempfile::tempdir().unwrap();
    let mut args = vec![
        "migrate",
        "gs://no-such-bucket/x/",
        out_dir.path().to_str().unwrap(),
    ];
    args.extend(flags);
    let out = ferry_env(&args, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(text(&out).contains("the source"), "{}", text(&out));
    // An empty folder in an existing bucket is no backup.
    let mut args = vec!["inspect", "gs://ferry-gcs-a/nothing-here/"];
    args.extend(flags);
    let out = ferry_env(&args, &[]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out));
    for bad in ["gs://", "gs://b/../x/", "https://storage.googleapis.com/"] {
        let out = ferry_env(&["inspect", bad], &[]);
        assert_eq!(out.status.code(), Some(3), "{bad}: {}", text(&out));
    }
    let out = ferry_env(&["inspect", "gs://bkt/", "--gcs-endpoint", "ftp://x"], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}
