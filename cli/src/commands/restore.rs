//! `ferry migrate SOURCE milvus://…` (alias `ferry restore`) and `ferry verify SOURCE milvus://…`:
//! a backup restored into a Milvus cluster and proved there. The logic lives in `ferry-milvus`;
//! this module turns flags into its inputs and its reports into output.

use std::path::PathBuf;
use std::sync::Arc;

use ferry_core::backup::BackupRef;
use ferry_core::migrate::select_backups;
use ferry_core::transfer::ProgressSink;
use ferry_core::{Error, Location, Result, Side, Source};
use ferry_jobs::{ClaimedJob, JobOptions, JobState, RestoreJobOptions};
use ferry_milvus::checks::{check_collection, CheckContext, CollectionCheck};
use ferry_milvus::indexes::IndexMode;
use ferry_milvus::journal::FileJournal;
use ferry_milvus::plan::Selection;
use ferry_milvus::restore::{
    plan_backup, restore, Existing, RestoreOptions, RestoreReport, RestoreRequest, Staging,
};
use ferry_milvus::{ClusterUrl, Credentials, MilvusClient};
use serde::Serialize;

use crate::output::human::table;
use crate::output::print_json;
use crate::output::progress::Progress;
use crate::{exit, signals, stores, ClusterArgs, Context, IndexArg};

/// The credentials the flags and environment give; never printed.
fn credentials(args: &ClusterArgs) -> Result<Credentials> {
    match (&args.milvus_token, &args.milvus_user, &args.milvus_password) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(Error::invalid_input(
            "give either --milvus-token or --milvus-user/--milvus-password, not both",
        )),
        (Some(token), None, None) => Ok(Credentials::Token(token.clone())),
        (None, Some(user), Some(password)) => Ok(Credentials::Password {
            user: user.clone(),
            password: password.clone(),
        }),
        (None, Some(_), None) => Err(Error::invalid_input(
            "--milvus-user needs --milvus-password (or FERRY_MILVUS_PASSWORD)",
        )),
        (None, None, Some(_)) => Err(Error::invalid_input(
            "--milvus-password needs --milvus-user (or FERRY_MILVUS_USER)",
        )),
        (None, None, None) => Ok(Credentials::None),
    }
}

async fn connect(url: &ClusterUrl, args: &ClusterArgs) -> Result<MilvusClient> {
    let creds = credentials(args)?;
    Ok(MilvusClient::connect(url, &creds).await?)
}

