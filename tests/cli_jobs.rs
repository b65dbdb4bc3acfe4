//! Durable jobs: every migration is recorded; a killed one shows `interrupted` and `jobs resume`
//! completes it copying only what is missing; `jobs cancel` stops a running one from another
//! process; two processes never run one job; the job database never holds a secret.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::servers::{s3s, unique, S3S_KEY, S3S_SECRET};
use support::*;

fn state_env(dir: &Path) -> Vec<(&'static str, String)> {
    vec![("FERRY_STATE_DIR", dir.to_str().unwrap().to_string())]
}

fn refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, s)| (*k, s.as_str())).collect()
}

fn jobs_json(state: &Path, args: &[&str]) -> (i32, Value) {
    let mut all = vec!["jobs"];
    all.extend_from_slice(args);
    ferry_json_env(&all, &refs(&state_env(state)))
}

fn spawn_migrate(state: &Path, source: &Path, dest: &Path, extra: &[&str]) -> Child {
    Command::new(ferry_bin())
        .args([
            "migrate",
            source.to_str().unwrap(),
            dest.to_str().unwrap(),
            "--concurrency",
            "1",
            "--quiet",
        ])
        .args(extra)
        .env("FERRY_STATE_DIR", state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_for_files(dir: &Path, n: usize, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while file_count(dir) < n {
        assert!(
            child.try_wait().unwrap().is_none(),
            "ferry finished before it could be stopped"
        );
        assert!(Instant::now() < deadline, "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn only_job(state: &Path) -> Value {
    let (code, list) = jobs_json(state, &["list"]);
    assert_eq!(code, 0, "{list}");
    let jobs = list.as_array().unwrap();
    assert_eq!(jobs.len(), 1, "{list}");
    jobs[0].clone()
}

#[test]
fn killed_job_is_interrupted_and_resume_copies_only_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let backup = generate_backup(&tmp.path().join("src"), "jobbed", 500, 6, 8 * 1024);
    let total = file_count(&backup) as u64;
    let dest = tmp.path().join("dest");
    let mut child = spawn_migrate(&state, &backup, &dest, &["--job-name", "nightly"]);
    wait_for_files(&dest.join("jobbed/binlogs"), 200, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    let landed = file_count(&dest.join("jobbed")) as u64;

    let job = only_job(&state);
    assert_eq!(job["state"], "interrupted", "{job}");
    assert_eq!(job["name"], "nightly");
    let id = job["id"].as_str().unwrap().to_string();
    let (code, shown) = jobs_json(&state, &["show", &id[..6]]);
    assert_eq!(code, 0, "{shown}");
    assert_eq!(shown["objects_total"], total);
    assert!(
        shown["objects_done"].as_u64().unwrap() <= landed,
        "the journal never claims more than landed"
    );

    // Resume by name: copies exactly what is missing, then verifies.
    let (code, doc) = jobs_json(&state, &["resume", "nightly"]);
    assert_eq!(code, 0, "{doc}");
    let t = &doc["backups"][0]["transfer"];
    assert_eq!(t["skipped"], landed);
    assert_eq!(t["copied"], total - landed);
    assert_eq!(doc["backups"][0]["verify"]["identical"], true);
    assert_eq!(doc["job_id"], id.as_str());
    assert_eq!(tree(&backup), tree(&dest.join("jobbed")));
    let (_, shown) = jobs_json(&state, &["show", &id]);
    assert_eq!(shown["state"], "succeeded");
    assert_eq!(shown["objects_done"], total);
    // Human `show` gives entities per collection on both sides and where the backup is.
    let out = ferry_env(&["jobs", "show", &id], &refs(&state_env(&state)));
    let t = text(&out);
    assert!(
        t.contains("succeeded") && t.contains("default.generated") && t.contains("yes"),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "migrated backup folder: {}",
            dest.join("jobbed").display()
        )),
        "{t}"
    );
    // A succeeded job is not resumed; rm and prune.
    let (code, _) = jobs_json(&state, &["resume", &id]);
    assert_eq!(code, 7);
    let out = ferry_env(
        &["jobs", "prune", "--older-than", "1d"],
        &refs(&state_env(&state)),
    );
    assert!(out.status.success());
    assert!(text(&out).contains("Removed 0 jobs"));
    let out = ferry_env(&["jobs", "rm", &id], &refs(&state_env(&state)));
    assert!(out.status.success(), "{}", text(&out));
    let (_, list) = jobs_json(&state, &["list"]);
    assert!(list.as_array().unwrap().is_empty());
}

#[test]
fn cancel_from_another_process_and_no_second_runner() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let backup = generate_backup(&tmp.path().join("src"), "long", 500, 6, 8 * 1024);
    let dest = tmp.path().join("dest");
    let mut child = spawn_migrate(&state, &backup, &dest, &[]);
    wait_for_files(&dest.join("long/binlogs"), 100, &mut child);
    let job = only_job(&state);
    assert_eq!(job["state"], "running");
    let id = job["id"].as_str().unwrap().to_string();
    // A second process cannot take the running job.
    let out = ferry_env(&["jobs", "resume", &id], &refs(&state_env(&state)));
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    assert!(
        text(&out).contains("is running in process"),
        "{}",
        text(&out)
    );
    // Cancel it from here.
    let out = ferry_env(&["jobs", "cancel", &id], &refs(&state_env(&state)));
    assert!(out.status.success(), "{}", text(&out));
    let first = child.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(130), "{}", text(&first));
    assert!(
        text(&first).contains(&format!("ferry jobs resume {id}")),
        "{}",
        text(&first)
    );
    let (_, shown) = jobs_json(&state, &["show", &id]);
    assert_eq!(shown["state"], "cancelled");
    assert!(!dest.join(".ferry-partial").exists(), "nothing partial");
    assert!(!dest.join("long/meta/full_meta.json").exists());
    // And it resumes.
    let (code, doc) = jobs_json(&state, &["resume", &id]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(tree(&backup), tree(&dest.join("long")));
}

#[test]
fn json_events_and_no_secret_in_the_job_store() {
    let s3s = s3s();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let dest = format!("minio://127.0.0.1:{}/bkt2/{}/", s3s.port, unique("jobs"));
    let secret = "SK";
    let mut env = state_env(&state);
    env.push(("AWS_ACCESS_KEY_ID", S3S_KEY.to_string()));
    env.push(("AWS_SECRET_ACCESS_KEY", S3S_SECRET.to_string()));
    let out = ferry_env(
        &[
            "migrate",
            sample_backup().to_str().unwrap(),
            &dest,
            "--json",
        ],
        &refs(&env),
    );
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines.first().unwrap()["event"], "job");
    assert!(lines.iter().any(|l| l["event"] == "backup_started"));
    assert_eq!(
        lines
            .iter()
            .filter(|l| l["event"] == "object_copied")
            .count(),
        37
    );
    assert_eq!(lines.last().unwrap()["event"], "finished");
    assert_eq!(lines.last().unwrap()["ok"], true);
    // The secret key "SK" is two letters: look for the configured one in its stored forms.
    let db = std::fs::read(state.join("jobs.sqlite3")).unwrap();
    let wal = std::fs::read(state.join("jobs.sqlite3-wal")).unwrap_or_default();
    for bytes in [db, wal] {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("secret_access_key") && !text.contains(&format!("\"{secret}\"")),
            "a secret reached the job store"
        );
    }
    // A run with a long, unmistakable secret and a session token.
    let mut env = state_env(&state);
    env.push(("AWS_ACCESS_KEY_ID", S3S_KEY.to_string()));
    env.push((
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY".to_string(),
    ));
    env.push(("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN".to_string()));
    let _ = ferry_env(
        &[
            "migrate",
            sample_backup().to_str().unwrap(),
            &format!("{dest}again/"),
        ],
        &refs(&env),
    );
    for file in ["jobs.sqlite3", "jobs.sqlite3-wal"] {
        let bytes = std::fs::read(state.join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("wJalrXUtnFEMI") && !text.contains("FwoGZXIvYXdz"),
            "{file} holds a secret"
        );
    }
    let (code, list) = jobs_json(&state, &["list"]);
    assert_eq!(code, 0);
    assert_eq!(list.as_array().unwrap().len(), 2);
}

