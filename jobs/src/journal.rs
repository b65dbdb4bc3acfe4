//! The journal writer: consumes a migration's progress events and records them in the job
//! store in batches (one transaction per batch), so the journal never slows the copy down.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinHandle;

use crate::store::{JobStore, ObjectUpdate};
use crate::ObjectState;
use ferry_core::transfer::ProgressEvent;

/// Updates per transaction, at most.
const BATCH: usize = 2000;
/// Longest a pending update waits before it is written.
const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// A running journal writer; events received are forwarded to `forward` (the UI) too.
pub struct Journal {
    task: JoinHandle<()>,
}

impl Journal {
    /// Starts recording the events of `rx` for job `id`; every event is also passed on to
    /// `forward` (for the UI), when given.
    pub fn spawn(
        store: Arc<JobStore>,
        id: String,
        mut rx: UnboundedReceiver<ProgressEvent>,
        forward: Option<tokio::sync::mpsc::UnboundedSender<ProgressEvent>>,
    ) -> Journal {
        let task = tokio::spawn(async move {
            let mut pending: Vec<ObjectUpdate> = Vec::new();
            let mut last_flush = Instant::now();
            let mut totals = (0u64, 0u64);
            loop {
                let event = tokio::select! {
                    e = rx.recv() => e,
                    _ = tokio::time::sleep(FLUSH_EVERY) => {
                        flush(&store, &id, &mut pending).await;
                        last_flush = Instant::now();
                        continue;
                    }
                };
                let Some(event) = event else { break };
                match &event {
                    ProgressEvent::Planned { backup, objects } => {
                        for o in objects {
                            totals.0 += 1;
                            totals.1 += o.size;
                            pending.push(ObjectUpdate {
                                backup: backup.clone(),
                                key: o.key.clone(),
                                size: o.size,
                                state: if o.skip {
                                    ObjectState::Copied
                                } else {
                                    ObjectState::Pending
                                },
                                crc32c: None,
                                error: None,
                            });
                        }
                        let store = store.clone();
                        let id = id.clone();
                        let (objects, bytes) = totals;
                        let _ = tokio::task::spawn_blocking(move || {
                            store.set_totals(&id, objects, bytes)
                        })
                        .await;
                    }
                    ProgressEvent::ObjectCopied {
                        backup,
                        key,
                        bytes,
                        crc32c,
                        ..
                    } => pending.push(ObjectUpdate {
                        backup: backup.clone(),
                        key: key.clone(),
                        size: *bytes,
                        state: ObjectState::Copied,
                        crc32c: *crc32c,
                        error: None,
                    }),
                    ProgressEvent::ObjectFailed { backup, key, error } => {
                        pending.push(ObjectUpdate {
                            backup: backup.clone(),
                            key: key.clone(),
                            size: 0,
                            state: ObjectState::Failed,
                            crc32c: None,
                            error: Some(error.clone()),
                        });
                        let store = store.clone();
                        let (id, msg) = (id.clone(), format!("{backup}/{key}: {error}"));
                        let _ =
                            tokio::task::spawn_blocking(move || store.log_error(&id, &msg)).await;
                    }
                    _ => {}
                }
                if let Some(f) = &forward {
                    let _ = f.send(event);
                }
                if pending.len() >= BATCH || last_flush.elapsed() >= FLUSH_EVERY {
                    flush(&store, &id, &mut pending).await;
                    last_flush = Instant::now();
                }
            }
            flush(&store, &id, &mut pending).await;
        });
        Journal { task }
    }

    /// No job store: passes every event of `rx` on to `forward`, when given, and records none.
    pub fn forward_only(
        mut rx: UnboundedReceiver<ProgressEvent>,
        forward: Option<tokio::sync::mpsc::UnboundedSender<ProgressEvent>>,
    ) -> Journal {
        let task = tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if let Some(f) = &forward {
                    let _ = f.send(event);
                }
            }
        });
        Journal { task }
    }

    /// Waits until every event was recorded (call after the sender side is dropped).
    pub async fn finish(self) {
        let _ = self.task.await;
    }
}

async fn flush(store: &Arc<JobStore>, id: &str, pending: &mut Vec<ObjectUpdate>) {
    if pending.is_empty() {
        return;
    }
    let batch = std::mem::take(pending);
    let store = store.clone();
    let id = id.to_string();
    let result = tokio::task::spawn_blocking(move || store.record_objects(&id, &batch)).await;
    if let Ok(Err(e)) = result {
        tracing::warn!(error = %e, "the job journal could not be written; the copy goes on");
    }
}