/// The one backup at the source (`--backup` picks among several).
async fn one_backup(source: &dyn Source, names: &[String]) -> Result<BackupRef> {
    let (discovery, chosen) = select_backups(source, names).await?;
    match chosen.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(
            Error::not_found(format!("no backup at {}", source.location())).with_hint(
                "give a folder written by `milvus-backup create`, or a root holding one",
            ),
        ),
        many => Err(Error::invalid_input(format!(
            "{} holds {} backups ({}); a restore takes one: add --backup NAME",
            source.location(),
            many.len(),
            discovery
                .backups
                .iter()
                .map(|b| b.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn selection(args: &ClusterArgs, url: &ClusterUrl) -> Selection {
    Selection {
        collections: args.collections.clone(),
        renames: args.renames.clone(),
        database: url.database.clone(),
    }
}

/// Name of the temporary folder the binlogs are copied to in the server's storage.
fn temp_folder(backup: &str) -> String {
    format!("ferry-restore-{backup}")
}

/// How the server names `storage` (its root), ending with `/`: `--milvus-storage-path`, else the
/// absolute path of a local folder, else the key prefix inside the bucket.
fn server_root(storage: &Location, given: Option<&str>) -> Result<String> {
    let mut root = match given {
        Some(path) => path.to_string(),
        None if storage.is_local() => std::path::absolute(&storage.path)
            .map_err(|e| Error::from_io(e, format!("--milvus-storage {}", storage.path)))?
            .to_string_lossy()
            .into_owned(),
        None => storage.path.clone(),
    };
    if !root.is_empty() && !root.ends_with('/') {
        root.push('/');
    }
    Ok(root)
}

/// A stable journal path for this (cluster, backup): running the same command again after a
/// kill resumes from it.
fn journal_path(
    context: &Context,
    url: &ClusterUrl,
    source: &Location,
    backup: &str,
) -> Result<PathBuf> {
    use std::hash::{Hash, Hasher};
    let dir = context
        .state_dir
        .clone()
        .or_else(ferry_jobs::JobStore::default_dir)
        .ok_or_else(|| {
            Error::invalid_input("no state directory: set --state-dir, FERRY_STATE_DIR or HOME")
        })?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (url.endpoint(), source.to_string(), backup).hash(&mut h);
    Ok(dir
        .join("restores")
        .join(format!("{backup}-{:016x}.jsonl", h.finish())))
}

/// Where a finished job's journal is kept: `restores/done/<job id>.jsonl`.
pub fn done_journal(journal: &std::path::Path, job_id: &str) -> PathBuf {
    let done = journal
        .parent()
        .map(|p| p.join("done"))
        .unwrap_or_else(|| PathBuf::from("done"));
    let _ = std::fs::create_dir_all(&done);
    done.join(format!("{job_id}.jsonl"))
}

/// The steps of a restore job's collections, and its import requests, from its journal.
pub fn job_steps(stored: &RestoreJobOptions, job_id: &str) -> (Vec<(String, String)>, usize) {
    let live = std::path::Path::new(&stored.journal);
    let path = if live.exists() {
        live.to_path_buf()
    } else {
        done_journal(live, job_id)
    };
    let state = FileJournal::read(&path);
    (state.steps().into_iter().collect(), state.sent().len())
}

#[derive(Serialize)]
struct RestoreDocument<'a> {
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    #[serde(flatten)]
    report: &'a RestoreReport,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ferry_core::ErrorReport>,
}

/// Whether and how a restore is recorded as a job.
pub enum RestoreJob {
    /// Not recorded (`--no-job`).
    Unrecorded,
    /// A new job, optionally named.
    New(Option<String>),
    /// `ferry jobs resume`: the job claimed again.
    Resumed(ClaimedJob),
}

/// The stored options of a restore (no credentials).
fn job_options(
    args: &ClusterArgs,
    cluster: &str,
    backup: &str,
    journal: &std::path::Path,
) -> JobOptions {
    JobOptions {
        backups: vec![backup.to_string()],
        concurrency: None,
        attempts: 5,
        no_verify: false,
        deep: false,
        overwrite: false,
        restore: Some(RestoreJobOptions {
            cluster: cluster.to_string(),
            milvus_storage: args.milvus_storage.clone(),
            milvus_config: args.milvus_config.as_ref().map(|p| p.display().to_string()),
            milvus_storage_path: args.milvus_storage_path.clone(),
            collections: args.collections.clone(),
            renames: args.renames.clone(),
            drop_existing: args.drop_existing,
            skip_existing: args.skip_existing,
            index: match args.index {
                IndexArg::Backup => "backup",
                IndexArg::Auto => "auto",
                IndexArg::None => "none",
            }
            .to_string(),
            load: args.load,
            import_concurrency: args.import_concurrency,
            keep_temp: args.keep_temp,
            journal: journal.display().to_string(),
        }),
    }
}

/// The cluster as a job's destination (no credentials; the scheme says it is a cluster).
fn cluster_location(url: &ClusterUrl) -> Location {
    let mut l = Location::new(if url.tls { "milvuss" } else { "milvus" }, "cluster");
    l.bucket = Some(url.endpoint());
    l.path = url.database.clone().unwrap_or_default();
    l
}

/// The flags of a stored restore, with this run's credentials (flags are not given to `jobs
/// resume`: the environment's FERRY_MILVUS_* are read).
pub fn args_of(stored: &RestoreJobOptions) -> ClusterArgs {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    ClusterArgs {
        milvus_storage: stored.milvus_storage.clone(),
        milvus_config: stored.milvus_config.as_ref().map(PathBuf::from),
        milvus_storage_path: stored.milvus_storage_path.clone(),
        collections: stored.collections.clone(),
        renames: stored.renames.clone(),
        drop_existing: stored.drop_existing,
        skip_existing: stored.skip_existing,
        index: match stored.index.as_str() {
            "auto" => IndexArg::Auto,
            "none" => IndexArg::None,
            _ => IndexArg::Backup,
        },
        load: stored.load,
        import_concurrency: stored.import_concurrency.max(1),
        keep_temp: stored.keep_temp,
        milvus_user: env("FERRY_MILVUS_USER"),
        milvus_password: env("FERRY_MILVUS_PASSWORD"),
        milvus_token: env("FERRY_MILVUS_TOKEN"),
    }
}

/// Records the end of a restore job: its state, and every failed import task and the error in
/// its error log.
fn finish_job(
    job: &ClaimedJob,
    journal: &FileJournal,
    result: &Result<(RestoreReport, Option<Error>)>,
    cancel_asked: bool,
) {
    let store = job.store();
    for (collection, task, reason) in journal.state().failed_tasks() {
        let _ = store.log_error(
            job.id(),
            &format!("{collection}: import task {task} failed: {reason}"),
        );
    }
    let state = match result {
        Ok((_, None)) => JobState::Succeeded,
        Ok((_, Some(e))) => {
            let _ = store.log_error(job.id(), &e.to_string());
            JobState::Failed
        }
        Err(e) => {
            let _ = store.log_error(job.id(), &e.to_string());
            if e.kind() == ferry_core::ErrorKind::Interrupted {
                // Which imports the server had already been sent (they finish there; a resume
                // polls them instead of sending them again).
                let sent: Vec<String> = journal
                    .state()
                    .sent()
                    .into_iter()
                    .map(|(collection, group, tasks)| {
                        format!("{collection} group {group}: tasks {tasks:?}")
                    })
                    .collect();
                if !sent.is_empty() {
                    let _ = store.log_error(
                        job.id(),
                        &format!(
                            "import requests already sent when it stopped: {}",
                            sent.join("; ")
                        ),
                    );
                }
            }
            match e.kind() {
                ferry_core::ErrorKind::Interrupted if cancel_asked => JobState::Cancelled,
                ferry_core::ErrorKind::Interrupted => JobState::Interrupted,
                _ => JobState::Failed,
            }
        }
    };
    let _ = store.finish(job.id(), state, None);
}

/// `ferry migrate SOURCE milvus://…`.
#[allow(clippy::too_many_arguments)]
pub async fn run_restore(
    context: &Context,
    source_location: Location,
    cluster: &str,
    backups: &[String],
    args: &ClusterArgs,
    json: bool,
    quiet: bool,
    job: RestoreJob,
) -> Result<u8> {
    let url = ClusterUrl::parse(cluster)?;
    let config = args
        .milvus_config
        .as_deref()
        .map(ferry_core::milvus_config::read_milvus_storage)
        .transpose()?;
    let storage = match (&args.milvus_storage, &config) {
        (Some(text), _) => stores::parse(context, Some(Side::Destination), "--milvus-storage", text)?,
        (None, Some(config)) => {
            let mut location = config.location.clone();
            context.flags.configure(&mut location, Some(Side::Destination))?;
            location
        }
        (None, None) => {
            return Err(Error::invalid_input(format!(
                "restoring into {url} needs --milvus-storage LOCATION (where that Milvus reads its data: \
                 its bucket, e.g. s3://milvus-bucket/files/, or its local folder for storageType: local) \
                 or --milvus-config FILE (the milvus.yaml it runs with)"
            )))
        }
    };
    let server_path = args
        .milvus_storage_path
        .clone()
        .or_else(|| config.as_ref().map(|c| c.server_path.clone()));
    let source = stores::open_source_at(context, "source", &source_location).await?;
    let backup = one_backup(source.as_ref(), backups).await?;
    let client = connect(&url, args).await?;
    let root = server_root(&storage, server_path.as_deref())?;
    let temp = temp_folder(&backup.name);
    let sink = stores::open_destination_at(context, storage.child(&temp)?).await?;
    let journal_file = journal_path(context, &url, &source_location, &backup.name)?;
    let journal = FileJournal::open(&journal_file)?;
    let job = match job {
        RestoreJob::Unrecorded => None,
        RestoreJob::Resumed(job) => Some(job),
        RestoreJob::New(name) => {
            let options = job_options(args, cluster, &backup.name, &journal_file);
            let attempt = || -> Result<ClaimedJob> {
                let store = stores::open_job_store(context)?;
                ClaimedJob::create(
                    store,
                    name.as_deref(),
                    &source_location,
                    &cluster_location(&url),
                    &options,
                )
            };
            match attempt() {
                Ok(job) => Some(job),
                Err(e) => {
                    eprintln!("ferry: warning: this restore is not recorded as a job ({e}); it runs anyway");
                    None
                }
            }
        }
    };
    if let (Some(job), false) = (&job, json) {
        println!("Job {}", job.id());
    }
    let options = RestoreOptions {
        selection: selection(args, &url),
        existing: if args.drop_existing {
            Existing::Drop
        } else if args.skip_existing {
            Existing::Skip
        } else {
            Existing::Refuse
        },
        index: match args.index {
            IndexArg::Backup => IndexMode::Backup,
            IndexArg::Auto => IndexMode::Auto,
            IndexArg::None => IndexMode::None,
        },
        load: args.load,
        import_concurrency: usize::from(args.import_concurrency),
        keep_temp: args.keep_temp,
        ..RestoreOptions::default()
    };
    let cancel = signals::cancel_on_signals();
    // `ferry jobs cancel` from another process: stop sending imports.
    let cancel_asked = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(job) = &job {
        let (store, id, token, asked) = (
            job.store().clone(),
            job.id().to_string(),
            cancel.clone(),
            cancel_asked.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                if store.cancel_requested(&id).unwrap_or(false) {
                    asked.store(true, std::sync::atomic::Ordering::SeqCst);
                    token.cancel();
                    return;
                }
            }
        });
    }
    let progress = ProgressSink::default();
    let display = Progress::start(progress.counters.clone(), quiet || json);
    let result = restore(RestoreRequest {
        client: &client,
        source: source.clone(),
        backup,
        staging: Staging::Copy {
            sink,
            server_prefix: format!("{root}{temp}/"),
        },
        options,
        journal: &journal,
        progress,
        cancel,
    })
    .await;
    display.finish().await;
    let result = result.map_err(Error::from).map(|report| {
        let failure = report.failure().map(Error::from);
        (report, failure)
    });
    if let Some(job) = &job {
        finish_job(
            job,
            &journal,
            &result,
            cancel_asked.load(std::sync::atomic::Ordering::SeqCst),
        );
    }
    let (report, failure) = result?;
    if failure.is_none() {
        // A finished restore's journal must not make the next run of the same command take
        // its collections for its own: it is removed, or kept under the job's id for `jobs show`.
        match &job {
            Some(job) => {
                let _ = std::fs::rename(&journal_file, done_journal(&journal_file, job.id()));
            }
            None => {
                let _ = std::fs::remove_file(&journal_file);
            }
        }
    }
    if json {
        print_json(&RestoreDocument {
            event: "finished",
            job_id: job.as_ref().map(|j| j.id().to_string()),
            report: &report,
            ok: failure.is_none(),
            error: failure.as_ref().map(Error::to_report),
        });
    } else {
        print!("{}", restore_summary(&report));
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(exit::OK),
    }
}

fn check_rows(checks: &[&CollectionCheck]) -> String {
    let rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| {
            vec![
                c.source.clone(),
                c.target.clone(),
                c.expected.to_string(),
                c.statistics
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "missing".into()),
                c.count
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "not loaded".into()),
                if c.matches() {
                    "ok".into()
                } else {
                    "DIFFERS".into()
                },
            ]
        })
        .collect();
    let mut out = table(
        &[
            "collection (backup)",
            "collection (cluster)",
            "entities (backup)",
            "entities (cluster statistics)",
            "count(*)",
            "result",
        ],
        &rows,
    );
    for c in checks {
        for p in &c.partitions {
            out.push_str(&format!(
                "  {} / {}: {} inserted − {} deleted = {} expected, {} in the cluster\n",
                c.target,
                p.name,
                p.inserted,
                p.delete_records,
                p.expected,
                p.statistics
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "missing".into())
            ));
        }
        for d in &c.differences {
            out.push_str(&format!("  {}: {d}\n", c.target));
        }
    }
    out
}

