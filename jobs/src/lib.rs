//! Durable migration jobs: a SQLite job store ([`store`]) and the journal writer that records
//! a running migration's progress in batches ([`journal`]).

pub mod journal;
pub mod store;

use serde::Serialize;

pub use journal::Journal;
pub use store::{JobError, JobRecord, JobStore, ObjectUpdate};

/// The state of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
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
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Planned => "planned",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::Interrupted => "interrupted",
        }
    }

    /// Parses a stored name (unknown names read as `failed`).
    pub fn parse(s: &str) -> JobState {
        match s {
            "planned" => JobState::Planned,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "cancelled" => JobState::Cancelled,
            "interrupted" => JobState::Interrupted,
            _ => JobState::Failed,
        }
    }
}

/// The state of one object in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectState {
    /// Not at the destination yet.
    Pending,
    /// At the destination (copied, or already there).
    Copied,
    /// Failed.
    Failed,
}

impl ObjectState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectState::Pending => "pending",
            ObjectState::Copied => "copied",
            ObjectState::Failed => "failed",
        }
    }
}
