//! Importing one collection's segment groups: one `Import` request per group with
//! `backup=true`, files `[<insert dir>/, <delta dir>/ or ""]` as the server names them, a few
//! requests in flight, each task polled to Completed or Failed. Every request is journalled
//! before it is sent and its task ids right after, so an interrupted restore can be resumed
//! without importing any group twice (see [`crate::journal`]).

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;

use crate::client::{ImportStatus, MilvusClient};
use crate::error::{MilvusError, Result};
use crate::journal::RestoreJournal;
use crate::plan::{CollectionPlan, ImportGroup};

/// How the imports run.
#[derive(Debug, Clone)]
pub struct ImportSettings {
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Time between two polls of a task.
    pub poll_interval: Duration,
    /// How the server names the backup folder (an absolute path for local storage, a key
    /// prefix inside the bucket for object storage), ending with `/`.
    pub server_backup_path: String,
    /// The server's version (the shape of a request depends on it).
    pub server_version: crate::version::ServerVersion,
}

/// What one group's import did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct GroupOutcome {
    /// The group (see [`ImportGroup::key`]).
    pub group: String,
    /// Partition.
    pub partition: String,
    /// The server's task ids.
    pub tasks: Vec<i64>,
    /// Rows the server says the tasks imported.
    pub rows: i64,
    /// `true` when this run found the group already imported (a resume) and sent nothing.
    pub already_imported: bool,
}

/// The file entries of a group's request: `[insert dir, delta dir]`. Without delete data, 2.2
/// and 2.3 need an empty second entry (exactly two paths, or the task fails "unsupported file
/// type"); import v2 (2.4+) takes one or two prefixes and some versions mishandle the empty one,
/// so it gets the insert folder alone.
pub fn files_of(
    group: &ImportGroup,
    server_backup_path: &str,
    server_version: crate::version::ServerVersion,
) -> Vec<String> {
    let insert = format!("{server_backup_path}{}", group.insert_dir);
    match &group.delta_dir {
        Some(delta) => vec![insert, format!("{server_backup_path}{delta}")],
        None if server_version >= crate::version::IMPORT_V2 => vec![insert],
        None => vec![insert, String::new()],
    }
}

/// Waits until every task of `tasks` has ended; returns the rows they imported, or the first
/// failure with Milvus's reason.
pub async fn wait_for_tasks(
    client: &MilvusClient,
    collection: &str,
    group: &ImportGroup,
    tasks: &[i64],
    poll_interval: Duration,
    journal: &dyn RestoreJournal,
) -> Result<i64> {
    let mut rows = 0;
    for &task in tasks {
        loop {
            let state = client.import_state(task).await?;
            match state.state {
                ImportStatus::Completed => {
                    journal.task_finished(collection, &group.key, task, true, state.row_count, "");
                    rows += state.row_count;
                    break;
                }
                ImportStatus::Failed => {
                    journal.task_finished(
                        collection,
                        &group.key,
                        task,
                        false,
                        0,
                        &state.failed_reason,
                    );
                    return Err(MilvusError::Verification(format!(
                        "import task {task} of {collection} (partition {}, files {}) failed: {}",
                        group.partition,
                        group.insert_dir,
                        if state.failed_reason.is_empty() {
                            "the server gave no reason"
                        } else {
                            &state.failed_reason
                        }
                    )));
                }
                ImportStatus::Running => tokio::time::sleep(poll_interval).await,
            }
        }
    }
    Ok(rows)
}

/// Imports every group of `plan` not already imported, `settings.concurrency` at a time.
pub async fn import_collection(
    client: &MilvusClient,
    plan: &CollectionPlan,
    settings: &ImportSettings,
    journal: &dyn RestoreJournal,
    cancel: &ferry_core::CancellationToken,
) -> Result<Vec<GroupOutcome>> {
    let (db, name) = (&plan.target.0, &plan.target.1);
    let collection = plan.target_name();
    let mut recorded = journal.recorded_tasks(&collection);
    let unanswered = journal.unanswered_imports(&collection);
    if !unanswered.is_empty() {
        // An earlier run was killed between sending these and recording the answer: the
        // server's own task list says whether it received them.
        let listed = client.list_import_tasks(db, name).await?;
        for (group, files) in unanswered {
            let wanted: Vec<&str> = files
                .iter()
                .map(String::as_str)
                .filter(|f| !f.is_empty())
                .collect();
            let tasks: Vec<i64> = listed
                .iter()
                .filter(|t| {
                    t.files
                        .iter()
                        .map(String::as_str)
                        .eq(wanted.iter().copied())
                })
                .map(|t| t.id)
                .collect();
            if !tasks.is_empty() {
                journal.imported(&collection, &group, &tasks)?;
                recorded.insert(group, tasks);
            }
        }
    }
    futures::stream::iter(plan.groups.iter().filter(|g| g.rows > 0))
        .map(|group| {
            let collection = collection.clone();
            let recorded = recorded.get(&group.key).cloned();
            async move {
                // Journalled by an earlier run: its tasks are read back, never re-sent.
                let (tasks, already_imported) = match recorded {
                    Some(tasks) => (tasks, true),
                    None => {
                        if cancel.is_cancelled() {
                            return Err(MilvusError::Interrupted(format!(
                                "cancelled: no more imports sent for {collection}"
                            )));
                        }
                        let files =
                            files_of(group, &settings.server_backup_path, settings.server_version);
                        journal.before_import(&collection, &group.key, &files)?;
                        let options = [("backup", "true".to_string())];
                        let tasks = client
                            .import(db, name, &group.partition, files, &options)
                            .await?;
                        journal.imported(&collection, &group.key, &tasks)?;
                        (tasks, false)
                    }
                };
                let rows = wait_for_tasks(
                    client,
                    &collection,
                    group,
                    &tasks,
                    settings.poll_interval,
                    journal,
                )
                .await?;
                Ok(GroupOutcome {
                    group: group.key.clone(),
                    partition: group.partition.clone(),
                    tasks,
                    rows,
                    already_imported,
                })
            }
        })
        .buffer_unordered(settings.concurrency.max(1))
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::ServerVersion;

    fn group(delta: Option<&str>) -> ImportGroup {
        ImportGroup {
            key: "1/2".into(),
            partition: "_default".into(),
            insert_dir: "binlogs/insert_log/9/1/2/".into(),
            delta_dir: delta.map(str::to_string),
            rows: 5,
            delete_records: 0,
        }
    }

    #[test]
    fn requests_carry_the_delta_folder_and_the_empty_entry_only_where_the_server_needs_it() {
        let v23 = ServerVersion::new(2, 3, 5);
        let v25 = ServerVersion::new(2, 5, 4);
        assert_eq!(
            files_of(&group(None), "/data/b/", v23),
            ["/data/b/binlogs/insert_log/9/1/2/", ""]
        );
        assert_eq!(
            files_of(&group(None), "files/b/", v25),
            ["files/b/binlogs/insert_log/9/1/2/"]
        );
        let with_deletes = group(Some("binlogs/delta_log/9/1/2/"));
        for v in [v23, v25] {
            assert_eq!(
                files_of(&with_deletes, "p/", v),
                ["p/binlogs/insert_log/9/1/2/", "p/binlogs/delta_log/9/1/2/"]
            );
        }
    }
}
