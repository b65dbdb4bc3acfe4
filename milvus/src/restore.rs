//! A restore, in order: connect and read the server version; load and validate the backup;
//! decide the plan and refuse — before anything is created — what the server version cannot
//! import and collections that already exist; copy the binlogs to where the server reads them
//! (Ferry's own engine: streamed, checksummed, resumable); create databases, collections and
//! partitions; import; build indexes; load; verify in the cluster; remove the copy.
//!
//! The copy comes before the cluster is touched, so a storage problem leaves the cluster as it
//! was. A restore that fails after creating collections drops the ones it created (nothing
//! half-written stays in the cluster); a restore that is killed leaves them for a resume, which
//! reads the journal and never imports a group twice.

use std::sync::Arc;
use std::time::Duration;

use ferry_core::backup::{examine, BackupRef};
use ferry_core::migrate::{Endpoints, MigrateOptions};
use ferry_core::transfer::{ProgressSink, TransferOptions};
use ferry_core::{CancellationToken, Sink, Source};
use serde::Serialize;

use crate::checks::{check_collection, CheckContext, CollectionCheck};
use crate::client::MilvusClient;
use crate::error::{MilvusError, Result};
use crate::import::{import_collection, GroupOutcome, ImportSettings};
use crate::indexes::{self, BuiltIndex, IndexMode};
use crate::journal::RestoreJournal;
use crate::plan::{plan_collection, select, CollectionPlan, Selection};
use crate::proto_schema::{pairs, to_proto};
use crate::version::{requirements, ServerVersion, BINLOG_IMPORT};

/// What to do with a collection that already exists in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Existing {
    /// Refuse the restore, listing every such collection, before creating anything.
    #[default]
    Refuse,
    /// Drop it and restore.
    Drop,
    /// Leave it and restore the others.
    Skip,
}

/// How a restore runs.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Which collections, under which names.
    pub selection: Selection,
    /// Collections that exist.
    pub existing: Existing,
    /// Indexes to build.
    pub index: IndexMode,
    /// Load each collection and wait.
    pub load: bool,
    /// Import requests in flight.
    pub import_concurrency: usize,
    /// Keep the copied binlogs after the restore.
    pub keep_temp: bool,
    /// Time between two polls of an import task.
    pub poll_interval: Duration,
    /// Longest wait for a load.
    pub load_timeout: Duration,
}

impl Default for RestoreOptions {
    fn default() -> Self {
        RestoreOptions {
            selection: Selection::default(),
            existing: Existing::Refuse,
            index: IndexMode::Backup,
            load: false,
            import_concurrency: 4,
            keep_temp: false,
            poll_interval: Duration::from_secs(1),
            load_timeout: Duration::from_secs(600),
        }
    }
}

/// Where the server reads the binlogs from.
pub enum Staging {
    /// Copy the backup folder with Ferry's engine into `sink` (opened at a temporary folder of
    /// the server's storage), which the server names `server_prefix` (ending with `/`).
    Copy {
        /// The temporary folder.
        sink: Arc<dyn Sink>,
        /// How the server names it.
        server_prefix: String,
    },
    /// The backup folder already is where the server reads; the server names it
    /// `server_backup_path` (ending with `/`).
    InPlace {
        /// How the server names the backup folder.
        server_backup_path: String,
    },
}

/// One collection's restore.
#[derive(Debug, Clone, Serialize)]
pub struct CollectionRestore {
    /// `db.name` in the backup.
    pub source: String,
    /// `db.name` in the cluster.
    pub target: String,
    /// `restored`, `skipped (exists)`, or `dropped and restored`.
    pub action: String,
    /// Import requests and their tasks.
    pub imports: Vec<GroupOutcome>,
    /// Indexes built.
    pub indexes: Vec<BuiltIndex>,
    /// Loaded by this run.
    pub loaded: bool,
    /// The check in the cluster.
    pub check: Option<CollectionCheck>,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    /// The cluster (no credentials).
    pub cluster: String,
    /// What the server reported (`v2.3.5-lite`, …).
    pub server_version: String,
    /// The backup's name.
    pub backup: String,
    /// Objects and bytes the copy wrote (0 when in place or already there).
    pub copied_objects: u64,
    /// Bytes copied.
    pub copied_bytes: u64,
    /// Where the server read the backup from (its own name for it).
    pub server_backup_path: String,
    /// Collections.
    pub collections: Vec<CollectionRestore>,
    /// Whether the temporary copy was removed.
    pub temp_removed: bool,
}

