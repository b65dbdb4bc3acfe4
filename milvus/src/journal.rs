//! The restore's journal: what was sent to the server, written down *before* it is sent, so a
//! restore that was killed can be resumed without importing anything twice — double-imported
//! rows are the worst outcome a restore can have, and the server would accept them silently.
//!
//! For each import group the journal holds "about to send these files", then "the server
//! answered with these task ids", then each task's end. On resume, a group with task ids is
//! never sent again (its tasks are polled); a group that was about to be sent but has no task
//! ids is looked up in the server's own task list by its files before anything is re-sent.
//!
//! [`FileJournal`] keeps it as JSON lines, each flushed to disk before the call it describes.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{MilvusError, Result};

/// What a restore writes down as it goes.
pub trait RestoreJournal: Send + Sync {
    /// `collection` (`db.name` in the cluster) reached `step` (`created`, `importing 2/5`, …).
    fn step(&self, collection: &str, step: &str);
    /// The import of `group` with `files` is about to be sent. Must be durable when it returns.
    fn before_import(&self, collection: &str, group: &str, files: &[String]) -> Result<()>;
    /// The server accepted the import of `group` as `tasks`. Must be durable when it returns.
    fn imported(&self, collection: &str, group: &str, tasks: &[i64]) -> Result<()>;
    /// A task ended.
    fn task_finished(
        &self,
        collection: &str,
        group: &str,
        task: i64,
        completed: bool,
        rows: i64,
        reason: &str,
    );
    /// Groups of `collection` whose tasks an earlier run recorded: group → task ids.
    fn recorded_tasks(&self, collection: &str) -> BTreeMap<String, Vec<i64>>;
    /// Groups of `collection` an earlier run was about to send without recording an answer:
    /// group → files.
    fn unanswered_imports(&self, collection: &str) -> BTreeMap<String, Vec<String>>;
    /// `collection` was created with the server's id `collection_id`.
    fn created(&self, collection: &str, collection_id: i64);
    /// Collections an earlier run created, with their ids (a resume goes on with a collection
    /// only when the server still has it under that id: one dropped and made again by someone
    /// else is not this restore's).
    fn created_collections(&self) -> Vec<(String, i64)>;
    /// Forgets everything recorded for `collection` (it was dropped to start over).
    fn forget(&self, collection: &str);
}

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    /// A collection's step.
    Step {
        /// `db.name`.
        collection: String,
        /// The step.
        step: String,
    },
    /// About to send an import.
    Sending {
        /// `db.name`.
        collection: String,
        /// Group key.
        group: String,
        /// Files of the request.
        files: Vec<String>,
    },
    /// The server's task ids.
    Sent {
        /// `db.name`.
        collection: String,
        /// Group key.
        group: String,
        /// Task ids.
        tasks: Vec<i64>,
    },
    /// A collection was created.
    Created {
        /// `db.name`.
        collection: String,
        /// The server's id for it.
        collection_id: i64,
    },
    /// A task ended.
    Finished {
        /// `db.name`.
        collection: String,
        /// Group key.
        group: String,
        /// Task id.
        task: i64,
        /// Completed (else failed).
        completed: bool,
        /// Rows imported.
        rows: i64,
        /// Milvus's failed_reason.
        reason: String,
    },
    /// Everything of a collection is void (it was dropped).
    Forget {
        /// `db.name`.
        collection: String,
    },
}

/// The journal's state, rebuilt from its entries.
#[derive(Debug, Default, Clone)]
pub struct JournalState {
    /// Every entry, in order.
    pub entries: Vec<Entry>,
}

