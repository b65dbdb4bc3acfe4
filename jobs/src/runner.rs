//! The job runner: one migration recorded as a job, the same for the CLI and for any program
//! that embeds Ferry. It claims the job (so one job never runs twice), feeds the journal from the
//! migration's progress events, watches for `ferry jobs cancel`, and records how the run ended
//! with a typed [`JobReport`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::migrate::{migrate, Endpoints, MigrateOptions, MigrationReport};
use ferry_core::transfer::{ProgressEvent, ProgressSink};
use ferry_core::{CancellationToken, Error, ErrorKind, Location, Result};
use tokio::sync::mpsc::UnboundedSender;

use crate::options::JobOptions;
use crate::report::JobReport;
use crate::store::{JobRecord, JobStore};
use crate::{JobState, Journal};

/// How often a running job looks for a cancel request.
const CANCEL_POLL: Duration = Duration::from_millis(300);

/// A job this process has claimed: it runs it until [`run_migration`] records its end.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    store: Arc<JobStore>,
    id: String,
}

impl ClaimedJob {
    /// Records a new job for a migration from `source` to `destination` (locations without
    /// secrets are stored) and claims it.
    pub fn create(
        store: Arc<JobStore>,
        name: Option<&str>,
        source: &Location,
        destination: &Location,
        options: &JobOptions,
    ) -> Result<ClaimedJob> {
        let id = store.create(name, source, destination, options)?;
        store.claim(&id)?;
        Ok(ClaimedJob { store, id })
    }

    /// Claims the recorded job `id_or_name` to resume it: refuses a job that succeeded, and one
    /// that another live process runs (naming it). Returns the job as recorded and its options;
    /// the caller adds this run's credentials to the stored locations.
    pub fn resume(
        store: Arc<JobStore>,
        id_or_name: &str,
    ) -> Result<(ClaimedJob, JobRecord, JobOptions)> {
        let id = store.resolve(id_or_name)?;
        let record = store.get(&id)?;
        if record.state == JobState::Succeeded {
            return Err(Error::conflict(format!(
                "job {id} succeeded: nothing to resume"
            )));
        }
        let options = record.options.clone().ok_or_else(|| {
            Error::internal(format!("job {id} has unreadable options"))
                .with_hint("start the migration again with `ferry migrate`; objects already copied are skipped")
        })?;
        store.claim(&id)?;
        Ok((ClaimedJob { store, id }, record, options))
    }

    /// The job's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The store that holds it.
    pub fn store(&self) -> &Arc<JobStore> {
        &self.store
    }
}

/// How a run ended.
#[derive(Debug)]
pub struct RunOutcome {
    /// The migration's report, or the error that stopped it before copying.
    pub result: Result<MigrationReport>,
    /// The state the job was left in (also for a run without a job).
    pub state: JobState,
}

impl RunOutcome {
    /// Whether resuming the job can help: it stopped part-way (interrupted, cancelled) or
    /// failed while copying or verifying. A run refused before anything was copied (a source
    /// that does not exist, an invalid backup, a conflict at the destination) is not: the same
    /// command fails the same way until its input is fixed.
    pub fn resumable(&self) -> bool {
        matches!(
            (&self.result, self.state),
            (_, JobState::Interrupted | JobState::Cancelled) | (Ok(_), JobState::Failed)
        )
    }
}

/// Runs one migration, recorded in `job` when there is one: its journal is fed from the
/// progress events (every event is also passed to `listener`, a printer for example, when
/// given), a cancel request recorded in the store cancels `cancel`, and the job's end is
/// recorded with its state, its error and a [`JobReport`]. `progress` carries the caller's
/// counters; its event channel is the runner's own.
pub async fn run_migration(
    job: Option<&ClaimedJob>,
    endpoints: &Endpoints,
    options: &MigrateOptions,
    progress: ProgressSink,
    listener: Option<UnboundedSender<ProgressEvent>>,
    cancel: CancellationToken,
) -> RunOutcome {
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let progress = ProgressSink {
        events: Some(events_tx),
        ..progress
    };
    let journal = match job {
        Some(job) => Journal::spawn(job.store.clone(), job.id.clone(), events_rx, listener),
        None => Journal::forward_only(events_rx, listener),
    };
    let cancelled_by_request = Arc::new(AtomicBool::new(false));
    let watcher = job.map(|job| watch_cancel(job, cancel.clone(), cancelled_by_request.clone()));
    let result = migrate(endpoints, options, progress, cancel).await;
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    journal.finish().await;
    let state = final_state(&result, cancelled_by_request.load(Ordering::SeqCst));
    if let Some(job) = job {
        record_end(job, &result, state);
    }
    RunOutcome { result, state }
}

/// The state a run leaves its job in.
fn final_state(result: &Result<MigrationReport>, cancelled_by_request: bool) -> JobState {
    match result {
        Err(_) => JobState::Failed,
        Ok(report) => match report.failure() {
            None => JobState::Succeeded,
            Some(e) if e.kind() == ErrorKind::Interrupted && cancelled_by_request => {
                JobState::Cancelled
            }
            Some(e) if e.kind() == ErrorKind::Interrupted => JobState::Interrupted,
            Some(_) => JobState::Failed,
        },
    }
}

/// Records that a run of `job` failed before its migration could start (a store that could not
/// be opened, say): the error in the job's log, the job `failed`.
pub fn record_failure(job: &ClaimedJob, error: &Error) {
    record(job, None, Some(error.to_string()), JobState::Failed);
}

/// Records the end of a run: the error in the job's log, then its state and report. A store
/// that cannot be written is a warning: the migration itself is done.
fn record_end(job: &ClaimedJob, result: &Result<MigrationReport>, state: JobState) {
    let (report, error) = match result {
        Ok(report) => (
            Some(JobReport::from_migration(report)),
            report.failure().map(|e| e.to_string()),
        ),
        Err(e) => (None, Some(e.to_string())),
    };
    record(job, report, error, state);
}

fn record(job: &ClaimedJob, report: Option<JobReport>, error: Option<String>, state: JobState) {
    if let Some(message) = &error {
        let _ = job.store.log_error(&job.id, message);
    }
    if let Err(e) = job.store.finish(&job.id, state, report.as_ref()) {
        tracing::warn!(error = %e, job = %job.id, "the job's end could not be recorded");
    }
}

/// Polls the store for a cancel request and cancels `token` when one comes.
fn watch_cancel(
    job: &ClaimedJob,
    token: CancellationToken,
    by_request: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let (store, id) = (job.store.clone(), job.id.clone());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(CANCEL_POLL).await;
            let (store, asked) = (store.clone(), id.clone());
            let requested = tokio::task::spawn_blocking(move || store.cancel_requested(&asked))
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or(false);
            if requested {
                by_request.store(true, Ordering::SeqCst);
                tracing::warn!("job {id} was cancelled; stopping cleanly…");
                token.cancel();
                return;
            }
        }
    })
}
