//! One process-wide budget for the bytes plugins hold in memory while uploading (single-request
//! bodies, multipart parts). Whatever the concurrency, uploads wait for budget instead of
//! growing memory: objects in flight and bytes in flight are bounded separately.

use std::sync::OnceLock;

use tokio::sync::{Semaphore, SemaphorePermit};

/// Bytes of upload buffers the process holds at most.
pub const UPLOAD_BUFFER_BUDGET: u64 = 160 * 1024 * 1024;
const UNIT: u64 = 64 * 1024;

fn budget() -> &'static Semaphore {
    static BUDGET: OnceLock<Semaphore> = OnceLock::new();
    BUDGET.get_or_init(|| Semaphore::new((UPLOAD_BUFFER_BUDGET / UNIT) as usize))
}

/// A reservation of upload buffer bytes, returned when dropped.
#[derive(Debug)]
pub struct BufferReservation {
    _permit: SemaphorePermit<'static>,
}

/// Waits until `bytes` of buffer may be held (a request larger than the whole budget takes
/// the whole budget, so it cannot wait forever).
pub async fn reserve(bytes: u64) -> BufferReservation {
    let units = bytes.div_ceil(UNIT).clamp(1, UPLOAD_BUFFER_BUDGET / UNIT) as u32;
    let permit = budget()
        .acquire_many(units)
        .await
        .expect("the buffer budget is never closed");
    BufferReservation { _permit: permit }
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
}
