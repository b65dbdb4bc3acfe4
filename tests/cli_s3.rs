//! S3 and MinIO plugins against real servers on 127.0.0.1: s3s-fs (disk-backed, the "MinIO /
//! S3-compatible gateway") and moto (S3 + STS + IAM with signature checking switched on).

mod support;

use support::servers::{moto, s3s, unique, S3S_KEY, S3S_SECRET};
use support::*;

/// Environment giving the source side the s3s-fs keys.
fn src_s3s() -> Vec<(&'static str, String)> {
    vec![
        ("FERRY_SRC_AWS_ACCESS_KEY_ID", S3S_KEY.to_string()),
        ("FERRY_SRC_AWS_SECRET_ACCESS_KEY", S3S_SECRET.to_string()),
    ]
}

fn dst_s3s() -> Vec<(&'static str, String)> {
    vec![
        ("FERRY_DST_AWS_ACCESS_KEY_ID", S3S_KEY.to_string()),
        ("FERRY_DST_AWS_SECRET_ACCESS_KEY", S3S_SECRET.to_string()),
    ]
}

fn env_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}

fn migrate_ok(args: &[&str], env: &[(&'static str, String)]) -> serde_json::Value {
    let mut all = vec!["migrate"];
    all.extend_from_slice(args);
    let (code, doc) = ferry_json_env(&all, &env_refs(env));
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["ok"], true, "{doc}");
    assert_eq!(doc["backups"][0]["verify"]["identical"], true, "{doc}");
    doc
}

#[test]
fn round_trip_local_minio_s3_local_is_byte_identical() {
    let s3s = s3s();
    let moto = moto();
    let (ak, sk) = moto.admin();
    let folder = unique("round-trip");
    let minio = format!("minio://127.0.0.1:{}/bkt1/{folder}/", s3s.port);
    let s3 = format!("s3://ferry-a/{folder}/");
    let sample = sample_backup();

    // local → MinIO (destination keys per side).
    let doc = migrate_ok(&[sample.to_str().unwrap(), &minio], &dst_s3s());
    assert_eq!(doc["backups"][0]["transfer"]["copied"], 37);
    assert_eq!(
        doc["backups"][0]["destination_location"],
        format!("{minio}real_backup_1/")
    );

    // MinIO → S3 (moto): each side its own endpoint and keys.
    let mut env = src_s3s();
    env.push(("FERRY_DST_AWS_ACCESS_KEY_ID", ak.clone()));
    env.push(("FERRY_DST_AWS_SECRET_ACCESS_KEY", sk.clone()));
    let dst_endpoint = moto.server.endpoint();
    let doc = migrate_ok(&[&minio, &s3, "--dst-s3-endpoint", &dst_endpoint], &env);
    assert_eq!(
        doc["backups"][0]["transfer"]["server_side"], 0,
        "different endpoints stream"
    );

    // S3 → local.
    let out = tempfile::tempdir().unwrap();
    let env = vec![
        ("AWS_ACCESS_KEY_ID", ak.clone()),
        ("AWS_SECRET_ACCESS_KEY", sk.clone()),
        ("AWS_ENDPOINT_URL", dst_endpoint.clone()),
    ];
    migrate_ok(&[&s3, out.path().to_str().unwrap()], &env);
    assert_eq!(tree(&sample), tree(&out.path().join("real_backup_1")));

    // Deep verify across the two servers: every byte re-read and hashed.
    let mut env = src_s3s();
    env.push(("FERRY_DST_AWS_ACCESS_KEY_ID", ak));
    env.push(("FERRY_DST_AWS_SECRET_ACCESS_KEY", sk));
    let (code, v) = ferry_json_env(
        &[
            "verify",
            &minio,
            &s3,
            "--dst-s3-endpoint",
            &dst_endpoint,
            "--deep",
        ],
        &env_refs(&env),
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["backups"][0]["checksums_compared"], 37);
    // And the inventory of the S3 copy is the sample's.
    let (code, inv) = ferry_json_env(
        &["inspect", &s3, "--s3-endpoint", &dst_endpoint, "--deep"],
        &env_refs(&[
            ("AWS_ACCESS_KEY_ID", moto.admin().0),
            ("AWS_SECRET_ACCESS_KEY", moto.admin().1),
        ]),
    );
    assert_eq!(code, 0, "{inv}");
    assert_eq!(inv["backups"][0]["inventory"]["total_entities"], 3500);
    assert_eq!(inv["backups"][0]["deep"]["files_read"], 32);
}

#[test]
fn copies_within_one_endpoint_are_server_side_across_buckets_too() {
    let s3s = s3s();
    let folder = unique("ssc");
    let a = format!("minio://127.0.0.1:{}/bkt1/{folder}/a/", s3s.port);
    let b = format!("minio://127.0.0.1:{}/bkt1/{folder}/b/", s3s.port);
    let c = format!("minio://127.0.0.1:{}/bkt2/{folder}/c/", s3s.port);
    let keys = vec![
        ("AWS_ACCESS_KEY_ID", S3S_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", S3S_SECRET.to_string()),
    ];
    migrate_ok(&[sample_backup().to_str().unwrap(), &a], &keys);
    let doc = migrate_ok(&[&a, &b], &keys);
    assert_eq!(doc["backups"][0]["transfer"]["server_side"], 37);
    // Another bucket of the same endpoint and keys: CopyObject with a source in bkt1.
    let doc = migrate_ok(&[&a, &c, "--deep"], &keys);
    assert_eq!(doc["backups"][0]["transfer"]["server_side"], 37);
    let copied = s3s
        .data
        .as_ref()
        .unwrap()
        .join(format!("bkt2/{folder}/c/real_backup_1"));
    assert_eq!(tree(&sample_backup()), tree(&copied));
}

#[test]
fn cross_bucket_copies_are_signed_and_checked_by_the_server() {
    // moto checks SigV4 signatures and IAM policies: the hand-signed CopyObject must pass both.
    let moto = moto();
    let (ak, sk) = moto.admin();
    let folder = unique("xb");
    let endpoint = moto.server.endpoint();
    let a = format!("s3://ferry-a/{folder}/");
    let b = format!("s3://ferry-b/{folder}/");
    let env = vec![
        ("AWS_ACCESS_KEY_ID", ak.clone()),
        ("AWS_SECRET_ACCESS_KEY", sk.clone()),
    ];
    migrate_ok(
        &[
            sample_backup().to_str().unwrap(),
            &a,
            "--s3-endpoint",
            &endpoint,
        ],
        &env,
    );
    let doc = migrate_ok(&[&a, &b, "--s3-endpoint", &endpoint, "--deep"], &env);
    assert_eq!(doc["backups"][0]["transfer"]["server_side"], 37, "{doc}");
    // A wrong secret fails the copy with a permission error naming the fix, and no secret.
    let bad = vec![
        ("AWS_ACCESS_KEY_ID", ak.clone()),
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret".to_string()),
    ];
    let c = format!("s3://ferry-b/{folder}-bad/");
    let (code, doc) = ferry_json_env(
        &["migrate", &a, &c, "--s3-endpoint", &endpoint],
        &env_refs(&bad),
    );
    assert_ne!(code, 0, "{doc}");
    assert!(!doc.to_string().contains("not-the-secret"), "{doc}");
}

#[test]
fn large_objects_go_multipart_and_arrive_whole() {
    let s3s = s3s();
    let moto = moto();
    let tmp = tempfile::tempdir().unwrap();
    // One 70 MiB binlog: nine 8 MiB parts.
    let backup = large_object_backup(tmp.path(), "lg", 70 * 1024 * 1024);
    let folder = unique("lg");
    let minio = format!("minio://127.0.0.1:{}/bkt1/{folder}/", s3s.port);
    let s3 = format!("s3://ferry-b/{folder}/");
    let mut env = src_s3s();
    env.extend(dst_s3s());
    migrate_ok(&[backup.to_str().unwrap(), &minio], &env);
    let (ak, sk) = moto.admin();
    let mut env = src_s3s();
    env.push(("FERRY_DST_AWS_ACCESS_KEY_ID", ak.clone()));
    env.push(("FERRY_DST_AWS_SECRET_ACCESS_KEY", sk.clone()));
    let endpoint = moto.server.endpoint();
    migrate_ok(&[&minio, &s3, "--dst-s3-endpoint", &endpoint], &env);
    let back = tmp.path().join("back");
    let env = vec![
        ("AWS_ACCESS_KEY_ID", ak),
        ("AWS_SECRET_ACCESS_KEY", sk),
        ("AWS_ENDPOINT_URL", endpoint),
    ];
    migrate_ok(&[&s3, back.to_str().unwrap()], &env);
    assert_eq!(tree(&backup), tree(&back.join("lg")));
}

#[test]
fn upload_checksums_are_an_option() {
    let moto = moto();
    let (ak, sk) = moto.admin();
    let endpoint = moto.server.endpoint();
    let env = vec![
        ("AWS_ACCESS_KEY_ID", ak),
        ("AWS_SECRET_ACCESS_KEY", sk),
        ("AWS_ENDPOINT_URL", endpoint),
    ];
    for checksum in ["sha256", "crc64nvme", "none"] {
        let dest = format!("s3://ferry-b/{}/", unique(checksum));
        migrate_ok(
            &[
                sample_backup().to_str().unwrap(),
                &dest,
                "--s3-checksum",
                checksum,
            ],
            &env,
        );
    }
    let out = ferry_env(
        &[
            "migrate",
            sample_backup().to_str().unwrap(),
            "s3://ferry-b/x/",
            "--s3-checksum",
            "md5",
        ],
        &env_refs(&env),
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("none, sha256 or crc64nvme"));
}

#[test]
fn virtual_hosted_addressing_is_an_option() {
    let s3s = s3s();
    let folder = unique("vhost");
    let loc = format!("s3://bkt1/{folder}/");
    let endpoint = format!("http://localhost:{}", s3s.port);
    let keys = vec![
        ("AWS_ACCESS_KEY_ID", S3S_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", S3S_SECRET.to_string()),
    ];
    // DNS does not know bkt1.localhost: pin it, as an operator would for split DNS.
    migrate_ok(
        &[
            sample_backup().to_str().unwrap(),
            &loc,
            "--s3-endpoint",
            &endpoint,
            "--s3-virtual-hosted",
            "--s3-resolve",
            "bkt1.localhost=127.0.0.1",
        ],
        &keys,
    );
    let (code, doc) = ferry_json_env(
        &[
            "inspect",
            &loc,
            "--s3-endpoint",
            &endpoint,
            "--s3-path-style",
        ],
        &env_refs(&keys),
    );
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["backups"][0]["inventory"]["objects"], 37);
}

#[test]
fn milvus_backup_config_v1_and_v2_name_the_source() {
    let s3s = s3s();
    let folder = unique("cfg");
    let keys = vec![
        ("AWS_ACCESS_KEY_ID", S3S_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", S3S_SECRET.to_string()),
    ];
    let root = format!("minio://127.0.0.1:{}/bkt1/{folder}/backup/", s3s.port);
    migrate_ok(&[sample_backup().to_str().unwrap(), &root], &keys);

    let tmp = tempfile::tempdir().unwrap();
    let v1 = tmp.path().join("v1.yaml");
    std::fs::write(
        &v1,
        format!(
            "minio:\n  storageType: minio\n  address: 127.0.0.1\n  port: {}\n  accessKeyID: {S3S_KEY}\n  secretAccessKey: {S3S_SECRET}\n  useSSL: false\n  bucketName: milvus-bucket\n  rootPath: files\n  backupBucketName: bkt1\n  backupRootPath: {folder}/backup\nbackup:\n  maxSegmentGroupSize: 2G\n",
            s3s.port
        ),
    )
    .unwrap();
    let v2 = tmp.path().join("v2.yaml");
    std::fs::write(
        &v2,
        format!(
            "configVersion: v2\nmilvus:\n  storage:\n    provider: minio\n    address: 127.0.0.1\n    port: {}\n    bucketName: milvus-bucket\n    rootPath: files\n    auth:\n      type: static\n      accessKeyID: {S3S_KEY}\n      secretAccessKey: {S3S_SECRET}\nbackup:\n  storage:\n    bucketName: bkt1\n    rootPath: {folder}/backup\n",
            s3s.port
        ),
    )
    .unwrap();
    for config in [&v1, &v2] {
        // No keys in the environment: they come from the file.
        let (code, doc) = ferry_json_env(
            &[
                "inspect",
                "--milvus-backup-config",
                config.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(code, 0, "{doc}");
        assert_eq!(doc["location"], root);
        assert_eq!(doc["backups"][0]["inventory"]["total_entities"], 3500);
        let out = tmp.path().join(config.file_stem().unwrap());
        let (code, doc) = ferry_json_env(
            &[
                "migrate",
                "--milvus-backup-config",
                config.to_str().unwrap(),
                out.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(code, 0, "{doc}");
        assert_eq!(tree(&sample_backup()), tree(&out.join("real_backup_1")));
    }
    let unsupported = tmp.path().join("oss.yaml");
    std::fs::write(
        &unsupported,
        "minio:\n  storageType: aliyun\n  bucketName: b\n",
    )
    .unwrap();
    let out = ferry_env(
        &[
            "inspect",
            "--milvus-backup-config",
            unsupported.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(10), "{}", text(&out));
    assert!(
        text(&out).contains("--s3-endpoint https://oss-<region>.aliyuncs.com"),
        "{}",
        text(&out)
    );
    let out = ferry_env(
        &[
            "migrate",
            "--milvus-backup-config",
            v1.to_str().unwrap(),
            "a",
            "b",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
}
