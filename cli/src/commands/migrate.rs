//! `ferry migrate`: validate, copy, verify.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferry_core::migrate::{migrate, BackupMigration, Endpoints, MigrateOptions, MigrationReport};
use ferry_core::transfer::{ProgressEvent, ProgressSink, RetryPolicy, TransferOptions};
use ferry_core::{ErrorKind, ErrorReport, Location, Result, Side};
use ferry_jobs::{JobState, JobStore, Journal};
use serde::{Deserialize, Serialize};

use crate::commands::jobs;
use crate::output::human::{bytes, table};
use crate::output::progress::Progress;
use crate::{exit, signals, stores, Context, MigrateArgs};

#[derive(Serialize)]
struct MigrateDocument<'a> {
    event: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<&'a str>,
    #[serde(flatten)]
    report: &'a MigrationReport,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorReport>,
}

/// What a job remembers of `ferry migrate`'s options (no secrets: those come from the
/// environment and flags of each run).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobOptions {
    /// `--backup` names.
    pub backups: Vec<String>,
    /// `--concurrency` (absent: the engine's defaults by object size).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// `--attempts`.
    pub attempts: u32,
    /// `--no-verify`.
    pub no_verify: bool,
    /// `--deep`.
    pub deep: bool,
    /// `--overwrite`.
    pub overwrite: bool,
}

impl JobOptions {
    fn migrate_options(&self, dry_run: bool) -> MigrateOptions {
        MigrateOptions {
            backups: self.backups.clone(),
            transfer: TransferOptions {
                retry: RetryPolicy {
                    max_attempts: self.attempts,
                    ..RetryPolicy::default()
                },
                ..TransferOptions::with_concurrency(self.concurrency)
            },
            dry_run,
            no_verify: self.no_verify,
            deep: self.deep,
            overwrite: self.overwrite,
        }
    }
}

/// How a run prints.
#[derive(Debug, Clone, Copy)]
pub struct OutputMode {
    /// Newline-delimited JSON events on stdout.
    pub json: bool,
    /// No progress display.
    pub quiet: bool,
}

/// Runs the command.
pub async fn run(context: &Context, args: MigrateArgs) -> Result<u8> {
    let (spec, destination) = stores::SourceSpec::with_destination(
        &args.locations,
        args.config.milvus_backup_config.as_deref(),
    )?;
    let source = stores::spec_location(context, Some(Side::Source), &spec)?;
    let destination = stores::parse(
        context,
        Some(Side::Destination),
        "destination",
        &destination,
    )?;
    let options = JobOptions {
        backups: args.backups.clone(),
        concurrency: args.concurrency.map(usize::from),
        attempts: args.attempts,
        no_verify: args.no_verify,
        deep: args.deep,
        overwrite: args.overwrite,
    };
    let output = OutputMode {
        json: args.output.json,
        quiet: args.quiet,
    };
    if args.dry_run {
        return run_migration(context, None, source, destination, &options, true, output).await;
    }
    if args.no_job {
        return run_migration(context, None, source, destination, &options, false, output).await;
    }
    let job = jobs::create(
        context,
        args.job_name.as_deref(),
        &source,
        &destination,
        &options,
    );
    run_migration(context, job, source, destination, &options, false, output).await
}

