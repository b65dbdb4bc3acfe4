//! `ferry migrate`: validate, copy, verify.

use ferry_core::migrate::{migrate, BackupMigration, Endpoints, MigrateOptions, MigrationReport};
use ferry_core::transfer::{ProgressSink, RetryPolicy, TransferOptions};
use ferry_core::{ErrorReport, Result, Side};
use serde::Serialize;

use crate::output::human::{bytes, table};
use crate::output::print_json;
use crate::output::progress::Progress;
use crate::{exit, signals, stores, Context, MigrateArgs};

#[derive(Serialize)]
struct MigrateDocument<'a> {
    #[serde(flatten)]
    report: &'a MigrationReport,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorReport>,
}

/// Runs the command.
pub async fn run(context: &Context, args: MigrateArgs) -> Result<u8> {
    let (spec, destination) = stores::SourceSpec::with_destination(
        &args.locations,
        args.config.milvus_backup_config.as_deref(),
    )?;
    let source = stores::open_source_spec(context, Some(Side::Source), &spec).await?;
    let (sink, dest_reader) = stores::open_destination(context, &destination).await?;
    let options = MigrateOptions {
        backups: args.backups.clone(),
        transfer: TransferOptions {
            concurrency: usize::from(args.concurrency),
            retry: RetryPolicy {
                max_attempts: args.attempts,
                ..RetryPolicy::default()
            },
        },
        dry_run: args.dry_run,
        no_verify: args.no_verify,
        deep: args.deep,
        overwrite: args.overwrite,
    };
    let cancel = signals::cancel_on_signals();
    let progress = ProgressSink::default();
    let display = Progress::start(
        progress.counters.clone(),
        args.quiet || args.output.json || args.dry_run,
    );
    let endpoints = Endpoints {
        source,
        sink,
        dest_reader,
    };
    let result = migrate(&endpoints, &options, progress, cancel).await;
    display.finish().await;
    let report = result?;
    let failure = report.failure();
    if args.output.json {
        print_json(&MigrateDocument {
            report: &report,
            ok: failure.is_none(),
            error: failure.as_ref().map(|e| e.to_report()),
        });
    } else {
        print!("{}", summary(&report));
        if let Some(e) = &failure {
            eprintln!("ferry: error: {e}");
        }
    }
    Ok(match failure {
        None => exit::OK,
        Some(e) => exit::code_for(e.kind()),
    })
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
            out +=
                &format!(
                "  verify: {} — {} objects, {} compared by key and size; {} checksums compared{}\n",
                if v.identical { "identical" } else { "DIFFERENCES FOUND" },
                v.objects_compared,
                bytes(v.bytes_compared),
                v.checksums_compared,
                if v.deep { " (deep: bytes re-read)" } else { "" }
            );
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
