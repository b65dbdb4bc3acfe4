//! No secret in anything Ferry prints, logs or stores: migrations with S3 keys and session
//! tokens (moto), an Azure account key and a SAS (Azurite), a GCS token (fake-gcs-server), at
//! `trace` log level and with `--json`; every byte of output and of the job database is searched.

mod support;

use support::servers::{assume_role, azurite, azurite_setup, fake_gcs, moto, unique, AZURITE_KEY};
use support::*;

#[test]
fn no_secret_in_output_logs_or_job_store() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let state_s = state.to_str().unwrap().to_string();
    let sample = sample_backup();
    let sample = sample.to_str().unwrap();
    let mut secrets: Vec<String> = Vec::new();
    let mut printed = String::new();
    let mut run = |args: &[&str], env: &[(&str, &str)]| {
        let mut all_env = env.to_vec();
        all_env.push(("RUST_LOG", "trace"));
        all_env.push(("FERRY_STATE_DIR", &state_s));
        let mut with_json = args.to_vec();
        with_json.push("--json");
        for a in [args.to_vec(), with_json] {
            let out = ferry_env(&a, &all_env);
            assert!(out.status.success(), "{a:?}: {}", text(&out));
            printed.push_str(&text(&out));
        }
    };

    // S3: long-term keys, then temporary keys with their session token.
    let m = moto();
    let (ak, sk) = m.admin();
    let ep = m.server.endpoint();
    let (tk, ts, token) = assume_role(m);
    secrets.extend([sk.clone(), ts.clone(), token.clone()]);
    run(
        &[
            "migrate",
            sample,
            &format!("s3://ferry-a/{}/", unique("sec1")),
            "--s3-endpoint",
            &ep,
        ],
        &[("AWS_ACCESS_KEY_ID", &ak), ("AWS_SECRET_ACCESS_KEY", &sk)],
    );
    run(
        &[
            "migrate",
            sample,
            &format!("s3://ferry-a/{}/", unique("sec2")),
            "--s3-endpoint",
            &ep,
        ],
        &[
            ("AWS_ACCESS_KEY_ID", &tk),
            ("AWS_SECRET_ACCESS_KEY", &ts),
            ("AWS_SESSION_TOKEN", &token),
        ],
    );

    // Azure: the account key, then a SAS given in the URL.
    let az = azurite();
    let aep = az.azure_endpoint();
    let folder = unique("sec3");
    run(
        &[
            "migrate",
            sample,
            &format!("az://ferry-b/{folder}/"),
            "--azure-endpoint",
            &aep,
        ],
        &[("AZURE_STORAGE_KEY", AZURITE_KEY)],
    );
    let sas = azurite_setup(az, &["sas", "ferry-b", "racwl", "60"]);
    let sig = sas.split("sig=").nth(1).unwrap().to_string();
    secrets.extend([AZURITE_KEY.to_string(), sig.clone()]);
    run(
        &[
            "migrate",
            sample,
            &format!("https://devstoreaccount1.blob.core.windows.net/ferry-b/{folder}-sas/?{sas}"),
            "--azure-endpoint",
            &aep,
        ],
        &[],
    );

    // GCS: a token.
    let gcs = fake_gcs();
    let gtoken = "ya29.a0AfH6SMBsecret-gcs-token-value";
    secrets.push(gtoken.to_string());
    run(
        &[
            "migrate",
            sample,
            &format!("gs://ferry-gcs-a/{}/", unique("sec4")),
            "--gcs-endpoint",
            &gcs.endpoint(),
            "--gcs-token",
            gtoken,
        ],
        &[],
    );

    let mut stored = String::new();
    for file in ["jobs.sqlite3", "jobs.sqlite3-wal"] {
        stored.push_str(&String::from_utf8_lossy(
            &std::fs::read(state.join(file)).unwrap_or_default(),
        ));
    }
    assert!(printed.len() > 10_000, "trace logging produced output");
    for secret in &secrets {
        assert!(
            !printed.contains(secret.as_str()),
            "a secret was printed or logged"
        );
        assert!(
            !stored.contains(secret.as_str()),
            "a secret reached the job store"
        );
    }
}
