//! `ferry jobs`: list, show, resume, cancel and remove recorded migrations.

use std::time::Duration;

use ferry_core::{Error, Result, Side};
use ferry_jobs::{ClaimedJob, JobRecord, JobReport, JobState};
use serde::Serialize;

use crate::commands::migrate::{run_migration, OutputMode};
use crate::output::human::{bytes, table};
use crate::output::print_json;
use crate::stores::open_job_store;
use crate::{exit, Context, JobsArgs, JobsCommand};

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
fn entity_rows(report: &JobReport) -> Vec<Vec<String>> {
    report
        .backups
        .iter()
        .flat_map(|b| {
            b.collections.iter().map(move |c| {
                vec![
                    b.name.clone(),
                    format!("{}.{}", c.db, c.name),
                    c.source_entities.to_string(),
                    c.target_entities
                        .map(|e| e.to_string())
                        .unwrap_or_else(|| "missing".into()),
                    if c.matches() { "yes" } else { "NO" }.to_string(),
                ]
            })
        })
        .collect()
}

/// Runs `ferry jobs …`.
pub async fn run(context: &Context, args: JobsArgs) -> Result<u8> {
    let store = open_job_store(context)?;
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
            if let Some(stored) = job.options.as_ref().and_then(|o| o.restore.as_ref()) {
                let (steps, sent) = crate::commands::restore::job_steps(stored, &job.id);
                println!("  restore:     {} import request(s) sent", sent);
                for (collection, step) in steps {
                    println!("    {collection}: {step}");
                }
            }
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
                for b in report.backups.iter() {
                    if !b.destination_location.is_empty() {
                        println!("  migrated backup folder: {}", b.destination_location);
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
            // Refuses a job that succeeded, and one another process runs (naming it).
            let (job, record, options) = ClaimedJob::resume(store, &id)?;
            if let Some(stored) = &options.restore {
                // A restore: the same restore again, credentials from this run's environment;
                // its journal makes sure nothing is imported twice.
                let mut source = record.source.clone();
                context.flags.configure(&mut source, Some(Side::Source))?;
                let args = crate::commands::restore::args_of(stored);
                return crate::commands::restore::run_restore(
                    context,
                    source,
                    &stored.cluster,
                    &options.backups,
                    &args,
                    output.json,
                    quiet,
                    crate::commands::restore::RestoreJob::Resumed(job),
                )
                .await;
            }
            // Secrets are never stored: they come from this run's flags and environment.
            let mut source = record.source.clone();
            context.flags.configure(&mut source, Some(Side::Source))?;
            let mut destination = record.destination.clone();
            context
                .flags
                .configure(&mut destination, Some(Side::Destination))?;
            run_migration(
                context,
                Some(job),
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
