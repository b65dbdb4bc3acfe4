//! Vendor plugins through the C ABI, built the way vendors build them and loaded by the real
//! `ferry` binary: the WebDAV gateway plugin (Rust, SDK) against `rclone serve webdav` on
//! 127.0.0.1, the C plugin compiled here with `cc` against the committed header, and the
//! refusals (wrong ABI, a library that is not a plugin, missing files, scheme clashes, a
//! panicking plugin, a plugin failing writes). The misbehaving plugin (`faulty`) is a test
//! double by necessity: no real plugin panics on demand.

mod support;

use std::path::Path;

use serde_json::Value;
use support::plugins::{c_plugin, faulty_plugin, foreign_library, webdav_plugin};
use support::servers::rclone_webdav;
use support::*;

const DAV_USER: &str = "ferry";
const DAV_PASSWORD: &str = "dav-secret-7Q2";

fn dav_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("FERRY_WEBDAV_USER", DAV_USER),
        ("FERRY_WEBDAV_PASSWORD", DAV_PASSWORD),
    ]
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Files whose name starts with `prefix` anywhere under `root`.
fn leftovers(root: &Path, prefix: &str) -> Vec<String> {
    tree(root)
        .into_keys()
        .filter(|k| k.rsplit('/').next().unwrap_or_default().starts_with(prefix))
        .collect()
}

/// Runs the conformance kit through `ferry plugins check --plugin FILE LOCATION --json`.
fn kit_passes(plugin: &Path, location: &str, env: &[(&str, &str)]) -> Value {
    let (code, doc) = ferry_json_env(
        &[
            "plugins",
            "check",
            "--plugin",
            plugin.to_str().unwrap(),
            location,
        ],
        env,
    );
    let failed: Vec<&Value> = doc["checks"]
        .as_array()
        .map(|c| c.iter().filter(|r| r["passed"] != true).collect())
        .unwrap_or_default();
    assert_eq!(code, 0, "failed checks: {failed:#?}\n{doc}");
    assert_eq!(doc["passed"], true);
    assert!(doc["checks"].as_array().unwrap().len() >= 9, "{doc}");
    doc
}

/// local → plugin location → local, with deep verification both ways; the final copy is
/// byte-identical to the sample.
fn round_trip(plugin: &Path, remote: &str, env: &[(&str, &str)]) {
    let p = plugin.to_str().unwrap();
    let sample = sample_backup();
    let (code, doc) = ferry_json_env(
        &[
            "migrate",
            "--plugin",
            p,
            sample.to_str().unwrap(),
            remote,
            "--deep",
        ],
        env,
    );
    assert_eq!(code, 0, "{doc}");
    let out = ferry_env(
        &[
            "verify",
            "--plugin",
            p,
            sample.to_str().unwrap(),
            &format!("{remote}real_backup_1/"),
            "--deep",
        ],
        env,
    );
    assert!(out.status.success(), "{}", text(&out));
    let back = tempfile::tempdir().unwrap();
    let (code, doc) = ferry_json_env(
        &[
            "migrate",
            "--plugin",
            p,
            &format!("{remote}real_backup_1/"),
            back.path().to_str().unwrap(),
        ],
        env,
    );
    assert_eq!(code, 0, "{doc}");
    assert_eq!(tree(&sample), tree(&back.path().join("real_backup_1")));
}

