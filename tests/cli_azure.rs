//! Azure Blob plugin against Azurite on 127.0.0.1: every location form, account keys, SAS
//! tokens (read-only ones really refused on write), wrong keys, block uploads of large blobs,
//! authorised server-side copies, interrupted copies resumed.

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::servers::{
    azurite, azurite_https_oauth, azurite_setup, azurite_token, unique, AZURITE_KEY,
};
use support::*;

fn key_env() -> Vec<(&'static str, &'static str)> {
    vec![("AZURE_STORAGE_KEY", AZURITE_KEY)]
}

fn ok(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let (code, doc) = ferry_json_env(args, env);
    assert_eq!(code, 0, "{doc}");
    doc
}

#[test]
fn round_trip_and_copies_inside_azure() {
    let az = azurite();
    let ep = az.azure_endpoint();
    let folder = unique("rt");
    // The Zilliz form, its host redirected to Azurite; az:// with the account from the endpoint.
    let https = format!("https://devstoreaccount1.blob.core.windows.net/ferry-a/{folder}/");
    let a2 = format!("az://ferry-a/{folder}-2/");
    let b = format!("azure://devstoreaccount1/ferry-b/{folder}/");
    let sample = sample_backup();
    let env = key_env();
    let doc = ok(
        &[
            "migrate",
            sample.to_str().unwrap(),
            &https,
            "--azure-endpoint",
            &ep,
        ],
        &env,
    );
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    assert_eq!(
        doc["backups"][0]["destination_location"],
        format!("azure://devstoreaccount1/ferry-a/{folder}/real_backup_1/")
    );
    // Same container: server-side copies, authorised with a SAS signed from the key.
    let doc = ok(&["migrate", &https, &a2, "--azure-endpoint", &ep], &env);
    assert_eq!(doc["backups"][0]["transfer"]["server_side"], 37);
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    // Another container: streamed.
    let doc = ok(&["migrate", &a2, &b, "--azure-endpoint", &ep], &env);
    assert_eq!(doc["backups"][0]["transfer"]["server_side"], 0);
    let out = tempfile::tempdir().unwrap();
    ok(
        &[
            "migrate",
            &b,
            out.path().to_str().unwrap(),
            "--azure-endpoint",
            &ep,
            "--deep",
        ],
        &env,
    );
    assert_eq!(tree(&sample), tree(&out.path().join("real_backup_1")));
    let (code, v) = ferry_json_env(
        &[
            "verify",
            sample.to_str().unwrap(),
            &b,
            "--azure-endpoint",
            &ep,
            "--deep",
        ],
        &env,
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["backups"][0]["checksums_compared"], 37);
}

