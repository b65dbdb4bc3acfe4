//! A whole migration: find and validate the source backups, prepare the destination, plan every
//! backup (conflicts refused before anything is written), copy, and verify.

use std::sync::Arc;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::backup::{discover, examine_all, BackupRef, BackupReport, Discovery, ExaminedBackup};
use crate::error::{Error, ErrorKind, Result};
use crate::sink::Sink;
use crate::source::Source;
use crate::transfer::{
    plan_backup, Action, Engine, PlanInputs, ProgressSink, TransferOptions, TransferPlan,
    TransferReport,
};
use crate::verify::{verify_backup, VerifyInputs, VerifyReport, VerifyTarget};

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct MigrateOptions {
    /// Backups to migrate by name (empty = all found).
    pub backups: Vec<String>,
    /// Engine settings.
    pub transfer: TransferOptions,
    /// Plan only; write nothing.
    pub dry_run: bool,
    /// Skip the verification after copying.
    pub no_verify: bool,
    /// Deep validation of the source binlogs and deep verification of the copy.
    pub deep: bool,
    /// Replace differing objects and delete extras at the destination.
    pub overwrite: bool,
}

/// The stores a migration works with.
#[derive(Clone)]
pub struct Endpoints {
    /// Where backups are read.
    pub source: Arc<dyn Source>,
    /// Where they are written; its [`Sink::reader`] reads the destination back (resume checks,
    /// verification) when the store allows reads.
    pub sink: Arc<dyn Sink>,
}

/// A plan, summarised for output.
#[derive(Debug, Clone, Serialize)]
pub struct PlanSummary {
    /// Objects to copy.
    pub copy: u64,
    /// Bytes to copy.
    pub copy_bytes: u64,
    /// Objects already there.
    pub skip: u64,
    /// Objects to replace (`--overwrite`).
    pub replace: u64,
    /// Objects to delete at the destination (`--overwrite`).
    pub delete: u64,
}

impl PlanSummary {
    fn of(plan: &TransferPlan) -> Self {
        let (copy, copy_bytes) = plan.count(Action::Copy);
        let (replace, replace_bytes) = plan.count(Action::Replace);
        PlanSummary {
            copy,
            copy_bytes: copy_bytes + replace_bytes,
            skip: plan.count(Action::Skip).0,
            replace,
            delete: plan.extra_at_destination.len() as u64,
        }
    }
}

/// One backup's migration.
#[derive(Debug, Clone, Serialize)]
pub struct BackupMigration {
    /// Backup name.
    pub name: String,
    /// The source backup folder.
    pub source_location: String,
    /// The destination backup folder: where the target reads it.
    pub destination_location: String,
    /// The source's validation report.
    pub source_report: BackupReport,
    /// The plan.
    pub plan: PlanSummary,
    /// What the copy did (absent for a dry run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferReport>,
    /// Verification (absent for a dry run, `--no-verify`, or an incomplete copy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifyReport>,
}

/// The whole migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    /// Source location.
    pub source: String,
    /// Destination location.
    pub destination: String,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Per backup.
    pub backups: Vec<BackupMigration>,
    /// Incomplete backups found at the source and left alone.
    pub skipped_incomplete: Vec<String>,
}