#[test]
fn loaded_plugins_are_listed_with_file_abi_and_capabilities() {
    let tmp = tempfile::tempdir().unwrap();
    let cdir = c_plugin(tmp.path(), "libferry_cdir.so", &[]);
    let webdav = webdav_plugin();
    let (code, doc) = ferry_json(&[
        "plugins",
        "--plugin",
        webdav.to_str().unwrap(),
        "--plugin",
        cdir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{doc}");
    let plugins = doc.as_array().unwrap();
    let find = |name: &str| {
        plugins
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing: {doc}"))
    };
    let dav = find("webdav");
    assert_eq!(dav["schemes"], serde_json::json!(["webdav", "webdavs"]));
    assert_eq!(dav["origin"]["kind"], "loaded");
    assert_eq!(dav["origin"]["abi_version"], 1);
    assert_eq!(dav["origin"]["path"], webdav.to_str().unwrap());
    assert_eq!(dav["capabilities"]["atomic_write"], true);
    let c = find("cdir");
    assert_eq!(c["version"], "1.0.0");
    assert_eq!(c["capabilities"]["range_read"], true);
    assert_eq!(find("s3")["origin"]["kind"], "builtin");
    // The human table names the file too.
    let out = ferry(&["plugins", "--plugin", cdir.to_str().unwrap()]);
    assert!(
        text(&out).contains(&format!("loaded (ABI 1) from {}", cdir.display())),
        "{}",
        text(&out)
    );
}

#[test]
fn webdav_gateway_passes_the_kit_and_round_trips_the_sample() {
    let data = tempfile::tempdir().unwrap();
    let server = rclone_webdav(data.path(), DAV_USER, DAV_PASSWORD);
    let plugin = webdav_plugin();
    let env = dav_env();
    let base = format!("webdav://127.0.0.1:{}/", server.port);
    kit_passes(&plugin, &format!("{base}kit/"), &env);
    round_trip(&plugin, &format!("{base}backups/"), &env);
    // The copy really sits on the gateway's disk, and no staging file is left behind.
    assert_eq!(
        tree(&sample_backup()),
        tree(&data.path().join("backups/real_backup_1"))
    );
    assert!(leftovers(data.path(), ".ferry-partial-").is_empty());
}

#[test]
fn webdav_credentials_are_checked_and_never_shown() {
    let data = tempfile::tempdir().unwrap();
    let server = rclone_webdav(data.path(), DAV_USER, DAV_PASSWORD);
    let plugin = webdav_plugin();
    let location = format!("webdav://127.0.0.1:{}/x/", server.port);
    let p = plugin.to_str().unwrap();
    let wrong = "not-the-password-9z";
    let out = ferry_env(
        &["inspect", "--plugin", p, &location],
        &[
            ("FERRY_WEBDAV_USER", DAV_USER),
            ("FERRY_WEBDAV_PASSWORD", wrong),
        ],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(5), "{all}");
    assert!(
        all.contains("HTTP 401") && all.contains("FERRY_WEBDAV_PASSWORD"),
        "{all}"
    );
    assert!(!all.contains(wrong), "{all}");
    let out = ferry_env(
        &["inspect", "--plugin", p, &location],
        &[("FERRY_WEBDAV_USER", DAV_USER)],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("set both"), "{}", text(&out));
}

#[test]
fn c_plugin_passes_the_kit_and_round_trips_the_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = c_plugin(tmp.path(), "libferry_cdir.so", &[]);
    let store = tmp.path().join("store");
    kit_passes(&plugin, &format!("cdir://{}/kit/", store.display()), &[]);
    round_trip(
        &plugin,
        &format!("cdir://{}/backups/", store.display()),
        &[],
    );
    assert_eq!(
        tree(&sample_backup()),
        tree(&store.join("backups/real_backup_1"))
    );
    assert!(leftovers(&store, ".cdir-part-").is_empty());
}

#[test]
fn plugins_are_found_through_the_env_path_and_the_user_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let env_dir = tmp.path().join("env-plugins");
    std::fs::create_dir_all(&env_dir).unwrap();
    c_plugin(&env_dir, "libferry_cdir.so", &[]);
    let (code, doc) = ferry_json_env(
        &["plugins"],
        &[("FERRY_PLUGIN_PATH", env_dir.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{doc}");
    assert!(
        doc.as_array().unwrap().iter().any(|p| p["name"] == "cdir"),
        "{doc}"
    );

    // The per-user folder: a good plugin loads, a stale non-plugin is skipped with a warning.
    let data_home = tmp.path().join("data");
    let user_dir = data_home.join("ferry/plugins");
    std::fs::create_dir_all(&user_dir).unwrap();
    c_plugin(
        &user_dir,
        "libcdir2.so",
        &["CDIR_NAME=\"cdir2\"", "CDIR_SCHEME=\"cdirtwo\""],
    );
    std::fs::copy(foreign_library(), user_dir.join("libstale.so")).unwrap();
    let out = ferry_env(
        &["plugins", "--json"],
        &[("XDG_DATA_HOME", data_home.to_str().unwrap())],
    );
    assert!(out.status.success(), "{}", text(&out));
    let doc = last_json(&String::from_utf8_lossy(&out.stdout), &out);
    assert!(
        doc.as_array().unwrap().iter().any(|p| p["name"] == "cdir2"),
        "{doc}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: skipping the plugin") && stderr.contains("libstale.so"),
        "{stderr}"
    );
}

#[test]
fn libraries_that_do_not_fit_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let other_abi = c_plugin(tmp.path(), "libcdir_abi99.so", &["CDIR_ABI_VERSION=99"]);
    let out = ferry(&["plugins", "--plugin", other_abi.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("ABI version 99") && all.contains("speaks version 1"),
        "{all}"
    );
    assert!(all.contains("libcdir_abi99.so"), "{all}");

    let libz = foreign_library();
    let out = ferry(&["plugins", "--plugin", libz.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(
        all.contains("is not a Ferry plugin") && all.contains("libz"),
        "{all}"
    );

    let junk = tmp.path().join("libjunk.so");
    std::fs::write(&junk, b"\x7fELF but not really").unwrap();
    let out = ferry(&["plugins", "--plugin", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("cannot be loaded as a shared library"),
        "{}",
        text(&out)
    );

    let missing = tmp.path().join("libnothing.so");
    let out = ferry(&["inspect", "--plugin", missing.to_str().unwrap(), "."]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        text(&out).contains("libnothing.so") && text(&out).contains("--plugin"),
        "{}",
        text(&out)
    );
}

#[test]
fn scheme_clashes_are_refused_naming_both_files() {
    let tmp = tempfile::tempdir().unwrap();
    let takes_s3 = c_plugin(
        tmp.path(),
        "libevil.so",
        &["CDIR_NAME=\"evil\"", "CDIR_SCHEME=\"s3\""],
    );
    let out = ferry(&["plugins", "--plugin", takes_s3.to_str().unwrap()]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(7), "{all}");
    assert!(
        all.contains("built in")
            && all.contains("libevil.so")
            && all.contains("cannot be taken over"),
        "{all}"
    );

    let a = c_plugin(
        tmp.path(),
        "liba.so",
        &["CDIR_NAME=\"vendor_a\"", "CDIR_SCHEME=\"gw\""],
    );
    let b = c_plugin(
        tmp.path(),
        "libb.so",
        &["CDIR_NAME=\"vendor_b\"", "CDIR_SCHEME=\"gw\""],
    );
    let out = ferry(&[
        "plugins",
        "--plugin",
        a.to_str().unwrap(),
        "--plugin",
        b.to_str().unwrap(),
    ]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(7), "{all}");
    assert!(
        all.contains("liba.so") && all.contains("libb.so") && all.contains("\"gw\""),
        "{all}"
    );
}

#[test]
fn a_panicking_plugin_is_an_error_not_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = faulty_plugin();
    let p = plugin.to_str().unwrap();
    let store = tmp.path().join("store");
    let location = format!("faulty://{}/", store.display());
    let out = ferry(&[
        "migrate",
        "--plugin",
        p,
        sample_backup().to_str().unwrap(),
        &location,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let (code, doc) = ferry_json_env(
        &["inspect", "--plugin", p, &location],
        &[("FERRY_FAULTY_PANIC", "list")],
    );
    assert_eq!(code, 1, "{doc}");
    let message = doc["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("panicked") && message.contains("deliberate panic in list"),
        "{doc}"
    );
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("report this to its vendor"),
        "{doc}"
    );
    // A panic while reading during a copy stops the migration cleanly, with the same report.
    let dest = tmp.path().join("dest");
    let out = ferry_env(
        &[
            "migrate",
            "--plugin",
            p,
            &format!("{location}real_backup_1/"),
            dest.to_str().unwrap(),
        ],
        &[("FERRY_FAULTY_PANIC", "read")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("deliberate panic in read"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_keeps_using_a_plugin_after_it_panicked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut registry = ferry_core::Registry::empty();
    let info = ferry_plugin_host::load_into(&mut registry, &faulty_plugin()).unwrap();
    assert_eq!(info.name, "faulty");
    let location =
        ferry_core::Location::parse(&format!("faulty://{}/", tmp.path().display())).unwrap();
    let sink = registry.open_sink(&location).await.unwrap();
    let source = registry.open_source(&location).await.unwrap();
    let key = |k: &str| ferry_core::ObjectKey::new(k).unwrap();
    let err = source.stat(&key("a/panic-in-stat")).await.unwrap_err();
    assert_eq!(err.kind(), ferry_core::ErrorKind::Internal);
    assert!(err.to_string().contains("panicked"), "{err}");
    let body = futures::stream::iter(vec![Ok(bytes::Bytes::from_static(b"hello"))]);
    sink.write(&key("a/ok"), 5, Box::pin(body)).await.unwrap();
    assert_eq!(source.stat(&key("a/ok")).await.unwrap().unwrap().size, 5);
    let err = sink
        .write(
            &key("b/panic-in-write"),
            1,
            Box::pin(futures::stream::iter(vec![Ok(bytes::Bytes::from_static(
                b"x",
            ))])),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("panicked"), "{err}");
    assert!(source
        .stat(&key("b/panic-in-write"))
        .await
        .unwrap()
        .is_none());
}

#[test]
fn a_plugin_failing_writes_leaves_nothing_partial() {
    let tmp = tempfile::tempdir().unwrap();
    let plugin = faulty_plugin();
    let store = tmp.path().join("store");
    let out = ferry_env(
        &[
            "migrate",
            "--plugin",
            plugin.to_str().unwrap(),
            sample_backup().to_str().unwrap(),
            &format!("faulty://{}/", store.display()),
        ],
        &[("FERRY_FAULTY_FAIL_WRITE", "insert_log")],
    );
    let all = text(&out);
    assert_eq!(out.status.code(), Some(9), "{all}");
    assert!(all.contains("quota exceeded"), "{all}");
    let written = tree(&store);
    assert!(
        written.keys().all(|k| !k.contains("insert_log")),
        "{:?}",
        written.keys()
    );
    assert!(leftovers(&store, ".faulty-partial-").is_empty());
    // Whatever did land is complete: byte-identical to the source.
    let source = tree(&sample_backup());
    for (k, bytes) in &written {
        let rel = k.strip_prefix("real_backup_1/").unwrap_or(k);
        assert_eq!(source.get(rel), Some(bytes), "{k} differs from the source");
    }
}
