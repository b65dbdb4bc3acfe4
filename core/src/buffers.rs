//! Process-wide budgets for the bytes held in memory while copying: one for upload buffers
//! (single-request bodies, multipart parts), one for ranged reads held until the sink takes them.
//! Whatever the concurrency, copies wait for budget instead of growing memory: objects in flight
//! and bytes in flight are bounded separately. The two budgets are separate so that a download
//! waiting for its sink can never hold the budget that sink's upload waits for.

use std::sync::OnceLock;

use tokio::sync::{Semaphore, SemaphorePermit};

/// Bytes of upload buffers the process holds at most.
pub const UPLOAD_BUFFER_BUDGET: u64 = 160 * 1024 * 1024;
/// Bytes of ranged-read chunks the process holds at most.
pub const READ_BUFFER_BUDGET: u64 = 96 * 1024 * 1024;
const UNIT: u64 = 64 * 1024;

fn upload_budget() -> &'static Semaphore {
    static BUDGET: OnceLock<Semaphore> = OnceLock::new();
    BUDGET.get_or_init(|| Semaphore::new((UPLOAD_BUFFER_BUDGET / UNIT) as usize))
}

fn read_budget() -> &'static Semaphore {
    static BUDGET: OnceLock<Semaphore> = OnceLock::new();
    BUDGET.get_or_init(|| Semaphore::new((READ_BUFFER_BUDGET / UNIT) as usize))
}

/// A reservation of buffer bytes, returned when dropped.
#[derive(Debug)]
pub struct BufferReservation {
    _permit: SemaphorePermit<'static>,
}

async fn reserve_from(budget: &'static Semaphore, total: u64, bytes: u64) -> BufferReservation {
    let units = bytes.div_ceil(UNIT).clamp(1, total / UNIT) as u32;
    let permit = budget
        .acquire_many(units)
        .await
        .expect("buffer budgets are never closed");
    BufferReservation { _permit: permit }
}

/// Waits until `bytes` of upload buffer may be held (a request larger than the whole budget
/// takes the whole budget, so it cannot wait forever).
pub async fn reserve(bytes: u64) -> BufferReservation {
    reserve_from(upload_budget(), UPLOAD_BUFFER_BUDGET, bytes).await
}

/// Waits until `bytes` of ranged-read chunks may be held (same rules as [`reserve`]).
pub async fn reserve_read(bytes: u64) -> BufferReservation {
    reserve_from(read_budget(), READ_BUFFER_BUDGET, bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_wait_for_budget_and_never_deadlock_on_oversize() {
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
        let _uploads = reserve(UPLOAD_BUFFER_BUDGET).await;
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