/// Runs one migration, recorded as `job` when there is a job store.
pub async fn run_migration(
    context: &Context,
    job: Option<(Arc<JobStore>, String)>,
    source: Location,
    destination: Location,
    options: &JobOptions,
    dry_run: bool,
    output: OutputMode,
) -> Result<u8> {
    let job_id = job.as_ref().map(|(_, id)| id.clone());
    if let Some(id) = &job_id {
        if output.json {
            println!("{}", serde_json::json!({"event": "job", "id": id}));
        } else {
            println!("Job {id}");
        }
    }
    let result = copy_and_verify(
        context,
        job.as_ref(),
        source,
        destination,
        options,
        dry_run,
        output,
    )
    .await;
    let (code, state, report_json, error) = match &result {
        Ok((report, cancelled_by_request)) => {
            let failure = report.failure();
            let state = match &failure {
                None => JobState::Succeeded,
                Some(e) if e.kind() == ErrorKind::Interrupted && *cancelled_by_request => {
                    JobState::Cancelled
                }
                Some(e) if e.kind() == ErrorKind::Interrupted => JobState::Interrupted,
                Some(_) => JobState::Failed,
            };
            if output.json {
                print_json_line(&MigrateDocument {
                    event: "finished",
                    job_id: job_id.as_deref(),
                    report,
                    ok: failure.is_none(),
                    error: failure.as_ref().map(|e| e.to_report()),
                });
            } else {
                print!("{}", summary(report));
                if let Some(e) = &failure {
                    eprintln!("ferry: error: {e}");
                }
            }
            let code = failure
                .as_ref()
                .map(|e| exit::code_for(e.kind()))
                .unwrap_or(exit::OK);
            (
                code,
                state,
                serde_json::to_value(report).ok(),
                failure.map(|e| e.to_string()),
            )
        }
        Err(e) => (
            exit::code_for(e.kind()),
            JobState::Failed,
            None,
            Some(e.to_string()),
        ),
    };
    if let Some((store, id)) = &job {
        if let Some(message) = &error {
            let _ = store.log_error(id, message);
        }
        if let Err(e) = store.finish(id, state, report_json.as_ref()) {
            tracing::warn!(error = %e, "the job's end could not be recorded");
        }
        if matches!(
            state,
            JobState::Interrupted | JobState::Cancelled | JobState::Failed
        ) && !output.json
        {
            eprintln!("ferry: resume with: ferry jobs resume {id}");
        }
    }
    match result {
        Ok(_) => Ok(code),
        Err(e) => Err(e),
    }
}

/// Prints one JSON document on one line (newline-delimited JSON).
fn print_json_line<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("ferry: cannot serialise the report: {e}"),
    }
}

