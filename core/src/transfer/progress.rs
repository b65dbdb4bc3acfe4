//! Progress: counters the UI polls, and discrete events on a channel.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use tokio::sync::mpsc::UnboundedSender;

use super::plan::Phase;

/// One object of a plan, as announced to listeners.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedEntry {
    /// Key relative to the backup folder.
    pub key: String,
    /// Size.
    pub size: u64,
    /// Already at the destination.
    pub skip: bool,
}

/// Something that happened during a transfer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ProgressEvent {
    /// A backup's plan (every object); for journals, not printed.
    Planned {
        /// Backup name.
        backup: String,
        /// The objects.
        objects: Vec<PlannedEntry>,
    },
    /// A backup's transfer starts.
    BackupStarted {
        /// Backup name.
        backup: String,
        /// Objects to copy.
        objects: u64,
        /// Bytes to copy.
        bytes: u64,
        /// Objects already at the destination, skipped.
        skipped: u64,
    },
    /// A phase (data, meta, …) starts.
    PhaseStarted {
        /// Backup name.
        backup: String,
        /// The phase.
        phase: Phase,
    },
    /// An object was copied.
    ObjectCopied {
        /// Backup name.
        backup: String,
        /// Key relative to the backup folder.
        key: String,
        /// Bytes.
        bytes: u64,
        /// CRC32C of the bytes streamed (absent for server-side copies).
        #[serde(skip_serializing_if = "Option::is_none")]
        crc32c: Option<u32>,
        /// Copied inside the store.
        server_side: bool,
    },
    /// A failed attempt will be retried.
    Retrying {
        /// Backup name.
        backup: String,
        /// Key relative to the backup folder.
        key: String,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Why it failed.
        error: String,
    },
    /// An object could not be copied.
    ObjectFailed {
        /// Backup name.
        backup: String,
        /// Key relative to the backup folder.
        key: String,
        /// Why.
        error: String,
    },
}

/// Shared counters for the whole run.
#[derive(Debug, Default)]
pub struct Counters {
    /// Bytes to transfer in total.
    pub bytes_total: AtomicU64,
    /// Bytes transferred so far (including partial objects).
    pub bytes_done: AtomicU64,
    /// Objects to transfer in total.
    pub objects_total: AtomicU64,
    /// Objects finished.
    pub objects_done: AtomicU64,
}

impl Counters {
    /// Reads (bytes_done, bytes_total, objects_done, objects_total).
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.bytes_done.load(Ordering::Relaxed),
            self.bytes_total.load(Ordering::Relaxed),
            self.objects_done.load(Ordering::Relaxed),
            self.objects_total.load(Ordering::Relaxed),
        )
    }
}

/// Where progress goes: counters always, events when someone listens.
#[derive(Debug, Clone, Default)]
pub struct ProgressSink {
    /// Counters the UI polls.
    pub counters: std::sync::Arc<Counters>,
    /// Event channel, when someone listens.
    pub events: Option<UnboundedSender<ProgressEvent>>,
}

impl ProgressSink {
    /// Sends an event if someone listens (a closed channel is ignored).
    pub fn emit(&self, event: ProgressEvent) {
        if let Some(tx) = &self.events {
            let _ = tx.send(event);
        }
    }
}
