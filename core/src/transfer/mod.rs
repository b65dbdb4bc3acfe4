//! The transfer engine: plan a backup's copy, then execute it phase by phase.

pub mod checksum;
pub mod engine;
pub mod plan;
pub mod progress;
pub mod split_read;

/// The retry policy the engine takes, re-exported from the [`crate::retry`] layer.
pub use crate::retry::RetryPolicy;
pub use engine::{Engine, FailedObject, TransferOptions, TransferReport, DEFAULT_CONCURRENCY};
pub use plan::{plan_backup, Action, Phase, PlanInputs, PlannedObject, TransferPlan};
pub use progress::{Counters, PlannedEntry, ProgressEvent, ProgressSink};