async fn copy_and_verify(
    context: &Context,
    job: Option<&(Arc<JobStore>, String)>,
    source_location: Location,
    destination: Location,
    options: &JobOptions,
    dry_run: bool,
    output: OutputMode,
) -> Result<(MigrationReport, bool)> {
    // Both ends are opened at once (credentials, a first request each); a bad source is
    // reported first, as when they were opened one after the other.
    let (source, destination) = futures::join!(
        stores::open_source_at(context, "source", &source_location),
        stores::open_destination_at(context, destination)
    );
    let source = source?;
    let sink = destination?;
    let cancel = signals::cancel_on_signals();
    let cancelled_by_request = Arc::new(AtomicBool::new(false));
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let progress = ProgressSink {
        events: Some(events_tx),
        ..ProgressSink::default()
    };
    let display = Progress::start(
        progress.counters.clone(),
        output.quiet || output.json || dry_run,
    );
    // Events go to the journal (when there is a job), then to the JSON printer (with --json).
    let (ui_tx, mut ui_rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
    let journal = match job {
        Some((store, id)) => Some(Journal::spawn(
            store.clone(),
            id.clone(),
            events_rx,
            Some(ui_tx.clone()),
        )),
        None => {
            // No job store: pass the events straight to the printer.
            let forward = ui_tx.clone();
            let mut events_rx = events_rx;
            tokio::spawn(async move {
                while let Some(e) = events_rx.recv().await {
                    let _ = forward.send(e);
                }
            });
            None
        }
    };
    let printer = tokio::spawn(async move {
        while let Some(event) = ui_rx.recv().await {
            if output.json && !matches!(event, ProgressEvent::Planned { .. }) {
                print_json_line(&event);
            }
        }
    });
    let watcher = job.map(|(store, id)| {
        jobs::watch_cancel(
            store.clone(),
            id.clone(),
            cancel.clone(),
            cancelled_by_request.clone(),
        )
    });
    let endpoints = Endpoints { source, sink };
    let result = migrate(
        &endpoints,
        &options.migrate_options(dry_run),
        progress,
        cancel,
    )
    .await;
    if let Some(w) = watcher {
        w.abort();
    }
    display.finish().await;
    if let Some(j) = journal {
        j.finish().await;
    }
    drop(ui_tx);
    let _ = printer.await;
    result.map(|r| (r, cancelled_by_request.load(Ordering::SeqCst)))
}

fn summary(report: &MigrationReport) -> String {
    let mut out = String::new();
    if report.dry_run {
        out += &format!(
            "Dry run: nothing was written. Plan for {} → {}\n",
            report.source, report.destination
        );
    } else {
        out += &format!("Migrated {} → {}\n", report.source, report.destination);
    }
    for b in &report.backups {
        out += &backup_summary(b, report.dry_run);
    }
    for name in &report.skipped_incomplete {
        out += &format!("Skipped incomplete backup (no meta/backup_meta.json): {name}\n");
    }
    out
}

fn backup_summary(b: &BackupMigration, dry_run: bool) -> String {
    let mut out = format!("\nBackup {}\n", b.name);
    out += &format!("  from {}\n", b.source_location);
    let warnings = b.source_report.problems.len();
    if warnings > 0 {
        out += &format!("  source warnings: {warnings} (see `ferry inspect`)\n");
    }
    let p = &b.plan;
    out += &format!(
        "  plan: copy {} objects ({}), skip {} already there, replace {}, delete {}\n",
        p.copy,
        bytes(p.copy_bytes),
        p.skip,
        p.replace,
        p.delete
    );
    if dry_run {
        out += &format!("  would land in {}\n", b.destination_location);
        return out;
    }
    if let Some(t) = &b.transfer {
        out += &format!(
            "  copied {} objects ({}) in {:.2} s ({}/s); skipped {}; replaced {}; deleted {}; server-side {}\n",
            t.copied,
            bytes(t.bytes_copied),
            t.seconds,
            indicatif::HumanBytes(t.throughput() as u64),
            t.skipped,
            t.replaced,
            t.deleted,
            t.server_side
        );
        if !t.failed.is_empty() || t.not_attempted > 0 {
            out += &format!(
                "  NOT COPIED: {} failed, {} not attempted\n",
                t.failed.len(),
                t.not_attempted
            );
            for f in t.failed.iter().take(20) {
                out += &format!("    {}: {}\n", f.key, f.error.message);
            }
        }
    }
    match &b.verify {
        Some(v) => {
            out += &format!(
                "  verify: {} — {} objects, {} compared by key and size; {} checksums compared{}\n",
                verdict(v),
                v.objects_compared,
                bytes(v.bytes_compared),
                v.checksums_compared,
                if v.deep { " (deep: bytes re-read)" } else { "" }
            );
            for what in &v.not_compared {
                out += &format!("  not compared: {what}\n");
            }
            let rows: Vec<Vec<String>> = v
                .source
                .collections
                .iter()
                .map(|c| {
                    let target = v
                        .target
                        .collections
                        .iter()
                        .find(|t| t.db == c.db && t.name == c.name);
                    vec![
                        c.db.clone(),
                        c.name.clone(),
                        c.partitions.len().to_string(),
                        c.segments.to_string(),
                        c.entities.to_string(),
                        target
                            .map(|t| t.entities.to_string())
                            .unwrap_or_else(|| "missing".into()),
                    ]
                })
                .collect();
            out += &table(
                &[
                    "DB",
                    "COLLECTION",
                    "PARTITIONS",
                    "SEGMENTS",
                    "ENTITIES (SOURCE)",
                    "ENTITIES (TARGET)",
                ],
                &rows,
            );
            for d in v.differences.iter().take(20) {
                out += &format!(
                    "  difference: {:?} {}{}\n",
                    d.kind,
                    d.key
                        .as_deref()
                        .map(|k| format!("{k}: "))
                        .unwrap_or_default(),
                    d.message
                );
            }
        }
        None if b.transfer.as_ref().is_some_and(|t| t.is_complete()) => {
            out += "  verify: skipped (--no-verify)\n";
        }
        None => {}
    }
    if b.transfer.as_ref().is_some_and(|t| t.is_complete()) {
        out += &format!("  migrated backup folder: {}\n", b.destination_location);
    }
    out
}

/// One word for a verification: identical, differences, or no difference in what could be
/// compared (a destination that cannot be read back).
fn verdict(v: &ferry_core::verify::VerifyReport) -> &'static str {
    if v.identical {
        "identical"
    } else if v.differences.is_empty() {
        "no differences in what could be compared"
    } else {
        "DIFFERENCES FOUND"
    }
}