impl MigrationReport {
    /// The error that makes this migration a failure, if any.
    pub fn failure(&self) -> Option<Error> {
        for b in &self.backups {
            if let Some(t) = &b.transfer {
                if t.interrupted {
                    return Some(Error::interrupted(format!(
                        "the migration of {} was interrupted ({} of {} objects copied)",
                        b.name,
                        t.copied + t.replaced + t.skipped,
                        t.objects_total
                    ))
                    .with_hint("run the same command again to resume: objects already copied are skipped"));
                }
                if !t.is_complete() {
                    let first = t.failed.first();
                    let kind = first.map(|f| f.error.kind).unwrap_or(ErrorKind::Internal);
                    let names: Vec<String> = t
                        .failed
                        .iter()
                        .take(10)
                        .map(|f| format!("{} ({})", f.key, f.error.message))
                        .collect();
                    let mut e = Error::new(
                        kind,
                        format!(
                            "{} of {} objects of {} were not copied: {}{}",
                            t.failed.len() as u64 + t.not_attempted,
                            t.objects_total,
                            b.name,
                            names.join("; "),
                            if t.failed.len() > 10 { "; …" } else { "" }
                        ),
                    )
                    .with_location(&b.destination_location);
                    e = e.with_hint(
                        first
                            .and_then(|f| f.error.hint.clone())
                            .unwrap_or_else(|| "fix the cause, then run the same command again to resume; the destination's meta is written only once all data is there".to_string()),
                    );
                    return Some(e);
                }
            }
            if let Some(v) = &b.verify {
                if !v.differences.is_empty() {
                    return Some(
                        Error::new(
                            ErrorKind::VerificationFailed,
                            format!(
                                "verification of {} found {} differences",
                                b.name,
                                v.differences.len()
                            ),
                        )
                        .with_location(&b.destination_location)
                        .with_hint("see the report above; run the same command again to re-copy what differs, with --overwrite if needed"),
                    );
                }
            }
        }
        None
    }
}

/// Finds the backups at the source and keeps those asked for.
pub async fn select_backups(
    source: &dyn Source,
    names: &[String],
) -> Result<(Discovery, Vec<BackupRef>)> {
    let policy = crate::retry::RetryPolicy::default();
    let discovery = crate::retry::retry(&policy, "finding backups", || discover(source)).await?;
    if names.is_empty() {
        let all = discovery.backups.clone();
        return Ok((discovery, all));
    }
    let mut chosen = Vec::new();
    for name in names {
        match discovery.backups.iter().find(|b| &b.name == name) {
            Some(b) => chosen.push(b.clone()),
            None => {
                let known: Vec<&str> = discovery.backups.iter().map(|b| b.name.as_str()).collect();
                return Err(Error::not_found(format!(
                    "no backup named {name:?} at {}",
                    source.location()
                ))
                .with_hint(format!("backups found there: {}", known.join(", "))));
            }
        }
    }
    Ok((discovery, chosen))
}

/// Refuses backups with error-level problems, naming the first few.
fn refuse_invalid(examined: &[(BackupRef, ExaminedBackup)], source: &dyn Source) -> Result<()> {
    for (reference, e) in examined {
        if e.has_errors() {
            let problems: Vec<String> = e
                .backup
                .problems
                .iter()
                .filter(|p| p.is_error())
                .take(5)
                .map(|p| match &p.key {
                    Some(k) => format!("{} ({k})", p.message),
                    None => p.message.clone(),
                })
                .collect();
            return Err(Error::invalid_backup(format!(
                "backup {:?} is not valid: {}",
                reference.name,
                problems.join("; ")
            ))
            .with_location(source.location())
            .with_hint(format!(
                "nothing was written; run `ferry inspect {}` for the full report",
                source.location()
            )));
        }
    }
    Ok(())
}

/// Refuses a destination inside a source backup folder, or a source backup folder that would be
/// its own copy.
fn refuse_overlap(
    examined: &[(BackupRef, ExaminedBackup)],
    source: &dyn Source,
    destination: &crate::Location,
) -> Result<()> {
    for (reference, _) in examined {
        let folder = if reference.prefix.is_empty() {
            source.location().clone()
        } else {
            source.location().child(&reference.name)?
        };
        let target = destination.child(&reference.name)?;
        if folder.contains(destination) || folder.contains(&target) || target.contains(&folder) {
            return Err(Error::invalid_input(format!(
                "the destination {destination} overlaps the source backup folder {folder}"
            ))
            .with_hint("choose a destination outside the backup folder; each backup lands in <destination>/<name>/"));
        }
    }
    Ok(())
}