#[test]
fn sas_tokens_read_only_and_in_urls() {
    let az = azurite();
    let ep = az.azure_endpoint();
    let folder = unique("sas");
    let dest = format!("az://ferry-a/{folder}/");
    ok(
        &[
            "migrate",
            sample_backup().to_str().unwrap(),
            &dest,
            "--azure-endpoint",
            &ep,
        ],
        &key_env(),
    );

    let read_list = azurite_setup(az, &["sas", "ferry-a", "rl", "120"]);
    let sig = read_list.split("sig=").nth(1).unwrap().to_string();
    let env = [("AZURE_STORAGE_SAS_TOKEN", read_list.as_str())];
    // Reads work.
    let out = ferry_env(
        &["inspect", &dest, "--azure-endpoint", &ep, "-vv"],
        &[
            ("AZURE_STORAGE_SAS_TOKEN", &read_list),
            ("RUST_LOG", "debug"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(&sig), "the SAS leaked");
    // A SAS in the URL's query is accepted and never echoed.
    let url =
        format!("https://devstoreaccount1.blob.core.windows.net/ferry-a/{folder}/?{read_list}");
    let out = ferry_env(&["inspect", &url, "--azure-endpoint", &ep], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(&sig));
    // Writes are refused with a clear permission error, and nothing is left behind.
    let target = format!("az://ferry-a/{folder}-ro/");
    let out = ferry_env(
        &[
            "migrate",
            sample_backup().to_str().unwrap(),
            &target,
            "--azure-endpoint",
            &ep,
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("Authorization") && t.contains("permission"),
        "{t}"
    );
    assert!(!t.contains(&sig));
    let (code, _) = ferry_json_env(&["inspect", &target, "--azure-endpoint", &ep], &key_env());
    assert_eq!(code, 6, "nothing was written");
    // An expired SAS is refused before any request.
    let expired = "sv=2022-11-02&sr=c&sp=rl&se=2001-01-01T00:00:00Z&sig=AAAA";
    let out = ferry_env(
        &[
            "inspect",
            &dest,
            "--azure-endpoint",
            &ep,
            "--azure-sas",
            expired,
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("expired"));
}

#[test]
fn refusals_are_clear() {
    let az = azurite();
    let ep = az.azure_endpoint();
    let sample = sample_backup();
    // A wrong key (valid base64, wrong bytes).
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    let out = ferry_env(
        &[
            "migrate",
            sample.to_str().unwrap(),
            "az://ferry-a/x/",
            "--azure-endpoint",
            &ep,
        ],
        &[("AZURE_STORAGE_KEY", wrong)],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("--azure-account-key"), "{}", text(&out));
    assert!(!text(&out).contains(wrong));
    // A container that does not exist.
    let out = ferry_env(
        &[
            "migrate",
            sample.to_str().unwrap(),
            "az://no-such-container/x/",
            "--azure-endpoint",
            &ep,
        ],
        &key_env(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("no-such-container") && text(&out).contains("create it"),
        "{}",
        text(&out)
    );
    // No credentials at all (no CLI fallback): what was tried.
    let out = ferry_env(
        &[
            "inspect",
            "az://ferry-a/x/",
            "--azure-endpoint",
            &ep,
            "--azure-no-cli",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("AZURE_CLIENT_SECRET"), "{}", text(&out));
    // An account key that is not base64.
    let out = ferry_env(
        &["inspect", "az://ferry-a/x/", "--azure-endpoint", &ep],
        &[("AZURE_STORAGE_KEY", "not base64!")],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    // No account anywhere.
    let out = ferry_env(&["inspect", "az://ferry-a/x/"], &key_env());
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("--azure-account"), "{}", text(&out));
}

#[test]
fn large_blobs_use_blocks() {
    let az = azurite();
    let ep = az.azure_endpoint();
    let tmp = tempfile::tempdir().unwrap();
    let backup = large_object_backup(tmp.path(), "lg", 70 * 1024 * 1024);
    let dest = format!("az://ferry-b/{}/", unique("lg"));
    ok(
        &[
            "migrate",
            backup.to_str().unwrap(),
            &dest,
            "--azure-endpoint",
            &ep,
        ],
        &key_env(),
    );
    let back = tmp.path().join("back");
    ok(
        &[
            "migrate",
            &dest,
            back.to_str().unwrap(),
            "--azure-endpoint",
            &ep,
        ],
        &key_env(),
    );
    assert_eq!(tree(&backup), tree(&back.join("lg")));
}

#[test]
fn interrupted_copy_resumes_with_nothing_partial() {
    let az = azurite();
    let ep = az.azure_endpoint();
    let tmp = tempfile::tempdir().unwrap();
    let backup = generate_backup(tmp.path(), "resume", 300, 6, 2048);
    let total = file_count(&backup) as u64;
    let folder = unique("resume");
    let dest = format!("az://ferry-a/{folder}/");
    let mut child = Command::new(ferry_bin())
        .args([
            "migrate",
            backup.to_str().unwrap(),
            &dest,
            "--azure-endpoint",
            &ep,
            "--concurrency",
            "1",
            "--quiet",
        ])
        .env("AZURE_STORAGE_KEY", AZURITE_KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let count = || -> u64 {
        let out = Command::new(servers::python())
            .args(["-c", "import sys; from azure.storage.blob import ContainerClient; c = ContainerClient(sys.argv[1], 'ferry-a', credential={'account_name': 'devstoreaccount1', 'account_key': sys.argv[2]}); print(sum(1 for _ in c.list_blobs(name_starts_with=sys.argv[3])))", &ep, AZURITE_KEY, &folder])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while count() < 100 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be interrupted"
        );
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let landed = count();
    assert!(landed < total, "{landed} of {total}");
    let doc = ok(
        &[
            "migrate",
            backup.to_str().unwrap(),
            &dest,
            "--azure-endpoint",
            &ep,
        ],
        &key_env(),
    );
    let t = &doc["backups"][0]["transfer"];
    assert_eq!(t["skipped"], landed, "{doc}");
    assert_eq!(t["copied"], total - landed);
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
}

#[test]
fn milvus_backup_config_azure_convention() {
    let az = azurite();
    let ep = az.azure_endpoint();
    let folder = unique("cfg");
    let root = format!("az://ferry-b/{folder}/backup/");
    ok(
        &[
            "migrate",
            sample_backup().to_str().unwrap(),
            &root,
            "--azure-endpoint",
            &ep,
        ],
        &key_env(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let v1 = tmp.path().join("backup.yaml");
    std::fs::write(
        &v1,
        format!("minio:\n  storageType: azure\n  address: core.windows.net\n  port: 443\n  accessKeyID: devstoreaccount1\n  secretAccessKey: {AZURITE_KEY}\n  useSSL: true\n  bucketName: milvus\n  backupBucketName: ferry-b\n  backupRootPath: {folder}/backup\n"),
    )
    .unwrap();
    let (code, doc) = ferry_json_env(
        &[
            "inspect",
            "--milvus-backup-config",
            v1.to_str().unwrap(),
            "--azure-endpoint",
            &ep,
        ],
        &[],
    );
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["backups"][0]["inventory"]["total_entities"], 3500);
    assert!(!doc.to_string().contains(AZURITE_KEY));
}

#[test]
fn bearer_token_over_https_with_a_private_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, ca) = azurite_https_oauth(tmp.path());
    let ep = format!("https://127.0.0.1:{}/devstoreaccount1", server.port);
    let token = azurite_token(3600);
    let ca = ca.to_str().unwrap();
    let dest = format!("az://ferry-tls/{}/", unique("oauth"));
    let sample = sample_backup();
    let doc = ok(
        &[
            "migrate",
            sample.to_str().unwrap(),
            &dest,
            "--azure-endpoint",
            &ep,
            "--azure-ca-cert",
            ca,
        ],
        &[("AZURE_STORAGE_TOKEN", token.as_str())],
    );
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    assert_eq!(doc["backups"][0]["transfer"]["server_side"], 0);
    assert!(!doc.to_string().contains(&token));
    // A token Azurite does not accept, and an https endpoint without the CA.
    let out = ferry_env(
        &[
            "inspect",
            &dest,
            "--azure-endpoint",
            &ep,
            "--azure-ca-cert",
            ca,
            "--azure-bearer-token",
            "not-a-jwt",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(!text(&out).contains("not-a-jwt"));
    let out = ferry_env(
        &["inspect", &dest, "--azure-endpoint", &ep],
        &[("AZURE_STORAGE_TOKEN", token.as_str())],
    );
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).contains("certificate"), "{}", text(&out));
}
