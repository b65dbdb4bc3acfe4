//! S3 credentials against moto with signature checking on: long-term keys, session tokens,
//! AssumeRole (flag and profile), credentials that expire during a copy, and every refusal with
//! a clear error that names the side and what to check. No secret ever appears in the output.

mod support;

use support::servers::{assume_role, moto, moto_open, unique};
use support::*;

fn endpoint() -> String {
    moto().server.endpoint()
}

/// Output text of a ferry run, checked for secrets.
fn run(args: &[&str], env: &[(&str, &str)], secrets: &[&str]) -> (i32, String) {
    let out = ferry_env(args, env);
    let t = text(&out);
    for s in secrets {
        assert!(!t.contains(s), "a secret leaked into the output:\n{t}");
    }
    (out.status.code().unwrap_or(-1), t)
}

#[test]
fn long_term_keys_and_session_tokens() {
    let m = moto();
    let (ak, sk) = m.admin();
    let folder = unique("keys");
    let dest = format!("s3://ferry-a/{folder}/");
    let ep = endpoint();
    let sample = sample_backup();
    let sample = sample.to_str().unwrap();
    // Long-term keys as flags (debug logs on: still no secret).
    let (code, t) = run(
        &[
            "migrate",
            sample,
            &dest,
            "--s3-endpoint",
            &ep,
            "--s3-access-key-id",
            &ak,
            "--s3-secret-access-key",
            &sk,
            "-vv",
        ],
        &[("RUST_LOG", "debug")],
        &[&sk],
    );
    assert_eq!(code, 0, "{t}");

    // Temporary credentials with their session token, given through the environment.
    let (tk, ts, token) = assume_role(m);
    assert!(tk.starts_with("ASIA"), "{tk}");
    let env = [
        ("AWS_ACCESS_KEY_ID", tk.as_str()),
        ("AWS_SECRET_ACCESS_KEY", ts.as_str()),
        ("AWS_SESSION_TOKEN", token.as_str()),
        ("RUST_LOG", "debug"),
    ];
    let dest2 = format!("s3://ferry-a/{folder}-tmp/");
    let (code, t) = run(
        &["migrate", sample, &dest2, "--s3-endpoint", &ep, "--json"],
        &env,
        &[&ts, &token],
    );
    assert_eq!(code, 0, "{t}");

    // The same key without its token is refused, naming the destination and the token.
    let env = [
        ("AWS_ACCESS_KEY_ID", tk.as_str()),
        ("AWS_SECRET_ACCESS_KEY", ts.as_str()),
    ];
    let (code, t) = run(
        &[
            "migrate",
            sample,
            &format!("s3://ferry-a/{folder}-notoken/"),
            "--s3-endpoint",
            &ep,
        ],
        &env,
        &[&ts],
    );
    assert_eq!(code, 5, "{t}");
    assert!(
        t.contains("destination") && t.contains("session token"),
        "{t}"
    );

    // A wrong secret.
    let env = [
        ("AWS_ACCESS_KEY_ID", ak.as_str()),
        ("AWS_SECRET_ACCESS_KEY", "wrong-secret-value"),
    ];
    let (code, t) = run(
        &["inspect", &dest, "--s3-endpoint", &ep],
        &env,
        &["wrong-secret-value"],
    );
    assert_eq!(code, 5, "{t}");
    assert!(
        t.contains("SignatureDoesNotMatch")
            && t.contains("secret access key")
            && t.contains("location"),
        "{t}"
    );

    // An unknown key id, on the source side of a copy.
    let env = [
        ("FERRY_SRC_AWS_ACCESS_KEY_ID", "AKIAUNKNOWN0000000000"),
        ("FERRY_SRC_AWS_SECRET_ACCESS_KEY", "x"),
    ];
    let out = tempfile::tempdir().unwrap();
    let (code, t) = run(
        &[
            "migrate",
            &dest,
            out.path().to_str().unwrap(),
            "--src-s3-endpoint",
            &ep,
        ],
        &env,
        &[],
    );
    assert_eq!(code, 5, "{t}");
    assert!(
        t.contains("the source") && t.contains("InvalidAccessKeyId"),
        "{t}"
    );
}

