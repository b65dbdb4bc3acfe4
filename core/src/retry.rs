//! Retry with back-off as one layer, used alike by the engine (each object), the backup reader
//! (listings, meta, binlog footers) and the plugins (container checks): [`RetryPolicy`] says how
//! often and how patiently, `backon` (the crate Apache OpenDAL's retry layer uses) runs the
//! loop, and only errors that say retrying can help ([`crate::Error::is_retryable`]) are tried
//! again.

use std::time::Duration;

use backon::{BackoffBuilder, Retryable};
use serde::Serialize;

/// How often and how patiently to retry one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// Delay before the first retry.
    pub initial_backoff: Duration,
    /// Longest delay between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt `attempt` (1-based): doubling, capped, with up to 25 %
    /// jitter so that many workers do not retry in lockstep.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let base = exp.min(self.max_backoff);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = base.mul_f64(f64::from(nanos % 250) / 1000.0);
        base + jitter
    }
}

/// The delays between the attempts of one [`RetryPolicy`], as `backon` takes them: one delay
/// per retry, [`RetryPolicy::backoff`] of the attempt that failed, `max_attempts - 1` in all.
#[derive(Debug, Clone)]
pub struct PolicyDelays {
    policy: RetryPolicy,
    failed_attempt: u32,
}

impl Iterator for PolicyDelays {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        if self.failed_attempt >= self.policy.max_attempts {
            return None;
        }
        let delay = self.policy.backoff(self.failed_attempt);
        self.failed_attempt += 1;
        Some(delay)
    }
}

impl BackoffBuilder for RetryPolicy {
    type Backoff = PolicyDelays;
    fn build(self) -> PolicyDelays {
        PolicyDelays {
            policy: self,
            failed_attempt: 1,
        }
    }
}

/// Runs `op` until it succeeds, fails with an error that is not retryable, or has been tried
/// `policy.max_attempts` times, sleeping [`RetryPolicy::backoff`] between attempts; each retry
/// is logged (warn) with `what`.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, what: &str, op: F) -> crate::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
{
    let mut attempt = 0u32;
    retry_notifying(policy, op, |e, delay| {
        attempt += 1;
        tracing::warn!(attempt, error = %e, ?delay, "{what}: retrying");
    })
    .await
}

/// [`retry`], calling `notify` with the error and the delay before each retry (the engine
/// reports each retry as a progress event this way).
pub async fn retry_notifying<T, F, Fut, N>(
    policy: &RetryPolicy,
    op: F,
    notify: N,
) -> crate::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = crate::Result<T>>,
    N: FnMut(&crate::Error, Duration),
{
    op.retry(*policy)
        .sleep(tokio::time::sleep)
        .when(crate::Error::is_retryable)
        .notify(notify)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retry_stops_on_success_or_permanent_errors() {
        let policy = RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
        };
        let mut calls = 0;
        let r = retry(&policy, "t", || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 {
                    Err(crate::Error::new(crate::ErrorKind::Transient, "flaky"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.unwrap(), 3);
        let mut calls = 0;
        let r: crate::Result<()> = retry(&policy, "t", || {
            calls += 1;
            async { Err(crate::Error::not_found("gone")) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
        let mut calls = 0;
        let r: crate::Result<()> = retry(&policy, "t", || {
            calls += 1;
            async { Err(crate::Error::new(crate::ErrorKind::Transient, "down")) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls, 4);
    }

    #[test]
    fn backoff_grows_and_caps() {
        let p = RetryPolicy::default();
        assert!(p.backoff(1) >= Duration::from_millis(200));
        assert!(p.backoff(1) < Duration::from_millis(260));
        assert!(p.backoff(3) >= Duration::from_millis(800));
        assert!(p.backoff(30) <= Duration::from_millis(6250));
    }
}
