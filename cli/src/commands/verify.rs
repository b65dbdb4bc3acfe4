//! `ferry verify`: compare backups with their copies.

use ferry_core::backup::{discover, examine, BackupRef};
use ferry_core::key::ObjectKey;
use ferry_core::migrate::select_backups;
use ferry_core::verify::{verify_backup, VerifyInputs, VerifyReport, VerifyTarget};
use ferry_core::{Error, ErrorKind, Result, Side, Source};
use serde::Serialize;

use crate::output::print_json;
use crate::{exit, stores, Context, VerifyArgs};

#[derive(Serialize)]
struct VerifyDocument {
    source: String,
    destination: String,
    backups: Vec<VerifyReport>,
    identical: bool,
}

/// Where the copy of `name` is in the destination: `<dest>/<name>/`, or the destination itself
/// when it is that backup folder.
async fn locate_copy(target: &dyn Source, name: &str) -> Result<BackupRef> {
    let nested = ObjectKey::new(format!("{name}/meta/backup_meta.json"))?;
    if target.stat(&nested).await?.is_some() {
        return Ok(BackupRef {
            name: name.to_string(),
            prefix: format!("{name}/"),
        });
    }
    let direct = ObjectKey::new("meta/backup_meta.json")?;
    if target.stat(&direct).await?.is_some() {
        let found = discover(target).await?;
        if found.backups.iter().any(|b| b.name == name) {
            return Ok(BackupRef {
                name: name.to_string(),
                prefix: String::new(),
            });
        }
    }
    Err(Error::not_found(format!(
        "no copy of backup {name:?} at {} (looked for {name}/meta/backup_meta.json)",
        target.location()
    ))
    .with_hint("give the destination root used with `ferry migrate`, or the copied backup folder"))
}

/// Runs the command; exit code 8 when anything differs.
pub async fn run(context: &Context, args: VerifyArgs) -> Result<u8> {
    let (spec, destination) = stores::SourceSpec::with_destination(
        &args.locations,
        args.config.milvus_backup_config.as_deref(),
    )?;
    let source = stores::open_source_spec(context, Some(Side::Source), &spec).await?;
    if ferry_milvus::is_cluster_url(&destination) {
        return crate::commands::restore::run_verify(
            source,
            &destination,
            &args.backups,
            &args.cluster,
            args.output.json,
        )
        .await;
    }
    let target = stores::open_source(
        context,
        Some(Side::Destination),
        "destination",
        &destination,
    )
    .await?;
    let (_, chosen) = select_backups(source.as_ref(), &args.backups).await?;
    let mut reports = Vec::new();
    for reference in &chosen {
        let original = examine(source.as_ref(), reference, false).await?;
        let copy = locate_copy(target.as_ref(), &reference.name).await?;
        let mut report = verify_backup(VerifyInputs {
            source: source.as_ref(),
            source_backup: &original,
            target: VerifyTarget::Readable(target.as_ref()),
            target_ref: &copy,
            deep: args.deep,
            sizes_only: matches!(args.verify, crate::VerifyMode::Sizes),
            copied_checksums: None,
        })
        .await?;
        report.source_location = if reference.prefix.is_empty() {
            source.location().to_string()
        } else {
            source.location().child(&reference.name)?.to_string()
        };
        report.target_location = if copy.prefix.is_empty() {
            target.location().to_string()
        } else {
            target.location().child(&copy.name)?.to_string()
        };
        reports.push(report);
    }
    let identical = reports.iter().all(|r| r.identical);
    // With --verify sizes, equal keys and sizes are what was asked for: not "identical", but no
    // failure either.
    let sizes_only = matches!(args.verify, crate::VerifyMode::Sizes);
    let passed = identical || (sizes_only && reports.iter().all(|r| r.differences.is_empty()));
    if args.output.json {
        print_json(&VerifyDocument {
            source: source.location().to_string(),
            destination: target.location().to_string(),
            backups: reports,
            identical,
        });
    } else {
        for r in &reports {
            println!(
                "Backup {}: {}\n  source {}\n  target {}\n  {}{}",
                r.backup,
                crate::output::human::verdict(r),
                r.source_location,
                r.target_location,
                crate::output::human::verify_proof(r),
                if r.deep {
                    " (deep: every object re-read)"
                } else {
                    ""
                }
            );
            for what in &r.not_compared {
                println!("  not compared: {what}");
            }
            for c in &r.source.collections {
                let t = r
                    .target
                    .collections
                    .iter()
                    .find(|t| t.db == c.db && t.name == c.name);
                println!(
                    "  collection {}.{}: entities {} → {}",
                    c.db,
                    c.name,
                    c.entities,
                    t.map(|t| t.entities.to_string())
                        .unwrap_or_else(|| "missing".into())
                );
            }
            for d in &r.differences {
                println!(
                    "  difference: {:?} {}{}",
                    d.kind,
                    d.key
                        .as_deref()
                        .map(|k| format!("{k}: "))
                        .unwrap_or_default(),
                    d.message
                );
            }
        }
    }
    if passed {
        Ok(exit::OK)
    } else {
        if !args.output.json {
            eprintln!("ferry: error: the copy differs from the source (see the differences above)");
        }
        Ok(exit::code_for(ErrorKind::VerificationFailed))
    }
}
