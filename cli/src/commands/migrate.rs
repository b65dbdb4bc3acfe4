//! `ferry migrate`: validate, copy, verify.

use ferry_core::migrate::{BackupMigration, Endpoints, MigrationReport};
use ferry_core::transfer::{ProgressEvent, ProgressSink};
use ferry_core::{ErrorReport, Location, Result, Side};
use ferry_jobs::{ClaimedJob, JobOptions, RunOutcome};
use serde::Serialize;

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
    if ferry_milvus::is_cluster_url(&destination) {
        return crate::commands::restore::run_restore(
            context,
            source,
            &destination,
            &args.backups,
            &args.cluster,
            args.output.json,
            args.quiet,
            if args.no_job {
                crate::commands::restore::RestoreJob::Unrecorded
            } else {
                crate::commands::restore::RestoreJob::New(args.job_name.clone())
            },
        )
        .await;
    }
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
        restore: None,
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
    let job = create_job(
        context,
        args.job_name.as_deref(),
        &source,
        &destination,
        &options,
    );
    run_migration(context, job, source, destination, &options, false, output).await
}

/// Records a new job and claims it; a store that cannot be opened is a warning (the copy still
/// runs, unrecorded).
fn create_job(
    context: &Context,
    name: Option<&str>,
    source: &Location,
    destination: &Location,
    options: &JobOptions,
) -> Option<ClaimedJob> {
    let attempt = || -> Result<ClaimedJob> {
        let store = stores::open_job_store(context)?;
        ClaimedJob::create(store, name, source, destination, options)
    };
    match attempt() {
        Ok(job) => Some(job),
        Err(e) => {
            eprintln!(
                "ferry: warning: this migration is not recorded as a job ({e}); it runs anyway"
            );
            None
        }
    }
}

/// Runs one migration (recorded as `job` when there is one) and prints it: the job id first,
/// progress while it runs, the summary (or one JSON document) at the end.
pub async fn run_migration(
    context: &Context,
    job: Option<ClaimedJob>,
    source_location: Location,
    destination: Location,
    options: &JobOptions,
    dry_run: bool,
    output: OutputMode,
) -> Result<u8> {
    let job_id = job.as_ref().map(|j| j.id().to_string());
    if let Some(id) = &job_id {
        if output.json {
            println!("{}", serde_json::json!({"event": "job", "id": id}));
        } else {
            println!("Job {id}");
        }
    }
    // Both ends are opened at once (credentials, a first request each); a bad source is
    // reported first, as when they were opened one after the other.
    let (source, sink) = futures::join!(
        stores::open_source_at(context, "source", &source_location),
        stores::open_destination_at(context, destination)
    );
    let opened = source.and_then(|source| {
        Ok(Endpoints {
            source,
            sink: sink?,
        })
    });
    let outcome = match opened {
        Ok(endpoints) => run_with_display(job.as_ref(), &endpoints, options, dry_run, output).await,
        Err(e) => {
            if let Some(job) = &job {
                ferry_jobs::runner::record_failure(job, &e);
            }
            RunOutcome {
                result: Err(e),
                state: ferry_jobs::JobState::Failed,
            }
        }
    };
    let code = match &outcome.result {
        Ok(report) => {
            let failure = report.failure();
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
            failure
                .as_ref()
                .map(|e| exit::code_for(e.kind()))
                .unwrap_or(exit::OK)
        }
        Err(e) => exit::code_for(e.kind()),
    };
    if let Some(id) = &job_id {
        if outcome.resumable() && !output.json {
            eprintln!("ferry: resume with: ferry jobs resume {id}");
        }
    }
    match outcome.result {
        Ok(_) => Ok(code),
        Err(e) => Err(e),
    }
}

/// Runs the migration through the job runner, with the progress display and, with `--json`,
/// a printer of the progress events.
async fn run_with_display(
    job: Option<&ClaimedJob>,
    endpoints: &Endpoints,
    options: &JobOptions,
    dry_run: bool,
    output: OutputMode,
) -> RunOutcome {
    let cancel = signals::cancel_on_signals();
    let progress = ProgressSink::default();
    let display = Progress::start(
        progress.counters.clone(),
        output.quiet || output.json || dry_run,
    );
    let (printer_tx, mut printer_rx) = tokio::sync::mpsc::unbounded_channel::<ProgressEvent>();
    let printer = tokio::spawn(async move {
        while let Some(event) = printer_rx.recv().await {
            if output.json && !matches!(event, ProgressEvent::Planned { .. }) {
                print_json_line(&event);
            }
        }
    });
    let outcome = ferry_jobs::run_migration(
        job,
        endpoints,
        &options.migrate_options(dry_run),
        progress,
        Some(printer_tx),
        cancel,
    )
    .await;
    display.finish().await;
    let _ = printer.await;
    outcome
}

/// Prints one JSON document on one line (newline-delimited JSON).
fn print_json_line<T: Serialize>(value: &T) {
    match serde_json::to_string(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("ferry: cannot serialise the report: {e}"),
    }
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
                "  verify: {} — {}{}\n",
                crate::output::human::verdict(v),
                crate::output::human::verify_proof(v),
                if v.deep {
                    " (deep: every object re-read)"
                } else {
                    ""
                }
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
