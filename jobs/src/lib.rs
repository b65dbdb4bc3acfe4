//! Durable migration jobs, the same for the CLI and any program that embeds Ferry:
//! - [`store`]: the SQLite job store (jobs, per-object journal, error log, claims);
//! - [`journal`]: records a running migration's progress events in batches;
//! - [`runner`]: runs one migration as a job (claim, journal, cancel requests, its end);
//! - [`options`] and [`report`]: what a job stores of its options and of its last run, as
//!   typed, versioned structs.

pub mod journal;
pub mod options;
pub mod report;
pub mod runner;
pub mod store;

use serde::{Deserialize, Serialize};

pub use journal::Journal;
pub use options::{JobOptions, RestoreJobOptions};
pub use report::JobReport;
pub use runner::{run_migration, ClaimedJob, RunOutcome};
pub use store::{JobError, JobRecord, JobStore, ObjectUpdate};

/// The state of a job.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum JobState {
    /// Recorded, not started.
    Planned,
    /// A process runs it.
    Running,
    /// Copied and verified.
    Succeeded,
    /// Ended with an error.
    Failed,
    /// Stopped by `ferry jobs cancel`.
    Cancelled,
    /// Stopped by a signal, or its process died.
    Interrupted,
}

impl JobState {
    /// The stored name (the same as its serde name).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Parses a stored name (unknown names read as `failed`).
    pub fn parse(s: &str) -> JobState {
        s.parse().unwrap_or(JobState::Failed)
    }
}

/// The state of one object in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ObjectState {
    /// Not at the destination yet.
    Pending,
    /// At the destination (copied, or already there).
    Copied,
    /// Failed.
    Failed,
}

impl ObjectState {
    /// The stored name (the same as its serde name).
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}
