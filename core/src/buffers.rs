//! Budgets for the bytes held in memory while copying: one for upload buffers (single-request
//! bodies, multipart parts; owned by the sink), one for ranged reads held until the sink takes
//! them (owned by the engine).
//! Whatever the concurrency, copies wait for budget instead of growing memory: objects in flight
//! and bytes in flight are bounded separately. The two budgets are separate so that a download
//! waiting for its sink can never hold the budget that sink's upload waits for.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

/// Bytes of upload buffers a sink holds at most.
pub const UPLOAD_BUFFER_BUDGET: u64 = 160 * 1024 * 1024;
/// Bytes of ranged-read chunks an engine holds at most.
pub const READ_BUFFER_BUDGET: u64 = 96 * 1024 * 1024;
const UNIT: u64 = 64 * 1024;

/// A budget of bytes held in memory, owned by whoever holds the buffers: the engine owns the
/// one for its ranged reads, each object_store or GCS sink the one for its upload bodies and
/// parts. Clones share the budget. No global state: two engines in one process (an embedding
/// program, the tests) never take each other's budget.
#[derive(Debug, Clone)]
pub struct BufferBudget {
    semaphore: Arc<Semaphore>,
    total: u64,
}

/// A reservation of buffer bytes, returned to its budget when dropped.
#[derive(Debug)]
pub struct BufferReservation {
    _permit: OwnedSemaphorePermit,
}

impl BufferBudget {
    /// A budget of `total` bytes (counted in 64 KiB units; at least one unit).
    pub fn new(total: u64) -> Self {
        let units = (total / UNIT).max(1);
        BufferBudget {
            semaphore: Arc::new(Semaphore::new(units as usize)),
            total: units * UNIT,
        }
    }

    /// The budget of a sink's upload buffers ([`UPLOAD_BUFFER_BUDGET`]).
    pub fn for_uploads() -> Self {
        Self::new(UPLOAD_BUFFER_BUDGET)
    }

    /// The budget of an engine's ranged reads ([`READ_BUFFER_BUDGET`]).
    pub fn for_reads() -> Self {
        Self::new(READ_BUFFER_BUDGET)
    }

    /// Waits until `bytes` may be held (a request larger than the whole budget takes the whole
    /// budget, so it cannot wait forever).
    pub async fn reserve(&self, bytes: u64) -> BufferReservation {
        let units = bytes.div_ceil(UNIT).clamp(1, self.total / UNIT) as u32;
        let permit = self
            .semaphore
            .clone()
            .acquire_many_owned(units)
            .await
            .expect("buffer budgets are never closed");
        BufferReservation { _permit: permit }
    }
}

/// Clean-up tasks a sink started in the background (the abort of a multipart upload, the
/// cancellation of a resumable session, when an upload was dropped mid-way), which its
/// `flush` awaits so nothing is left behind when a phase ends. Owned by the sink; clones
/// share the list.
#[derive(Debug, Clone, Default)]
pub struct PendingTasks {
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl PendingTasks {
    /// Runs `task` in the background on the current runtime (none: it is not run), to be
    /// awaited by [`PendingTasks::wait`].
    pub fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let handle = runtime.spawn(task);
            self.tasks.lock().expect("pending tasks").push(handle);
        }
    }

    /// Waits for every task spawned so far.
    pub async fn wait(&self) {
        let handles = std::mem::take(&mut *self.tasks.lock().expect("pending tasks"));
        for handle in handles {
            let _ = handle.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_wait_for_budget_and_never_deadlock_on_oversize() {
        let uploads = BufferBudget::for_uploads();
        let reserve = |n| uploads.reserve(n);
        let all = reserve(UPLOAD_BUFFER_BUDGET * 4).await;
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), reserve(1)).await;
        assert!(
            waiting.is_err(),
            "a reservation went through an exhausted budget"
        );
        drop(all);
        let _small = tokio::time::timeout(std::time::Duration::from_secs(5), reserve(1))
            .await
            .expect("budget returned");
    }

    #[tokio::test]
    async fn read_budget_is_separate_from_the_upload_budget() {
        let (uploads, reads) = (BufferBudget::for_uploads(), BufferBudget::for_reads());
        let reserve_read = |n| reads.reserve(n);
        let _uploads = uploads.reserve(UPLOAD_BUFFER_BUDGET).await;
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), reserve_read(1 << 20))
            .await
            .expect("a read waited for the upload budget");
        let _all_reads = {
            drop(read);
            reserve_read(READ_BUFFER_BUDGET).await
        };
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(50), reserve_read(1)).await;
        assert!(waiting.is_err(), "a read went through an exhausted budget");
    }
}