impl RestoreReport {
    /// The first collection that does not match, as an error.
    pub fn failure(&self) -> Option<MilvusError> {
        let bad: Vec<String> = self
            .collections
            .iter()
            .filter_map(|c| c.check.as_ref())
            .filter(|c| !c.matches())
            .map(|c| format!("{}: {}", c.target, c.differences.join("; ")))
            .collect();
        (!bad.is_empty()).then(|| {
            MilvusError::Verification(format!(
                "the cluster does not hold what the backup says: {}",
                bad.join(" | ")
            ))
        })
    }
}

/// Everything a restore needs.
pub struct RestoreRequest<'a> {
    /// The connected cluster.
    pub client: &'a MilvusClient,
    /// Where the backup is.
    pub source: Arc<dyn Source>,
    /// The backup.
    pub backup: BackupRef,
    /// Where the server reads it.
    pub staging: Staging,
    /// Options.
    pub options: RestoreOptions,
    /// The journal (see [`crate::journal`]).
    pub journal: &'a dyn RestoreJournal,
    /// Progress of the copy.
    pub progress: ProgressSink,
    /// Cancellation (stops the copy, and stops sending imports).
    pub cancel: CancellationToken,
}

/// Reads and checks the server version against what the backup needs.
pub async fn check_version(
    client: &MilvusClient,
    plans: &[CollectionPlan],
) -> Result<(String, ServerVersion)> {
    let reported = client.version().await?;
    let version = ServerVersion::parse(&reported).ok_or_else(|| {
        MilvusError::Unsupported(format!(
            "Milvus at {} reports version {reported:?}, which Ferry cannot read; it restores into Milvus 2.2 and newer",
            client.url().endpoint()
        ))
    })?;
    if version < BINLOG_IMPORT {
        return Err(MilvusError::Unsupported(format!(
            "Milvus {version} at {} has no binlog import (backup=true), which exists since {BINLOG_IMPORT}",
            client.url().endpoint()
        )));
    }
    let unmet: Vec<String> = plans
        .iter()
        .flat_map(|p| requirements(&p.info))
        .filter(|r| r.since > version)
        .map(|r| format!("{} (needs Milvus {})", r.feature, r.since))
        .collect();
    if !unmet.is_empty() {
        return Err(MilvusError::Unsupported(format!(
            "Milvus {version} at {} cannot import this backup; nothing was created: {}",
            client.url().endpoint(),
            unmet.join("; ")
        )));
    }
    // Delete-only segments need `l0_import` requests, which this restore does not send yet:
    // importing the rest without them would lose the deletes silently.
    let l0: Vec<String> = plans
        .iter()
        .filter(|p| {
            !p.info.l0_segments.is_empty()
                || p.info
                    .partition_backups
                    .iter()
                    .any(|part| part.segment_backups.iter().any(|s| s.is_l0))
        })
        .map(|p| format!("{}.{}", p.source.0, p.source.1))
        .collect();
    if !l0.is_empty() {
        return Err(MilvusError::Unsupported(format!(
            "{} hold delete-only (L0) segments, which this Ferry does not restore yet (l0_import); \
             nothing was created. Restore the other collections with --collection",
            l0.join(", ")
        )));
    }
    Ok((reported, version))
}