#[test]
fn no_job_records_nothing_and_still_resumes_by_rerunning() {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let dest = tmp.path().join("dest");
    let env = state_env(&state);
    let sample = sample_backup();
    let args = [
        "migrate",
        sample.to_str().unwrap(),
        dest.to_str().unwrap(),
        "--no-job",
        "--json",
    ];
    let out = ferry_env(&args, &refs(&env));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("\"event\":\"job\""), "{stdout}");
    let (code, doc) = jobs_json(&state, &["list"]);
    assert_eq!(code, 0);
    assert_eq!(doc.as_array().map(Vec::len), Some(0), "{doc}");
    // The same command again finds everything in place.
    let out = ferry_env(&args, &refs(&env));
    assert!(out.status.success());
    let report = last_json(&String::from_utf8_lossy(&out.stdout), &out);
    assert_eq!(report["backups"][0]["plan"]["skip"], 37, "{report}");
}

#[test]
fn a_migration_refused_before_copying_offers_no_resume() {
    let state = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    let missing = state.path().join("nope");
    let out = ferry_env(
        &[
            "migrate",
            missing.to_str().unwrap(),
            dest.path().to_str().unwrap(),
        ],
        &refs(&state_env(state.path())),
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("does not exist"), "{t}");
    assert!(!t.contains("resume"), "nothing to resume: {t}");
    // The job is recorded as failed, with the reason in its error log.
    let job = only_job(state.path());
    assert_eq!(job["state"], "failed", "{job}");
    let (_, shown) = jobs_json(state.path(), &["show", job["id"].as_str().unwrap()]);
    assert!(
        shown["errors"].to_string().contains("does not exist"),
        "{shown}"
    );
}
