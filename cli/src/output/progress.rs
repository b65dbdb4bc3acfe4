//! Progress on stderr: a bar on a terminal, a plain line every few seconds otherwise.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::transfer::Counters;
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;

/// Seconds between plain progress lines when stderr is not a terminal.
const PLAIN_INTERVAL: Duration = Duration::from_secs(2);
/// Refresh period of the terminal bar.
const BAR_INTERVAL: Duration = Duration::from_millis(120);

/// A running progress display; stop it with [`Progress::finish`].
pub struct Progress {
    stop: ferry_core::CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts showing `counters` (nothing when `quiet`).
    pub fn start(counters: Arc<Counters>, quiet: bool) -> Progress {
        let stop = ferry_core::CancellationToken::new();
        if quiet {
            return Progress { stop, task: None };
        }
        let token = stop.clone();
        let task = if std::io::stderr().is_terminal() {
            tokio::spawn(bar(counters, token))
        } else {
            tokio::spawn(plain(counters, token))
        };
        Progress {
            stop,
            task: Some(task),
        }
    }

    /// Stops the display.
    pub async fn finish(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

async fn bar(counters: Arc<Counters>, stop: ferry_core::CancellationToken) {
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    loop {
        let (done, total, objects_done, objects_total) = counters.snapshot();
        pb.set_length(total);
        pb.set_position(done.min(total));
        pb.set_message(format!("{objects_done}/{objects_total} objects"));
        if stop.is_cancelled() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(BAR_INTERVAL) => {}
            _ = stop.cancelled() => {}
        }
    }
    pb.finish_and_clear();
}

async fn plain(counters: Arc<Counters>, stop: ferry_core::CancellationToken) {
    let started = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PLAIN_INTERVAL) => {}
            _ = stop.cancelled() => return,
        }
        let (done, total, objects_done, objects_total) = counters.snapshot();
        let secs = started.elapsed().as_secs_f64().max(0.001);
        eprintln!(
            "ferry: {objects_done}/{objects_total} objects, {}/{} ({}/s)",
            HumanBytes(done),
            HumanBytes(total),
            HumanBytes((done as f64 / secs) as u64)
        );
    }
}