/// Loads, validates and plans the backup for the cluster.
pub async fn plan_backup(
    source: &dyn Source,
    backup: &BackupRef,
    selection: &Selection,
) -> Result<Vec<CollectionPlan>> {
    let examined = examine(source, backup, false).await?;
    if examined.has_errors() {
        let problems: Vec<String> = examined
            .backup
            .problems
            .iter()
            .filter(|p| p.is_error())
            .take(5)
            .map(|p| p.message.clone())
            .collect();
        return Err(MilvusError::InvalidBackup(format!(
            "backup {} is not valid, nothing was restored: {} (ferry inspect lists every problem)",
            backup.name,
            problems.join("; ")
        )));
    }
    let mut plans = Vec::new();
    for (info, target) in select(&examined.backup, selection)? {
        plans.push(plan_collection(source, &examined.backup, info, target).await?);
    }
    Ok(plans)
}

/// Runs a restore.
pub async fn restore(request: RestoreRequest<'_>) -> Result<RestoreReport> {
    let RestoreRequest {
        client,
        source,
        backup,
        staging,
        options,
        journal,
        progress,
        cancel,
    } = request;
    let plans = plan_backup(source.as_ref(), &backup, &options.selection).await?;
    let (server_version, version) = check_version(client, &plans).await?;
    // Collections an earlier, interrupted run of this restore created, still there under the
    // id it recorded.
    let mut resumed = Vec::new();
    // Collections that exist, all listed before anything is created.
    let mut existing = Vec::new();
    let recorded = journal.created_collections();
    for plan in &plans {
        let (db, name) = &plan.target;
        let db_exists = db == "default" || client.list_databases().await?.contains(db);
        if !db_exists || !client.has_collection(db, name).await? {
            continue;
        }
        let id = client.describe_collection(db, name).await?.collection_id;
        if recorded
            .iter()
            .any(|(c, i)| *c == plan.target_name() && *i == id)
        {
            resumed.push(plan.target_name());
        } else {
            existing.push(plan.target_name());
        }
    }
    if !existing.is_empty() && options.existing == Existing::Refuse {
        return Err(MilvusError::Conflict(format!(
            "these collections already exist in {}: {}; nothing was created. Add --drop-existing to replace them, \
             --skip-existing to leave them, or --rename FROM:TO",
            client.url(),
            existing.join(", ")
        )));
    }

    // The binlogs, where the server reads them.
    let (server_backup_path, copied_objects, copied_bytes) = match &staging {
        Staging::InPlace { server_backup_path } => (server_backup_path.clone(), 0, 0),
        Staging::Copy {
            sink,
            server_prefix,
        } => {
            let report = ferry_core::migrate::migrate(
                &Endpoints {
                    source: source.clone(),
                    sink: sink.clone(),
                },
                &MigrateOptions {
                    backups: vec![backup.name.clone()],
                    transfer: TransferOptions::default(),
                    dry_run: false,
                    no_verify: false,
                    deep: false,
                    overwrite: false,
                },
                progress,
                cancel.clone(),
            )
            .await?;
            if let Some(e) = report.failure() {
                return Err(MilvusError::Storage(
                    e.context("copying the binlogs to the server's storage"),
                ));
            }
            let (objects, bytes) = report
                .backups
                .iter()
                .filter_map(|b| b.transfer.as_ref())
                .fold((0, 0), |(o, b), t| (o + t.copied, b + t.bytes_copied));
            (format!("{server_prefix}{}/", backup.name), objects, bytes)
        }
    };
    if cancel.is_cancelled() {
        return Err(MilvusError::Interrupted(
            "cancelled before any collection was created".into(),
        ));
    }

    let settings = ImportSettings {
        concurrency: options.import_concurrency,
        poll_interval: options.poll_interval,
        server_backup_path: server_backup_path.clone(),
        server_version: version,
    };
    let mut collections = Vec::new();
    let mut created_here: Vec<(String, String)> = Vec::new();
    let result: Result<()> = async {
        for plan in &plans {
            let target = plan.target_name();
            let (db, name) = (&plan.target.0, &plan.target.1);
            let is_resumed = resumed.contains(&target);
            let mut action = "restored".to_string();
            if existing.contains(&target) {
                match options.existing {
                    Existing::Skip => {
                        collections.push(CollectionRestore {
                            source: format!("{}.{}", plan.source.0, plan.source.1),
                            target,
                            action: "skipped (exists)".into(),
                            imports: Vec::new(),
                            indexes: Vec::new(),
                            loaded: false,
                            check: None,
                        });
                        continue;
                    }
                    Existing::Drop => {
                        client.drop_collection(db, name).await?;
                        journal.forget(&target);
                        action = "dropped and restored".into();
                    }
                    Existing::Refuse => unreachable!("refused above"),
                }
            }
            if !is_resumed {
                journal.forget(&target);
                create(client, plan).await?;
                created_here.push(plan.target.clone());
                let id = client.describe_collection(db, name).await?.collection_id;
                journal.created(&target, id);
                journal.step(&target, "created");
            } else {
                action = "resumed".into();
            }
            journal.step(&target, &format!("importing {} groups", plan.groups.len()));
            let imports = import_collection(client, plan, &settings, journal, &cancel).await?;
            journal.step(&target, "indexing");
            let built = indexes::build(client, plan, options.index).await?;
            let mut loaded = false;
            if options.load {
                journal.step(&target, "loading");
                indexes::load(client, plan, &built, options.load_timeout).await?;
                loaded = true;
            }
            let check = check_collection(client, plan, CheckContext::AfterRestore).await?;
            journal.step(
                &target,
                if check.matches() {
                    "verified"
                } else {
                    "verification failed"
                },
            );
            if !check.matches() && created_here.contains(&plan.target) {
                // A collection that does not hold what the backup says is not left behind
                // looking restored.
                client.drop_collection(db, name).await?;
                journal.forget(&target);
                created_here.retain(|t| t != &plan.target);
                action = "dropped: it failed verification".into();
            }
            collections.push(CollectionRestore {
                source: format!("{}.{}", plan.source.0, plan.source.1),
                target,
                action,
                imports,
                indexes: built,
                loaded,
                check: Some(check),
            });
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        // Nothing half-written stays: the collections this run created are dropped, unless the
        // run was interrupted (a resume goes on from the journal).
        if !matches!(e, MilvusError::Interrupted(_)) {
            for (db, name) in &created_here {
                if client.drop_collection(db, name).await.is_ok() {
                    journal.forget(&format!("{db}.{name}"));
                }
            }
        }
        return Err(e);
    }
    let mut temp_removed = false;
    if let Staging::Copy { sink, .. } = &staging {
        if !options.keep_temp {
            remove_all(sink.as_ref()).await?;
            temp_removed = true;
        }
    }
    Ok(RestoreReport {
        cluster: client.url().to_string(),
        server_version,
        backup: backup.name.clone(),
        copied_objects,
        copied_bytes,
        server_backup_path,
        collections,
        temp_removed,
    })
}

/// Creates the database (when missing), the collection and its partitions.
async fn create(client: &MilvusClient, plan: &CollectionPlan) -> Result<()> {
    let (db, name) = (&plan.target.0, &plan.target.1);
    if db != "default" && !client.list_databases().await?.contains(db) {
        client.create_database(db).await?;
    }
    let schema = plan.info.schema.as_ref().ok_or_else(|| {
        MilvusError::InvalidBackup(format!(
            "collection {}.{}: the backup holds no schema",
            plan.source.0, plan.source.1
        ))
    })?;
    let proto = to_proto(schema, name)?;
    let num_partitions = if schema.has_partition_key() {
        plan.info.num_partitions.max(0)
    } else {
        0
    };
    client
        .create_collection(
            db,
            &proto,
            plan.info.shards_num.max(1),
            plan.info.consistency_level.0,
            pairs(&plan.info.properties),
            num_partitions,
        )
        .await?;
    if !schema.has_partition_key() {
        let have = client.show_partitions(db, name).await?;
        for partition in plan.partitions.keys() {
            if !have.contains(partition) {
                client.create_partition(db, name, partition).await?;
            }
        }
    }
    Ok(())
}

/// Deletes every object under the sink's root (the temporary copy).
async fn remove_all(sink: &dyn Sink) -> Result<()> {
    use futures::TryStreamExt;
    let mut listing = sink.list("").await?;
    while let Some(object) = listing.try_next().await? {
        sink.delete(&object.key).await?;
    }
    Ok(())
}
