//! `ferry jobs`: list, show, resume, cancel and remove recorded migrations.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::{CancellationToken, Error, Location, Result, Side};
use ferry_jobs::{JobRecord, JobState, JobStore};
use serde::Serialize;

use crate::commands::migrate::{run_migration, JobOptions, OutputMode};
use crate::output::human::{bytes, table};
use crate::output::print_json;
use crate::{exit, Context, JobsArgs, JobsCommand};

/// Opens the job store of the context's state directory.
pub fn open_store(context: &Context) -> Result<Arc<JobStore>> {
    let dir = context
        .state_dir
        .clone()
        .or_else(JobStore::default_dir)
        .ok_or_else(|| {
            Error::invalid_input("no state directory: set --state-dir, FERRY_STATE_DIR or HOME")
        })?;
    let store = JobStore::open(&dir)?;
    store.reap_dead()?;
    Ok(Arc::new(store))
}

/// Records a new job; a store that cannot be opened is a warning (the copy still runs).
pub fn create(
    context: &Context,
    name: Option<&str>,
    source: &Location,
    destination: &Location,
    options: &JobOptions,
) -> Option<(Arc<JobStore>, String)> {
    let attempt = || -> Result<(Arc<JobStore>, String)> {
        let store = open_store(context)?;
        let value = serde_json::to_value(options).map_err(|e| Error::internal(e.to_string()))?;
        let id = store.create(name, source, destination, &value)?;
        store.claim(&id)?;
        Ok((store, id))
    };
    match attempt() {
        Ok(job) => Some(job),
        Err(e) => {
            eprintln!(
                "ferry: warning: this migration is not recorded as a job ({e}); it runs anyway"
            );
            None
        }
    }
}

/// Polls the store for a cancel request and cancels `token` when one comes.
pub fn watch_cancel(
    store: Arc<JobStore>,
    id: String,
    token: CancellationToken,
    by_request: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let store = store.clone();
            let id2 = id.clone();
            let requested = tokio::task::spawn_blocking(move || store.cancel_requested(&id2))
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or(false);
            if requested {
                by_request.store(true, Ordering::SeqCst);
                eprintln!("ferry: job {id} was cancelled; stopping cleanly…");
                token.cancel();
                return;
            }
        }
    })
}

fn when(ms: Option<i64>) -> String {
    match ms {
        None => "-".to_string(),
        Some(ms) => ferry_core::time::format_unix_seconds(ms.div_euclid(1000)),
    }
}

/// Throughput and ETA of a job.
#[derive(Debug, Clone, Serialize)]
struct Rates {
    /// Bytes per second since the job (re)started.
    bytes_per_second: f64,
    /// Seconds left at that rate (running jobs).
    #[serde(skip_serializing_if = "Option::is_none")]
    eta_seconds: Option<f64>,
}

fn rates(job: &JobRecord) -> Rates {
    let end = job.finished_at.unwrap_or_else(ferry_jobs::store::now_ms);
    let secs = job
        .started_at
        .map(|s| (end - s) as f64 / 1000.0)
        .unwrap_or(0.0);
    let rate = if secs > 0.0 {
        job.bytes_done as f64 / secs
    } else {
        0.0
    };
    let eta = (job.state == JobState::Running && rate > 0.0)
        .then(|| job.bytes_total.saturating_sub(job.bytes_done) as f64 / rate);
    Rates {
        bytes_per_second: rate,
        eta_seconds: eta,
    }
}

#[derive(Serialize)]
struct ShowDocument<'a> {
    #[serde(flatten)]
    job: &'a JobRecord,
    #[serde(flatten)]
    rates: Rates,
    errors: Vec<ferry_jobs::JobError>,
}

/// Per collection: entities at the source, at the target, and whether they match.
fn entity_rows(report: &serde_json::Value) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for b in report["backups"].as_array().into_iter().flatten() {
        let source = &b["verify"]["source"]["collections"];
        let target = &b["verify"]["target"]["collections"];
        for c in source.as_array().into_iter().flatten() {
            let t = target
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["db"] == c["db"] && t["name"] == c["name"]);
            let target_entities = t.map(|t| t["entities"].clone());
            let te = target_entities
                .as_ref()
                .map(|v| v.to_string())
                .unwrap_or_else(|| "missing".into());
            rows.push(vec![
                b["name"].as_str().unwrap_or("?").to_string(),
                format!(
                    "{}.{}",
                    c["db"].as_str().unwrap_or("?"),
                    c["name"].as_str().unwrap_or("?")
                ),
                c["entities"].to_string(),
                te.clone(),
                if target_entities.as_ref() == Some(&c["entities"]) {
                    "yes".into()
                } else {
                    "NO".into()
                },
            ]);
        }
    }
    rows
}

