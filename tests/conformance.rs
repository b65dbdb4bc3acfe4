//! The conformance kit (`ferry plugins check`) against every built-in plugin on its real server
//! on 127.0.0.1: local disk, MinIO (s3s-fs), S3 (moto with authentication), Azure (Azurite) and
//! GCS (fake-gcs-server).

mod support;

use serde_json::Value;
use support::servers::{azurite, fake_gcs, moto, s3s, unique, AZURITE_KEY, S3S_KEY, S3S_SECRET};
use support::*;

fn check(args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut all = vec!["plugins", "check"];
    all.extend_from_slice(args);
    let (code, doc) = ferry_json_env(&all, env);
    let failed: Vec<&Value> = doc["checks"]
        .as_array()
        .map(|c| c.iter().filter(|r| r["passed"] != true).collect())
        .unwrap_or_default();
    assert_eq!(code, 0, "failed checks: {failed:#?}\n{doc}");
    assert_eq!(doc["passed"], true);
    assert_eq!(doc["checks"].as_array().unwrap().len(), 9);
    doc
}

#[test]
fn local_disk() {
    let tmp = tempfile::tempdir().unwrap();
    check(&[tmp.path().to_str().unwrap()], &[]);
    assert!(!tmp.path().join(".ferry-partial").exists());
}

#[test]
fn minio_on_s3s_fs() {
    let s = s3s();
    // The bucket's root: s3s-fs keeps per-object metadata in files named after the base64 of
    // the key, so keys over ~164 bytes fail there (a test-server limit; S3 allows 1,024), and
    // the kit's round trip writes the sample's 131-byte keys under its own `kit-<time>/rt/`.
    let loc = format!("minio://127.0.0.1:{}/bkt2/", s.port);
    check(
        &[&loc],
        &[
            ("AWS_ACCESS_KEY_ID", S3S_KEY),
            ("AWS_SECRET_ACCESS_KEY", S3S_SECRET),
        ],
    );
}

#[test]
fn s3_on_moto() {
    let m = moto();
    let (ak, sk) = m.admin();
    let loc = format!("s3://ferry-b/{}/", unique("kit"));
    check(
        &[&loc, "--s3-endpoint", &m.server.endpoint()],
        &[("AWS_ACCESS_KEY_ID", &ak), ("AWS_SECRET_ACCESS_KEY", &sk)],
    );
}

#[test]
fn azure_on_azurite() {
    let az = azurite();
    let loc = format!("az://ferry-a/{}/", unique("kit"));
    check(
        &[&loc, "--azure-endpoint", &az.azure_endpoint()],
        &[("AZURE_STORAGE_KEY", AZURITE_KEY)],
    );
}

#[test]
fn gcs_on_fake_gcs_server() {
    let g = fake_gcs();
    let loc = format!("gs://ferry-gcs-b/{}/", unique("kit"));
    check(
        &[&loc, "--gcs-endpoint", &g.endpoint(), "--gcs-anonymous"],
        &[],
    );
}
