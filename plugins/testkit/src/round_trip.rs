//! The round-trip check: the real sample backup (embedded at build time) is migrated from
//! memory into the store and back with Ferry's own engine, deep-validated and verified both
//! ways, and must come back byte for byte.

use std::sync::Arc;

use bytes::Bytes;
use ferry_core::memory::MemoryStore;
use ferry_core::migrate::{migrate, Endpoints, MigrateOptions, MigrationReport};
use ferry_core::stream::collect_limited;
use ferry_core::transfer::ProgressSink;
use ferry_core::{CancellationToken, Error, ObjectKey, Result, Sink, Source};
use futures::StreamExt;

use crate::prefixed::Prefixed;
use crate::Pair;

mod sample {
    include!(concat!(env!("OUT_DIR"), "/sample.rs"));
}

/// The sample backup's folder name.
const NAME: &str = "real_backup_1";

fn verified(report: &MigrationReport, way: &str) -> Result<()> {
    if let Some(e) = report.failure() {
        return Err(e.context(way));
    }
    let copied = report.backups.len();
    let identical = report
        .backups
        .iter()
        .filter(|b| b.verify.as_ref().is_some_and(|v| v.identical))
        .count();
    if copied != 1 || identical != 1 {
        return Err(Error::internal(format!(
            "{way}: {copied} backup(s) copied, {identical} verified identical (expected 1 and 1)"
        )));
    }
    Ok(())
}

async fn run(source: Arc<dyn Source>, sink: Arc<dyn Sink>, way: &str) -> Result<()> {
    let options = MigrateOptions {
        deep: true,
        ..Default::default()
    };
    let endpoints = Endpoints { source, sink };
    let report = migrate(
        &endpoints,
        &options,
        ProgressSink::default(),
        CancellationToken::new(),
    )
    .await?;
    verified(&report, way)
}

/// Runs the check under `base`, removing what it wrote.
pub async fn sample_backup_round_trip(p: &Pair, base: &str) -> Result<()> {
    let original = Arc::new(MemoryStore::new("sample"));
    for (key, bytes) in sample::FILES {
        original.insert(&format!("{NAME}/{key}"), Bytes::from_static(bytes))?;
    }
    let remote = Arc::new(Prefixed::new(
        p.source.clone(),
        p.sink.clone(),
        &format!("{base}rt/"),
    )?);
    let outcome = async {
        run(original.clone(), remote.clone(), "into the store").await?;
        let back = Arc::new(MemoryStore::new("back"));
        run(remote.clone(), back.clone(), "back from the store").await?;
        for (key, bytes) in sample::FILES {
            let k = ObjectKey::new(format!("{NAME}/{key}"))?;
            let got = collect_limited(back.read(&k, None).await?, bytes.len() + 1).await?;
            if got.as_ref() != *bytes {
                return Err(Error::internal(format!("{key} came back different")));
            }
        }
        Ok(())
    }
    .await;
    let mut listing = Sink::list(remote.as_ref(), "").await?;
    while let Some(meta) = listing.next().await {
        Sink::delete(remote.as_ref(), &meta?.key).await?;
    }
    outcome
}