/// Runs `ferry jobs …`.
pub async fn run(context: &Context, args: JobsArgs) -> Result<u8> {
    let store = open_store(context)?;
    match args.command {
        JobsCommand::List { output } => {
            let jobs = store.list()?;
            if output.json {
                print_json(&jobs);
                return Ok(exit::OK);
            }
            let rows: Vec<Vec<String>> = jobs
                .iter()
                .map(|j| {
                    vec![
                        j.id.clone(),
                        j.name.clone().unwrap_or_default(),
                        j.state.as_str().to_string(),
                        when(Some(j.created_at)),
                        format!("{}/{}", j.objects_done, j.objects_total),
                        j.source.to_string(),
                        j.destination.to_string(),
                    ]
                })
                .collect();
            print!(
                "{}",
                table(
                    &[
                        "ID",
                        "NAME",
                        "STATE",
                        "CREATED",
                        "OBJECTS",
                        "SOURCE",
                        "DESTINATION"
                    ],
                    &rows
                )
            );
            Ok(exit::OK)
        }
        JobsCommand::Show { id, output } => {
            let id = store.resolve(&id)?;
            let job = store.get(&id)?;
            let errors = store.errors(&id)?;
            let rates = rates(&job);
            if output.json {
                print_json(&ShowDocument {
                    job: &job,
                    rates,
                    errors,
                });
                return Ok(exit::OK);
            }
            println!(
                "Job {}{}",
                job.id,
                job.name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            );
            println!("  state:       {}", job.state.as_str());
            println!("  source:      {}", job.source);
            println!("  destination: {}", job.destination);
            println!(
                "  created {} · started {} · finished {}",
                when(Some(job.created_at)),
                when(job.started_at),
                when(job.finished_at)
            );
            println!(
                "  progress:    {}/{} objects, {} of {}, {} failed",
                job.objects_done,
                job.objects_total,
                bytes(job.bytes_done),
                bytes(job.bytes_total),
                job.objects_failed
            );
            println!(
                "  throughput:  {}/s{}",
                indicatif::HumanBytes(rates.bytes_per_second as u64),
                rates
                    .eta_seconds
                    .map(|e| format!(" · ETA {:.0} s", e))
                    .unwrap_or_default()
            );
            if let Some(report) = &job.report {
                let rows = entity_rows(report);
                if !rows.is_empty() {
                    print!(
                        "{}",
                        table(
                            &[
                                "BACKUP",
                                "COLLECTION",
                                "ENTITIES (SOURCE)",
                                "ENTITIES (TARGET)",
                                "MATCH"
                            ],
                            &rows
                        )
                    );
                }
                for b in report["backups"].as_array().into_iter().flatten() {
                    if let Some(dest) = b["destination_location"].as_str() {
                        println!("  migrated backup folder: {dest}");
                    }
                }
            }
            if !errors.is_empty() {
                println!("  error log:");
                for e in &errors {
                    println!("    {} {}", when(Some(e.at)), e.message);
                }
            }
            Ok(exit::OK)
        }
        JobsCommand::Resume { id, quiet, output } => {
            let id = store.resolve(&id)?;
            let job = store.get(&id)?;
            if job.state == JobState::Succeeded {
                return Err(Error::conflict(format!(
                    "job {id} succeeded: nothing to resume"
                )));
            }
            // Refuses, naming the process, while another process runs the job.
            store.claim(&id)?;
            let options: JobOptions = serde_json::from_value(job.options.clone())
                .map_err(|e| Error::internal(format!("job {id} has unreadable options: {e}")))?;
            // Secrets are never stored: they come from this run's flags and environment.
            let mut source = job.source.clone();
            context.flags.configure(&mut source, Some(Side::Source))?;
            let mut destination = job.destination.clone();
            context
                .flags
                .configure(&mut destination, Some(Side::Destination))?;
            run_migration(
                context,
                Some((store, id)),
                source,
                destination,
                &options,
                false,
                OutputMode {
                    json: output.json,
                    quiet,
                },
            )
            .await
        }
        JobsCommand::Cancel { id, wait } => {
            let id = store.resolve(&id)?;
            let job = store.get(&id)?;
            if job.state != JobState::Running {
                return Err(Error::conflict(format!(
                    "job {id} is {}, not running",
                    job.state.as_str()
                )));
            }
            store.request_cancel(&id)?;
            let deadline = std::time::Instant::now() + Duration::from_secs(wait);
            loop {
                store.reap_dead()?;
                let state = store.get(&id)?.state;
                if state != JobState::Running {
                    println!("Job {id} is {}", state.as_str());
                    return Ok(exit::OK);
                }
                if std::time::Instant::now() > deadline {
                    println!("Job {id}: cancel requested; it stops at its next check");
                    return Ok(exit::OK);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        JobsCommand::Rm { id } => {
            let id = store.resolve(&id)?;
            store.remove(&id)?;
            println!("Removed job {id}");
            Ok(exit::OK)
        }
        JobsCommand::Prune { older_than } => {
            let removed = store.prune(parse_age(&older_than)?)?;
            println!("Removed {} jobs", removed.len());
            Ok(exit::OK)
        }
    }
}

/// Parses ages such as `30d`, `12h`, `45m`, `90s`.
pub fn parse_age(text: &str) -> Result<Duration> {
    let (number, unit) = text.split_at(
        text.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .len(),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| Error::invalid_input(format!("{text:?} is not an age like 30d, 12h, 45m")))?;
    let secs = match unit {
        "d" => n * 86_400,
        "h" => n * 3600,
        "m" => n * 60,
        "s" | "" => n,
        _ => {
            return Err(Error::invalid_input(format!(
                "{text:?}: the unit is d, h, m or s"
            )))
        }
    };
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_dates() {
        assert_eq!(parse_age("30d").unwrap(), Duration::from_secs(30 * 86_400));
        assert_eq!(parse_age("90").unwrap(), Duration::from_secs(90));
        assert!(parse_age("soon").is_err());
        assert!(parse_age("3w").is_err());
        assert_eq!(when(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(when(None), "-");
    }
}
