//! `ferry inspect`: backups found at a location, what each holds, problems.

use ferry_core::backup::{examine_all, BackupReport};
use ferry_core::migrate::select_backups;
use ferry_core::{ErrorKind, Result};
use serde::Serialize;

use crate::output::{human, print_json};
use crate::{exit, stores, Context, InspectArgs};

#[derive(Serialize)]
struct InspectDocument {
    location: String,
    backups: Vec<BackupReport>,
    incomplete: Vec<String>,
    stray: Vec<String>,
    valid: bool,
}

/// Runs the command; exit code 6 when any backup has errors.
pub async fn run(context: &Context, args: InspectArgs) -> Result<u8> {
    let spec = stores::SourceSpec::single(
        args.location.as_ref(),
        args.config.milvus_backup_config.as_deref(),
    )?;
    let source = stores::open_source_spec(context, None, &spec).await?;
    let (discovery, chosen) = select_backups(source.as_ref(), &args.backups).await?;
    let mut reports = Vec::new();
    let examined_all = examine_all(source.as_ref(), &chosen, args.deep).await?;
    for (reference, examined) in chosen.iter().zip(examined_all) {
        let location = if reference.prefix.is_empty() {
            source.location().to_string()
        } else {
            source.location().child(&reference.name)?.to_string()
        };
        reports.push(examined.report(location));
    }
    let valid = reports.iter().all(|r| r.valid);
    if args.output.json {
        print_json(&InspectDocument {
            location: source.location().to_string(),
            backups: reports,
            incomplete: discovery.incomplete,
            stray: discovery.stray,
            valid,
        });
    } else {
        for r in &reports {
            println!("{}", human::backup_report(r));
        }
        for name in &discovery.incomplete {
            println!("Incomplete backup (no meta/backup_meta.json, not usable): {name}");
        }
        if !discovery.stray.is_empty() {
            println!("Not backups: {}", discovery.stray.join(", "));
        }
    }
    Ok(if valid {
        exit::OK
    } else {
        exit::code_for(ErrorKind::InvalidBackup)
    })
}
