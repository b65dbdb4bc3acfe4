//! Faults between Ferry and a real S3 server (s3s-fs on 127.0.0.1, behind a fault-injecting
//! HTTP proxy): transient faults are retried to a byte-identical, verified copy; persistent ones
//! fail naming the objects not copied, leave no meta and nothing partial, and `jobs resume`
//! completes the job once the fault is gone. A full local disk fails cleanly and resumes.

mod support;

use std::path::Path;
use std::process::Command;

use support::faults::{FaultProxy, Mode};
use support::servers::{s3s, start_s3s, unique, unused_port, S3S_KEY, S3S_SECRET};
use support::*;

fn keys() -> Vec<(&'static str, &'static str)> {
    vec![
        ("AWS_ACCESS_KEY_ID", S3S_KEY),
        ("AWS_SECRET_ACCESS_KEY", S3S_SECRET),
    ]
}

fn with_state(state: &str) -> Vec<(&'static str, &str)> {
    let mut env = keys();
    env.push(("FERRY_STATE_DIR", state));
    env
}

#[test]
fn transient_faults_are_retried_to_an_identical_copy() {
    let s3s = s3s();
    let tmp = tempfile::tempdir().unwrap();
    // 2,100 objects.
    let backup = generate_backup(tmp.path(), "faulty", 350, 6, 2048);
    let total = file_count(&backup) as u64;
    for (i, mode) in [
        Mode::Throttle(7),
        Mode::Truncate(9),
        Mode::Reset(11),
        Mode::Stall(13, 300),
    ]
    .into_iter()
    .enumerate()
    {
        let proxy = FaultProxy::start(s3s.port, mode);
        let folder = unique(&format!("fault{i}"));
        let via_proxy = format!("minio://127.0.0.1:{}/bkt1/{folder}/", proxy.port);
        let direct = format!("minio://127.0.0.1:{}/bkt1/{folder}/", s3s.port);
        let (code, doc) = ferry_json_env(
            &[
                "migrate",
                backup.to_str().unwrap(),
                &via_proxy,
                "--concurrency",
                "8",
            ],
            &keys(),
        );
        assert_eq!(code, 0, "{mode:?}: {doc}");
        assert_eq!(doc["backups"][0]["transfer"]["copied"], total, "{mode:?}");
        assert!(
            proxy.injected.load(std::sync::atomic::Ordering::SeqCst) > 0,
            "{mode:?} injected nothing"
        );
        // Read back around the proxy: every byte is right.
        let (code, v) = ferry_json_env(
            &["verify", backup.to_str().unwrap(), &direct, "--deep"],
            &keys(),
        );
        assert_eq!(code, 0, "{mode:?}: {v}");
        assert_eq!(v["backups"][0]["checksums_compared"], total);
        // And downloads through the same faults.
        let back = tmp.path().join(format!("back{i}"));
        let (code, doc) = ferry_json_env(
            &[
                "migrate",
                &via_proxy,
                back.to_str().unwrap(),
                "--concurrency",
                "8",
            ],
            &keys(),
        );
        assert_eq!(code, 0, "{mode:?} download: {doc}");
        assert_eq!(tree(&backup), tree(&back.join("faulty")), "{mode:?}");
    }
}

#[test]
fn large_objects_survive_truncated_and_reset_transfers() {
    let s3s = s3s();
    let tmp = tempfile::tempdir().unwrap();
    // One 70 MiB object: nine multipart parts up, nine ranged reads in parallel down.
    let backup = large_object_backup(tmp.path(), "big", 70 * 1024 * 1024);
    for (i, mode) in [Mode::Truncate(4), Mode::Reset(5)].into_iter().enumerate() {
        let proxy = FaultProxy::start(s3s.port, mode);
        let folder = unique(&format!("bigfault{i}"));
        let via_proxy = format!("minio://127.0.0.1:{}/bkt1/{folder}/", proxy.port);
        let direct = format!("minio://127.0.0.1:{}/bkt1/{folder}/", s3s.port);
        let (code, doc) =
            ferry_json_env(&["migrate", backup.to_str().unwrap(), &via_proxy], &keys());
        assert_eq!(code, 0, "{mode:?}: {doc}");
        assert!(
            proxy.injected.load(std::sync::atomic::Ordering::SeqCst) > 0,
            "{mode:?} injected nothing"
        );
        let (code, v) = ferry_json_env(
            &["verify", backup.to_str().unwrap(), &direct, "--deep"],
            &keys(),
        );
        assert_eq!(code, 0, "{mode:?}: {v}");
        let back = tmp.path().join(format!("back{i}"));
        let (code, doc) = ferry_json_env(&["migrate", &via_proxy, back.to_str().unwrap()], &keys());
        assert_eq!(code, 0, "{mode:?} download: {doc}");
        assert_eq!(tree(&backup), tree(&back.join("big")), "{mode:?}");
        // The download went as parallel ranged reads of 8 MiB (at least nine for 70 MiB,
        // more when a fault made one range be read again).
        let ranged_binlog_reads = proxy
            .ranged
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line.starts_with("GET") && line.contains("/insert_log/"))
            .count();
        assert!(
            ranged_binlog_reads >= 9,
            "{mode:?}: {ranged_binlog_reads} ranged reads of the binlog"
        );
    }
}