fn restore_summary(report: &RestoreReport) -> String {
    let mut out = format!(
        "Restored backup {} into {} (Milvus {}); binlogs read by the server from {}\n",
        report.backup, report.cluster, report.server_version, report.server_backup_path
    );
    out.push_str(&format!(
        "Copied {} objects ({} bytes) to the server's storage; temporary copy {}\n",
        report.copied_objects,
        report.copied_bytes,
        if report.temp_removed {
            "removed"
        } else {
            "kept (--keep-temp)"
        }
    ));
    for c in &report.collections {
        let tasks: usize = c.imports.iter().map(|i| i.tasks.len()).sum();
        out.push_str(&format!(
            "{} → {}: {}, {} import task(s), {} index(es){}\n",
            c.source,
            c.target,
            c.action,
            tasks,
            c.indexes.len(),
            if c.loaded { ", loaded" } else { "" }
        ));
        for i in &c.indexes {
            if let Some(note) = &i.note {
                out.push_str(&format!("  note: {note}\n"));
            }
        }
    }
    let checks: Vec<&CollectionCheck> = report
        .collections
        .iter()
        .filter_map(|c| c.check.as_ref())
        .collect();
    out.push_str(&check_rows(&checks));
    out
}

#[derive(Serialize)]
struct ClusterVerifyDocument<'a> {
    source: String,
    cluster: String,
    backup: String,
    collections: &'a [CollectionCheck],
    identical: bool,
}