impl JournalState {
    fn live(&self) -> impl Iterator<Item = &Entry> {
        // Entries after the last Forget of their collection.
        let mut last_forget: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            if let Entry::Forget { collection } = e {
                last_forget.insert(collection, i);
            }
        }
        self.entries.iter().enumerate().filter_map(move |(i, e)| {
            let c = match e {
                Entry::Step { collection, .. }
                | Entry::Sending { collection, .. }
                | Entry::Sent { collection, .. }
                | Entry::Finished { collection, .. }
                | Entry::Created { collection, .. }
                | Entry::Forget { collection } => collection.as_str(),
            };
            match last_forget.get(c) {
                Some(&f) if i <= f => None,
                _ => Some(e),
            }
        })
    }

    fn recorded_tasks(&self, collection: &str) -> BTreeMap<String, Vec<i64>> {
        let mut out = BTreeMap::new();
        for e in self.live() {
            if let Entry::Sent {
                collection: c,
                group,
                tasks,
            } = e
            {
                if c == collection {
                    out.insert(group.clone(), tasks.clone());
                }
            }
        }
        out
    }

    fn unanswered(&self, collection: &str) -> BTreeMap<String, Vec<String>> {
        let mut out = BTreeMap::new();
        for e in self.live() {
            match e {
                Entry::Sending {
                    collection: c,
                    group,
                    files,
                } if c == collection => {
                    out.insert(group.clone(), files.clone());
                }
                Entry::Sent {
                    collection: c,
                    group,
                    ..
                } if c == collection => {
                    out.remove(group);
                }
                _ => {}
            }
        }
        out
    }

    fn created(&self) -> Vec<(String, i64)> {
        let mut out: Vec<(String, i64)> = Vec::new();
        for e in self.live() {
            if let Entry::Created {
                collection,
                collection_id,
            } = e
            {
                out.retain(|(c, _)| c != collection);
                out.push((collection.clone(), *collection_id));
            }
        }
        out
    }

    /// The last step of each collection.
    pub fn steps(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for e in self.live() {
            if let Entry::Step { collection, step } = e {
                out.insert(collection.clone(), step.clone());
            }
        }
        out
    }

    /// Every task that failed, with Milvus's reason.
    pub fn failed_tasks(&self) -> Vec<(String, i64, String)> {
        self.live()
            .filter_map(|e| match e {
                Entry::Finished {
                    collection,
                    task,
                    completed: false,
                    reason,
                    ..
                } => Some((collection.clone(), *task, reason.clone())),
                _ => None,
            })
            .collect()
    }

    /// Every import request sent (task ids recorded).
    pub fn sent(&self) -> Vec<(String, String, Vec<i64>)> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Sent {
                    collection,
                    group,
                    tasks,
                } => Some((collection.clone(), group.clone(), tasks.clone())),
                _ => None,
            })
            .collect()
    }
}

/// A journal in memory only (a restore that is not recorded as a job).
#[derive(Debug, Default)]
pub struct MemoryJournal {
    state: Mutex<JournalState>,
}