#[test]
fn persistent_faults_fail_cleanly_and_resume_completes() {
    let s3s = s3s();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    let backup = generate_backup(tmp.path(), "stuck", 8, 3, 2048);
    let proxy = FaultProxy::start(s3s.port, Mode::FailWrites);
    let folder = unique("stuck");
    let via_proxy = format!("minio://127.0.0.1:{}/bkt2/{folder}/", proxy.port);
    let direct = format!("minio://127.0.0.1:{}/bkt2/{folder}/", s3s.port);
    let (code, doc) = ferry_json_env(
        &[
            "migrate",
            backup.to_str().unwrap(),
            &via_proxy,
            "--attempts",
            "2",
            "--job-name",
            "stuck",
        ],
        &with_state(state),
    );
    assert_eq!(code, 9, "{doc}");
    let message = doc["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("were not copied") && message.contains("binlogs/insert_log/"),
        "{message}"
    );
    let t = &doc["backups"][0]["transfer"];
    assert_eq!(t["copied"], 0);
    assert!(!t["failed"].as_array().unwrap().is_empty());
    // Nothing under a final key: no backup at the destination, not even partly.
    let (code, inv) = ferry_json_env(&["inspect", &direct], &keys());
    assert_eq!(code, 6, "{inv}");
    // The job says so, and resumes once the fault is gone.
    let (code, shown) = ferry_json_env(&["jobs", "show", "stuck"], &with_state(state));
    assert_eq!(code, 0);
    assert_eq!(shown["state"], "failed");
    assert!(!shown["errors"].as_array().unwrap().is_empty());
    proxy.set(Mode::Pass);
    let (code, doc) = ferry_json_env(&["jobs", "resume", "stuck"], &with_state(state));
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    let (code, _) = ferry_json_env(
        &["verify", backup.to_str().unwrap(), &direct, "--deep"],
        &keys(),
    );
    assert_eq!(code, 0);
}

fn mount_tmpfs(dir: &Path, size: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .output()
        .expect("mount");
    assert!(
        out.status.success(),
        "this test mounts a small tmpfs (needs root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_full_disk_fails_cleanly_and_resumes_after_space_is_freed() {
    let tmp = tempfile::tempdir().unwrap();
    let backup = generate_backup(tmp.path(), "big", 20, 4, 64 * 1024);
    let mnt = tmp.path().join("small-disk");
    mount_tmpfs(&mnt, "8m");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&mnt);
    // 5.5 MiB of filler leaves less room than the backup's 5 MiB.
    std::fs::write(mnt.join("filler"), vec![7u8; 5 * 1024 * 1024 + 512 * 1024]).unwrap();
    let dest = mnt.join("dest");
    let state = tmp.path().join("state");
    let env = [("FERRY_STATE_DIR", state.to_str().unwrap())];
    let out = ferry_env(
        &[
            "migrate",
            backup.to_str().unwrap(),
            dest.to_str().unwrap(),
            "--job-name",
            "disk",
        ],
        &env,
    );
    assert_eq!(out.status.code(), Some(9), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("free space") || t.contains("No space"), "{t}");
    assert!(
        !dest.join(".ferry-partial").exists() || file_count(&dest.join(".ferry-partial")) == 0,
        "no staged leftovers"
    );
    assert!(
        !dest.join("big/meta").exists(),
        "no meta over incomplete data"
    );
    let source_tree = tree(&backup);
    for (k, v) in tree(&dest.join("big")) {
        assert_eq!(source_tree.get(&k), Some(&v), "{k} is partial");
    }
    std::fs::remove_file(mnt.join("filler")).unwrap();
    let (code, doc) = ferry_json_env(&["jobs", "resume", "disk"], &env);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(tree(&backup), tree(&dest.join("big")));
}

#[test]
fn a_server_restarted_mid_migration_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("s3data");
    let port = unused_port();
    let server = start_s3s(port, &data);
    let backup = generate_backup(tmp.path(), "restart", 200, 6, 8 * 1024);
    let state = tmp.path().join("state");
    let state = state.to_str().unwrap();
    let dest = format!("minio://127.0.0.1:{port}/bkt1/{}/", unique("restart"));
    let mut child = Command::new(ferry_bin())
        .args([
            "migrate",
            backup.to_str().unwrap(),
            &dest,
            "--concurrency",
            "2",
            "--quiet",
            "--job-name",
            "restart",
        ])
        .env("AWS_ACCESS_KEY_ID", S3S_KEY)
        .env("AWS_SECRET_ACCESS_KEY", S3S_SECRET)
        .env("FERRY_STATE_DIR", state)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while file_count(&data.join("bkt1")) < 150 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the restart"
        );
        assert!(std::time::Instant::now() < deadline, "no progress");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    server.kill();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let server = start_s3s(port, &data);
    let status = child.wait().unwrap();
    // Retries may have carried the migration through the outage; if not, resume completes it.
    if !status.success() {
        let (code, doc) = ferry_json_env(&["jobs", "resume", "restart"], &with_state(state));
        assert_eq!(code, 0, "{doc}");
    }
    let (code, v) = ferry_json_env(
        &["verify", backup.to_str().unwrap(), &dest, "--deep"],
        &keys(),
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["backups"][0]["checksums_compared"],
        file_count(&backup) as u64
    );
    server.kill();
}