#[test]
fn assume_role_by_flag_and_by_profile() {
    let m = moto();
    let (ak, sk) = m.admin();
    let ep = endpoint();
    let role = m.role_arn();
    let folder = unique("role");
    let sample = sample_backup();
    let sample = sample.to_str().unwrap();
    let env = [
        ("AWS_ACCESS_KEY_ID", ak.as_str()),
        ("AWS_SECRET_ACCESS_KEY", sk.as_str()),
        ("AWS_ENDPOINT_URL_STS", ep.as_str()),
        ("AWS_REGION", "us-east-1"),
    ];
    let (code, t) = run(
        &[
            "migrate",
            sample,
            &format!("s3://ferry-a/{folder}/flag/"),
            "--s3-endpoint",
            &ep,
            "--s3-role-arn",
            &role,
            "--s3-session-name",
            "ferry-test",
            "--s3-external-id",
            "x-123",
        ],
        &env,
        &[&sk],
    );
    assert_eq!(code, 0, "{t}");

    // A profile with role_arn + source_profile, as operators keep in ~/.aws/config.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        format!("[base]\naws_access_key_id = {ak}\naws_secret_access_key = {sk}\n"),
    )
    .unwrap();
    std::fs::write(
        &config,
        format!("[profile ferry]\nrole_arn = {role}\nsource_profile = base\nregion = us-east-1\n"),
    )
    .unwrap();
    let env = [
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
        ("AWS_ENDPOINT_URL_STS", ep.as_str()),
    ];
    let dest = format!("s3://ferry-a/{folder}/profile/");
    let (code, t) = run(
        &[
            "migrate",
            sample,
            &dest,
            "--s3-endpoint",
            &ep,
            "--s3-profile",
            "ferry",
        ],
        &env,
        &[&sk],
    );
    assert_eq!(code, 0, "{t}");
    let (code, t) = run(
        &[
            "verify",
            sample,
            &dest,
            "--dst-s3-endpoint",
            &ep,
            "--dst-s3-profile",
            "ferry",
        ],
        &env,
        &[&sk],
    );
    assert_eq!(code, 0, "{t}");
}

#[test]
fn refusals_are_clear() {
    let m = moto();
    let ep = endpoint();
    let (ak, sk) = m.admin();
    let (rk, rs) = m.reader();
    let sample = sample_backup();
    let sample = sample.to_str().unwrap();
    let folder = unique("refuse");

    // Read-only credentials at the destination: permission denied, nothing complete written.
    let env = [
        ("AWS_ACCESS_KEY_ID", rk.as_str()),
        ("AWS_SECRET_ACCESS_KEY", rs.as_str()),
    ];
    let dest = format!("s3://ferry-a/{folder}/ro/");
    let (code, t) = run(
        &["migrate", sample, &dest, "--s3-endpoint", &ep],
        &env,
        &[&rs],
    );
    assert_eq!(code, 5, "{t}");
    assert!(
        t.contains("AccessDenied") || t.contains("not allowed"),
        "{t}"
    );
    let admin = [
        ("AWS_ACCESS_KEY_ID", ak.as_str()),
        ("AWS_SECRET_ACCESS_KEY", sk.as_str()),
    ];
    let (code, t) = run(&["inspect", &dest, "--s3-endpoint", &ep], &admin, &[]);
    assert_eq!(code, 6, "nothing was written: {t}");
    // The reader can read.
    let (code, t) = run(
        &[
            "migrate",
            sample,
            &format!("s3://ferry-a/{folder}/rw/"),
            "--s3-endpoint",
            &ep,
        ],
        &admin,
        &[],
    );
    assert_eq!(code, 0, "{t}");
    let (code, t) = run(
        &[
            "inspect",
            &format!("s3://ferry-a/{folder}/rw/"),
            "--s3-endpoint",
            &ep,
        ],
        &env,
        &[],
    );
    assert_eq!(code, 0, "{t}");

    // A destination bucket that does not exist.
    let (code, t) = run(
        &[
            "migrate",
            sample,
            "s3://no-such-bucket/x/",
            "--s3-endpoint",
            &ep,
        ],
        &admin,
        &[],
    );
    assert_eq!(code, 4, "{t}");
    assert!(
        t.contains("no-such-bucket") && t.contains("create it"),
        "{t}"
    );
    // A source bucket that does not exist.
    let out = tempfile::tempdir().unwrap();
    let (code, t) = run(
        &[
            "migrate",
            "s3://missing-source/x/",
            out.path().to_str().unwrap(),
            "--s3-endpoint",
            &ep,
        ],
        &admin,
        &[],
    );
    assert_eq!(code, 4, "{t}");
    assert!(
        t.contains("the source") && t.contains("missing-source"),
        "{t}"
    );

    // No credentials at all: aws-config's chain says what it tried.
    let (code, t) = run(&["inspect", &dest, "--s3-endpoint", &ep], &[], &[]);
    assert_eq!(code, 5, "{t}");
    assert!(
        t.contains("no usable S3 credentials") && t.contains("--s3-access-key-id"),
        "{t}"
    );

    // A secret in the URL is refused without being echoed.
    let (code, t) = run(
        &["inspect", "https://AKIAX:SUPERSECRET@s3.amazonaws.com/b/x/"],
        &[],
        &["SUPERSECRET"],
    );
    assert_eq!(code, 3, "{t}");
}