impl MemoryJournal {
    fn push(&self, entry: Entry) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .push(entry);
    }

    fn with<T>(&self, f: impl FnOnce(&JournalState) -> T) -> T {
        f(&self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// A journal kept as JSON lines in a file, each line flushed and synced before the call
/// returns.
#[derive(Debug)]
pub struct FileJournal {
    path: PathBuf,
    memory: MemoryJournal,
    file: Mutex<std::fs::File>,
}

impl FileJournal {
    /// Opens (or creates) the journal at `path`, reading what an earlier run wrote.
    pub fn open(path: &Path) -> Result<Self> {
        let io = |e: std::io::Error| {
            MilvusError::Storage(ferry_core::Error::from_io(
                e,
                format!("the restore journal {}", path.display()),
            ))
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let memory = MemoryJournal::default();
        if path.exists() {
            let reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
            for line in reader.lines() {
                let line = line.map_err(io)?;
                if line.trim().is_empty() {
                    continue;
                }
                // A torn last line (killed mid-write) is ignored: its call never happened.
                if let Ok(entry) = serde_json::from_str::<Entry>(&line) {
                    memory.push(entry);
                }
            }
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        // A torn last line gets its newline, so the next entry starts a line of its own.
        let text = std::fs::read(path).map_err(io)?;
        if text.last().is_some_and(|b| *b != b'\n') {
            file.write_all(b"\n")
                .and_then(|()| file.sync_data())
                .map_err(io)?;
        }
        Ok(FileJournal {
            path: path.to_path_buf(),
            memory,
            file: Mutex::new(file),
        })
    }

    /// The state read and written so far.
    pub fn state(&self) -> JournalState {
        self.memory.with(Clone::clone)
    }

    /// Reads a journal without opening it for writing.
    pub fn read(path: &Path) -> JournalState {
        let mut state = JournalState::default();
        if let Ok(text) = std::fs::read_to_string(path) {
            state.entries = text
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
        }
        state
    }

    fn append(&self, entry: Entry) -> Result<()> {
        let mut line = serde_json::to_string(&entry).expect("entries serialise");
        line.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| {
                MilvusError::Storage(ferry_core::Error::from_io(
                    e,
                    format!("the restore journal {}", self.path.display()),
                ))
            })?;
        self.memory.push(entry);
        Ok(())
    }
}

macro_rules! journal_impl {
    ($ty:ty, $push:ident, $with:ident) => {
        impl RestoreJournal for $ty {
            fn step(&self, collection: &str, step: &str) {
                let _ = self.$push(Entry::Step {
                    collection: collection.into(),
                    step: step.into(),
                });
            }
            fn before_import(&self, collection: &str, group: &str, files: &[String]) -> Result<()> {
                self.$push(Entry::Sending {
                    collection: collection.into(),
                    group: group.into(),
                    files: files.to_vec(),
                })
                .map(|_| ())
            }
            fn imported(&self, collection: &str, group: &str, tasks: &[i64]) -> Result<()> {
                self.$push(Entry::Sent {
                    collection: collection.into(),
                    group: group.into(),
                    tasks: tasks.to_vec(),
                })
                .map(|_| ())
            }
            fn task_finished(
                &self,
                collection: &str,
                group: &str,
                task: i64,
                completed: bool,
                rows: i64,
                reason: &str,
            ) {
                let _ = self.$push(Entry::Finished {
                    collection: collection.into(),
                    group: group.into(),
                    task,
                    completed,
                    rows,
                    reason: reason.into(),
                });
            }
            fn recorded_tasks(&self, collection: &str) -> BTreeMap<String, Vec<i64>> {
                self.$with(|s| s.recorded_tasks(collection))
            }
            fn unanswered_imports(&self, collection: &str) -> BTreeMap<String, Vec<String>> {
                self.$with(|s| s.unanswered(collection))
            }
            fn created(&self, collection: &str, collection_id: i64) {
                let _ = self.$push(Entry::Created {
                    collection: collection.into(),
                    collection_id,
                });
            }
            fn created_collections(&self) -> Vec<(String, i64)> {
                self.$with(JournalState::created)
            }
            fn forget(&self, collection: &str) {
                let _ = self.$push(Entry::Forget {
                    collection: collection.into(),
                });
            }
        }
    };
}

impl MemoryJournal {
    fn record(&self, entry: Entry) -> Result<()> {
        self.push(entry);
        Ok(())
    }
}

impl FileJournal {
    fn with<T>(&self, f: impl FnOnce(&JournalState) -> T) -> T {
        self.memory.with(f)
    }
}

journal_impl!(MemoryJournal, record, with);
journal_impl!(FileJournal, append, with);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resumed_journal_knows_what_was_sent_and_what_was_unanswered() {
        let dir = std::env::temp_dir().join(format!("ferry-journal-{}", std::process::id()));
        let path = dir.join("j.jsonl");
        let _ = std::fs::remove_file(&path);
        {
            let j = FileJournal::open(&path).unwrap();
            j.created("default.docs", 42);
            j.before_import("default.docs", "1/2", &["a/".into(), "".into()])
                .unwrap();
            j.imported("default.docs", "1/2", &[7, 8]).unwrap();
            j.before_import("default.docs", "1/3", &["b/".into(), "".into()])
                .unwrap();
        }
        // A torn line at the end, as a kill mid-write leaves it.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"event\":\"sent\",\"coll")
            .unwrap();
        let j = FileJournal::open(&path).unwrap();
        j.step("default.docs", "importing 1/2");
        drop(j);
        let j = FileJournal::open(&path).unwrap();
        assert_eq!(
            j.state().steps()["default.docs"],
            "importing 1/2",
            "the entry after a torn line survives"
        );
        assert_eq!(j.recorded_tasks("default.docs")["1/2"], vec![7, 8]);
        let unanswered = j.unanswered_imports("default.docs");
        assert_eq!(unanswered.keys().collect::<Vec<_>>(), ["1/3"]);
        assert_eq!(j.created_collections(), [("default.docs".to_string(), 42)]);
        j.forget("default.docs");
        assert!(j.recorded_tasks("default.docs").is_empty());
        assert!(j.created_collections().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