/// `ferry verify SOURCE milvus://…`: the cluster check alone.
pub async fn run_verify(
    source: Arc<dyn Source>,
    cluster: &str,
    backups: &[String],
    args: &ClusterArgs,
    json: bool,
) -> Result<u8> {
    let url = ClusterUrl::parse(cluster)?;
    let backup = one_backup(source.as_ref(), backups).await?;
    let client = connect(&url, args).await?;
    client.version().await?;
    let plans = plan_backup(source.as_ref(), &backup, &selection(args, &url)).await?;
    let mut checks = Vec::new();
    for plan in &plans {
        checks.push(check_collection(&client, plan, CheckContext::Standalone).await?);
    }
    let identical = checks.iter().all(CollectionCheck::matches);
    if json {
        print_json(&ClusterVerifyDocument {
            source: source.location().to_string(),
            cluster: url.to_string(),
            backup: backup.name.clone(),
            collections: &checks,
            identical,
        });
    } else {
        println!(
            "Backup {} at {} against {}",
            backup.name,
            source.location(),
            url
        );
        print!("{}", check_rows(&checks.iter().collect::<Vec<_>>()));
        println!(
            "{}",
            if identical {
                "The cluster holds what the backup says."
            } else {
                "The cluster DIFFERS from the backup."
            }
        );
    }
    if identical {
        Ok(exit::OK)
    } else {
        let bad: Vec<String> = checks
            .iter()
            .filter(|c| !c.matches())
            .map(|c| c.target.clone())
            .collect();
        Err(Error::new(
            ferry_core::ErrorKind::VerificationFailed,
            format!(
                "the cluster differs from backup {} in: {}",
                backup.name,
                bad.join(", ")
            ),
        ))
    }
}