#[test]
fn credentials_that_expire_during_a_copy_are_refreshed() {
    let m = moto();
    let (ak, sk) = m.admin();
    let ep = endpoint();
    let tmp = tempfile::tempdir().unwrap();
    // 2,700 objects one at a time: long enough for several 3-second credential lifetimes.
    let backup = generate_backup(tmp.path(), "rotating", 450, 6, 1024);
    let total = file_count(&backup) as u64;
    let log = tmp.path().join("rotations.log");
    let script = repo_root().join("tests/servers/rotate_keys.py");
    let config = tmp.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile rotating]\ncredential_process = {} {} {ep} {ak} {sk} 3 {}\nregion = us-east-1\n",
            servers::python().display(),
            script.display(),
            log.display()
        ),
    )
    .unwrap();
    let dest = format!("s3://ferry-b/{}/", unique("rotating"));
    let env = [("AWS_CONFIG_FILE", config.to_str().unwrap())];
    let (code, doc) = ferry_json_env(
        &[
            "migrate",
            backup.to_str().unwrap(),
            &dest,
            "--s3-endpoint",
            &ep,
            "--s3-profile",
            "rotating",
            "--concurrency",
            "1",
        ],
        &env,
    );
    assert_eq!(code, 0, "{doc}");
    let t = &doc["backups"][0]["transfer"];
    assert_eq!(t["copied"], total, "every object copied once");
    assert_eq!(t["failed"].as_array().unwrap().len(), 0);
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    let rotations: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let deleted: usize = rotations
        .iter()
        .map(|r| r["deleted"].as_array().unwrap().len())
        .sum();
    assert!(
        rotations.len() >= 3,
        "credentials were refreshed {} times",
        rotations.len()
    );
    assert!(
        deleted >= 1,
        "old keys were retired during the copy: {rotations:?}"
    );
    assert!(!doc.to_string().contains(&sk));
}

#[test]
fn web_identity_token_file_with_role() {
    // moto checks no signatures on this instance (see moto_open): what is tested is Ferry's
    // exchange of the token file for credentials through STS, which fails loudly if broken.
    let server = moto_open();
    let ep = server.endpoint();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "eyJhbGciOiJSUzI1NiJ9.test-web-identity-token.sig").unwrap();
    let dest = format!("s3://ferry-open/{}/", unique("webid"));
    let sample = sample_backup();
    let role = "arn:aws:iam::123456789012:role/ferry-web";
    let env = [
        ("AWS_ENDPOINT_URL_STS", ep.as_str()),
        ("AWS_REGION", "us-east-1"),
    ];
    let (code, t) = run(
        &[
            "migrate",
            sample.to_str().unwrap(),
            &dest,
            "--s3-endpoint",
            &ep,
            "--s3-role-arn",
            role,
            "--s3-web-identity-token-file",
            token.to_str().unwrap(),
        ],
        &env,
        &["test-web-identity-token"],
    );
    assert_eq!(code, 0, "{t}");
    // A missing token file is a clear credentials error.
    let (code, t) = run(
        &[
            "inspect",
            &dest,
            "--s3-endpoint",
            &ep,
            "--s3-role-arn",
            role,
            "--s3-web-identity-token-file",
            "/nonexistent/token",
        ],
        &env,
        &[],
    );
    assert_eq!(code, 5, "{t}");
    assert!(t.contains("no usable S3 credentials"), "{t}");
    // The standard environment variables.
    let env = [
        ("AWS_ENDPOINT_URL_STS", ep.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token.to_str().unwrap()),
        ("AWS_ROLE_ARN", role),
    ];
    let (code, t) = run(
        &["inspect", &dest, "--s3-endpoint", &ep],
        &env,
        &["test-web-identity-token"],
    );
    assert_eq!(code, 0, "{t}");
}

/// A listener on loopback that counts the connections it accepts (and closes each at once):
/// where the EC2 instance metadata service would be.
fn counting_listener() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    (endpoint, count)
}

#[test]
fn the_instance_metadata_service_is_asked_only_when_allowed() {
    let sample = sample_backup();
    let (imds, contacted) = counting_listener();
    // No region, no credentials, no profile; metadata lookups not switched off, but pointed at
    // the counting listener instead of 169.254.169.254.
    let env = [
        ("AWS_EC2_METADATA_DISABLED", "false"),
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.as_str()),
    ];
    let dest = format!("s3://ferry-b/{}/", unique("imds"));
    let out = ferry_env(&["migrate", sample.to_str().unwrap(), &dest], &env);
    let t = text(&out);
    assert_ne!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("pass --s3-region"), "says what to set: {t}");
    assert!(!t.contains("SdkBody"), "no library debug structure: {t}");
    assert_eq!(
        contacted.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "the metadata service was contacted though nobody asked: {t}"
    );
    // Asked for (--s3-imds), it is contacted: the listener does see such requests.
    let out = ferry_env(
        &["migrate", sample.to_str().unwrap(), &dest, "--s3-imds"],
        &env,
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        contacted.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "--s3-imds did not reach the metadata endpoint: {}",
        text(&out)
    );
}