/// Runs a migration. Errors before copying (bad source, invalid backup, unusable destination,
/// conflicts) are returned as `Err` with nothing written; what happens during copying is in the
/// report (see [`MigrationReport::failure`]).
///
/// The sample backup of this repository, copied from one in-memory store to another and
/// verified:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> ferry_core::Result<()> {
/// use std::sync::Arc;
/// use ferry_core::memory::MemoryStore;
/// use ferry_core::migrate::{migrate, Endpoints, MigrateOptions};
/// use ferry_core::transfer::ProgressSink;
/// use ferry_core::CancellationToken;
///
/// let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
///     .join("../examples/backups/real_backup_1");
/// let source = Arc::new(MemoryStore::from_dir(&sample)?);
/// let sink = Arc::new(MemoryStore::new("staging"));
/// let endpoints = Endpoints { source, sink: sink.clone() };
/// let report = migrate(&endpoints, &MigrateOptions::default(), ProgressSink::default(), CancellationToken::new()).await?;
/// assert!(report.failure().is_none());
/// let copy = &report.backups[0];
/// assert_eq!(copy.transfer.as_ref().unwrap().copied, 37);
/// assert!(copy.verify.as_ref().unwrap().identical);
/// assert!(sink.contents().contains_key("real_backup_1/meta/full_meta.json"));
/// # Ok(())
/// # }
/// ```
pub async fn migrate(
    endpoints: &Endpoints,
    options: &MigrateOptions,
    progress: ProgressSink,
    cancel: CancellationToken,
) -> Result<MigrationReport> {
    let source = endpoints.source.as_ref();
    let (discovery, chosen) = select_backups(source, &options.backups).await?;
    let examined: Vec<(BackupRef, ExaminedBackup)> = chosen
        .iter()
        .cloned()
        .zip(examine_all(source, &chosen, options.deep).await?)
        .collect();
    refuse_invalid(&examined, source)?;
    refuse_overlap(&examined, source, endpoints.sink.location())?;
    if !options.dry_run {
        endpoints
            .sink
            .prepare()
            .await
            .map_err(|e| e.context("the destination"))?;
    }
    let dest_location = endpoints.sink.location().clone();
    let mut migrations = Vec::new();
    let mut plans = Vec::new();
    for (reference, e) in &examined {
        let plan = plan_backup(PlanInputs {
            source,
            sink: endpoints.sink.as_ref(),
            backup: &e.backup,
            overwrite: options.overwrite,
        })
        .await?;
        let source_location = if reference.prefix.is_empty() {
            source.location().to_string()
        } else {
            source.location().child(&reference.name)?.to_string()
        };
        migrations.push(BackupMigration {
            name: reference.name.clone(),
            source_report: e.report(source_location.clone()),
            source_location,
            destination_location: dest_location.child(&reference.name)?.to_string(),
            plan: PlanSummary::of(&plan),
            transfer: None,
            verify: None,
        });
        plans.push(plan);
    }
    let mut report = MigrationReport {
        source: source.location().to_string(),
        destination: dest_location.to_string(),
        dry_run: options.dry_run,
        backups: migrations,
        skipped_incomplete: discovery.incomplete.clone(),
    };
    if options.dry_run {
        return Ok(report);
    }
    let engine = Engine::new(
        endpoints.source.clone(),
        endpoints.sink.clone(),
        options.transfer.clone(),
        progress,
        cancel.clone(),
    );
    for (i, plan) in plans.iter().enumerate() {
        let transfer = engine.execute(plan).await;
        let complete = transfer.is_complete();
        report.backups[i].transfer = Some(transfer);
        if !complete {
            break;
        }
    }
    if options.no_verify || cancel.is_cancelled() {
        return Ok(report);
    }
    for (i, (_, e)) in examined.iter().enumerate() {
        let Some(transfer) = &report.backups[i].transfer else {
            continue;
        };
        if !transfer.is_complete() {
            continue;
        }
        let target_ref = BackupRef {
            name: e.backup.reference.name.clone(),
            prefix: plans[i].dest_prefix.clone(),
        };
        let mut v = verify_backup(VerifyInputs {
            source,
            source_backup: e,
            target: VerifyTarget::of_sink(endpoints.sink.as_ref()),
            target_ref: &target_ref,
            deep: options.deep,
            sizes_only: false,
            copied_checksums: Some(&transfer.checksums),
        })
        .await?;
        v.source_location = report.backups[i].source_location.clone();
        v.target_location = report.backups[i].destination_location.clone();
        report.backups[i].verify = Some(v);
    }
    Ok(report)
}
