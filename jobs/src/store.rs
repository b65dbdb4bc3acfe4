//! The job store: one SQLite database (WAL) under the state directory, holding every job, its
//! per-object journal and its error log. Only non-secret data is ever written: locations are
//! stored without their secrets, errors are redacted.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use serde::Serialize;

use crate::{JobOptions, JobReport, JobState, ObjectState};
use ferry_core::error::{Error, ErrorKind, Result};
use ferry_core::location::Location;
use ferry_core::redact::redact_text;

/// One job as stored.
#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    /// Job id.
    pub id: String,
    /// Name given with `--job-name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// State.
    pub state: JobState,
    /// Created, Unix ms.
    pub created_at: i64,
    /// Last started (or resumed), Unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// Finished, Unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// Source location (no secrets).
    pub source: Location,
    /// Destination location (no secrets).
    pub destination: Location,
    /// The migration's options; `None` when the stored options cannot be read.
    pub options: Option<JobOptions>,
    /// Process running it (while running).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Objects in the plan.
    pub objects_total: u64,
    /// Objects at the destination (copied or already there).
    pub objects_done: u64,
    /// Objects that failed.
    pub objects_failed: u64,
    /// Bytes in the plan.
    pub bytes_total: u64,
    /// Bytes at the destination.
    pub bytes_done: u64,
    /// The report of the last run, with per-collection entities on both sides.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<JobReport>,
    /// Whether a cancel was requested.
    pub cancel_requested: bool,
}

/// One error-log line.
#[derive(Debug, Clone, Serialize)]
pub struct JobError {
    /// When, Unix ms.
    pub at: i64,
    /// What happened (redacted).
    pub message: String,
}

/// A journal update for one object.
#[derive(Debug, Clone)]
pub struct ObjectUpdate {
    /// Backup name.
    pub backup: String,
    /// Key relative to the backup folder.
    pub key: String,
    /// Size.
    pub size: u64,
    /// New state.
    pub state: ObjectState,
    /// CRC32C, when copied by streaming.
    pub crc32c: Option<u32>,
    /// Error, when failed.
    pub error: Option<String>,
}

/// The job database.
pub struct JobStore {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl std::fmt::Debug for JobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStore")
            .field("path", &self.path)
            .finish()
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn db_error(e: rusqlite::Error, what: &str) -> Error {
    let kind = match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            ErrorKind::Transient
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::ReadOnly
                    | rusqlite::ErrorCode::PermissionDenied
                    | rusqlite::ErrorCode::CannotOpen
            ) =>
        {
            ErrorKind::PermissionDenied
        }
        _ => ErrorKind::Internal,
    };
    Error::new(kind, format!("job store: {what}: {e}"))
}

/// Whether a process with this id runs: signal 0 sent to it (rustix, on every Unix), where
/// "no such process" means dead and "not permitted" means alive (another user's process).
pub fn process_alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
  id TEXT PRIMARY KEY,
  name TEXT,
  state TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  source TEXT NOT NULL,
  destination TEXT NOT NULL,
  options TEXT NOT NULL,
  pid INTEGER,
  objects_total INTEGER NOT NULL DEFAULT 0,
  bytes_total INTEGER NOT NULL DEFAULT 0,
  report TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS objects (
  job_id TEXT NOT NULL,
  backup TEXT NOT NULL,
  key TEXT NOT NULL,
  size INTEGER NOT NULL,
  state TEXT NOT NULL,
  crc32c INTEGER,
  error TEXT,
  PRIMARY KEY (job_id, backup, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS errors (
  job_id TEXT NOT NULL,
  at INTEGER NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS errors_by_job ON errors (job_id, at);
";

/// The job store's schema as migrations, applied in order and recorded in SQLite's
/// `user_version` (rusqlite_migration). A database written before migrations were recorded
/// (user_version 0) takes the first one as is: its statements are all `IF NOT EXISTS`.
/// A schema change is a new `M::up` at the end, never an edit of an earlier one.
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(SCHEMA)])
}

impl JobStore {
    /// The default state directory: `$FERRY_STATE_DIR`, else `$XDG_STATE_HOME/ferry`, else
    /// `~/.local/state/ferry`.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("FERRY_STATE_DIR").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d));
        }
        if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
            return Some(PathBuf::from(d).join("ferry"));
        }
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/ferry"))
    }

    /// Opens (creating when needed) the database in `dir`.
    pub fn open(dir: &Path) -> Result<JobStore> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::from_io(e, format!("creating the state directory {}", dir.display()))
        })?;
        let path = dir.join("jobs.sqlite3");
        let conn = Connection::open(&path)
            .map_err(|e| db_error(e, &format!("opening {}", path.display())))?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(|e| db_error(e, "setting the busy timeout"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| db_error(e, "switching to WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| db_error(e, "setting synchronous"))?;
        let mut conn = conn;
        migrations().to_latest(&mut conn).map_err(|e| {
            Error::internal(format!(
                "job store {}: migrating the schema: {e}",
                path.display()
            ))
            .with_hint("a newer ferry may have written this state directory; use that ferry, or another --state-dir")
        })?;
        Ok(JobStore {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().expect("job store lock")
    }

    /// Records a new job (state `planned`) and returns its id.
    pub fn create(
        &self,
        name: Option<&str>,
        source: &Location,
        destination: &Location,
        options: &JobOptions,
    ) -> Result<String> {
        let options = serde_json::to_string(options)
            .map_err(|e| Error::internal(format!("the job's options: {e}")))?;
        let id = new_id();
        let strip = |l: &Location| {
            let mut l = l.clone();
            l.secrets.clear();
            l.defaults.clear();
            serde_json::to_string(&l).expect("locations serialise")
        };
        self.conn()
            .execute(
                "INSERT INTO jobs (id, name, state, created_at, source, destination, options) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, name, JobState::Planned.as_str(), now_ms(), strip(source), strip(destination), options],
            )
            .map_err(|e| db_error(e, "recording the job"))?;
        Ok(id)
    }

    /// Finds a job by id or unique id prefix (or name).
    pub fn resolve(&self, id_or_prefix: &str) -> Result<String> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id FROM jobs WHERE id LIKE ?1 || '%' OR name = ?1")
            .map_err(|e| db_error(e, "finding the job"))?;
        let ids: Vec<String> = stmt
            .query_map([id_or_prefix], |r| r.get(0))
            .map_err(|e| db_error(e, "finding the job"))?
            .filter_map(|r| r.ok())
            .collect();
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(Error::not_found(format!("no job {id_or_prefix:?}"))
                .with_hint("`ferry jobs list` shows the jobs of this state directory (--state-dir / FERRY_STATE_DIR)")),
            many => Err(Error::invalid_input(format!(
                "{id_or_prefix:?} matches {} jobs: give more of the id",
                many.len()
            ))),
        }
    }

    /// Takes the job for this process: refused while another live process runs it (the
    /// database's write lock serialises two claims).
    pub fn claim(&self, id: &str) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| db_error(e, "locking the job"))?;
        let row: Option<(String, Option<u32>)> = tx
            .query_row("SELECT state, pid FROM jobs WHERE id = ?1", [id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(|e| db_error(e, "reading the job"))?;
        let Some((state, pid)) = row else {
            return Err(Error::not_found(format!("no job {id}")));
        };
        if state == JobState::Running.as_str() {
            if let Some(pid) = pid.filter(|p| *p != std::process::id() && process_alive(*p)) {
                return Err(
                    Error::conflict(format!("job {id} is running in process {pid}"))
                        .with_hint("wait for it, or stop it with `ferry jobs cancel`"),
                );
            }
        }
        tx.execute(
            "UPDATE jobs SET state = ?2, pid = ?3, started_at = ?4, finished_at = NULL, cancel_requested = 0 WHERE id = ?1",
            params![id, JobState::Running.as_str(), std::process::id(), now_ms()],
        )
        .map_err(|e| db_error(e, "taking the job"))?;
        tx.commit().map_err(|e| db_error(e, "taking the job"))
    }

    /// Records the plan's totals.
    pub fn set_totals(&self, id: &str, objects: u64, bytes: u64) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE jobs SET objects_total = ?2, bytes_total = ?3 WHERE id = ?1",
                params![id, objects as i64, bytes as i64],
            )
            .map(|_| ())
            .map_err(|e| db_error(e, "recording totals"))
    }

    /// Applies a batch of object updates in one transaction.
    pub fn record_objects(&self, id: &str, updates: &[ObjectUpdate]) -> Result<()> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| db_error(e, "journal"))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO objects (job_id, backup, key, size, state, crc32c, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (job_id, backup, key) DO UPDATE SET size = excluded.size, state = excluded.state,
                       crc32c = COALESCE(excluded.crc32c, objects.crc32c), error = excluded.error",
                )
                .map_err(|e| db_error(e, "journal"))?;
            for u in updates {
                stmt.execute(params![
                    id,
                    u.backup,
                    u.key,
                    u.size as i64,
                    u.state.as_str(),
                    u.crc32c.map(i64::from),
                    u.error.as_deref().map(redact_text)
                ])
                .map_err(|e| db_error(e, "journal"))?;
            }
        }
        tx.commit().map_err(|e| db_error(e, "journal"))
    }

    /// Appends to the job's error log (redacted).
    pub fn log_error(&self, id: &str, message: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO errors (job_id, at, message) VALUES (?1, ?2, ?3)",
                params![id, now_ms(), redact_text(message)],
            )
            .map(|_| ())
            .map_err(|e| db_error(e, "error log"))
    }

    /// Ends the job in `state` with its report.
    pub fn finish(&self, id: &str, state: JobState, report: Option<&JobReport>) -> Result<()> {
        self.conn()
            .execute(
                "UPDATE jobs SET state = ?2, finished_at = ?3, pid = NULL, report = COALESCE(?4, report) WHERE id = ?1",
                params![id, state.as_str(), now_ms(), report.and_then(|r| serde_json::to_string(r).ok()).map(|r| redact_text(&r))],
            )
            .map(|_| ())
            .map_err(|e| db_error(e, "finishing the job"))
    }

    /// Asks the process running the job to stop.
    pub fn request_cancel(&self, id: &str) -> Result<()> {
        self.conn()
            .execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?1", [id])
            .map(|_| ())
            .map_err(|e| db_error(e, "requesting the cancel"))
    }

    /// Whether a cancel was requested.
    pub fn cancel_requested(&self, id: &str) -> Result<bool> {
        self.conn()
            .query_row(
                "SELECT cancel_requested FROM jobs WHERE id = ?1",
                [id],
                |r| r.get::<_, i64>(0),
            )
            .map(|v| v != 0)
            .map_err(|e| db_error(e, "reading the job"))
    }

    /// Marks jobs whose process died while running as `interrupted`.
    pub fn reap_dead(&self) -> Result<()> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT id, pid FROM jobs WHERE state = 'running'")
            .map_err(|e| db_error(e, "reading jobs"))?;
        let running: Vec<(String, Option<u32>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| db_error(e, "reading jobs"))?
            .filter_map(|r| r.ok())
            .collect();
        drop(stmt);
        for (id, pid) in running {
            if pid.is_none_or(|p| !process_alive(p)) {
                conn.execute(
                    "UPDATE jobs SET state = 'interrupted', pid = NULL, finished_at = ?2 WHERE id = ?1 AND state = 'running'",
                    params![id, now_ms()],
                )
                .map_err(|e| db_error(e, "marking a dead job"))?;
            }
        }
        Ok(())
    }

    fn record_from_row(
        row: &rusqlite::Row<'_>,
    ) -> rusqlite::Result<(JobRecord, String, String, String)> {
        let state: String = row.get("state")?;
        Ok((
            JobRecord {
                id: row.get("id")?,
                name: row.get("name")?,
                state: JobState::parse(&state),
                created_at: row.get("created_at")?,
                started_at: row.get("started_at")?,
                finished_at: row.get("finished_at")?,
                source: Location::local(""),
                destination: Location::local(""),
                options: None,
                pid: row.get("pid")?,
                objects_total: row.get::<_, i64>("objects_total")? as u64,
                objects_done: row.get::<_, i64>("objects_done")? as u64,
                objects_failed: row.get::<_, i64>("objects_failed")? as u64,
                bytes_total: row.get::<_, i64>("bytes_total")? as u64,
                bytes_done: row.get::<_, i64>("bytes_done")? as u64,
                report: row
                    .get::<_, Option<String>>("report")?
                    .and_then(|r| JobReport::parse(&r)),
                cancel_requested: row.get::<_, i64>("cancel_requested")? != 0,
            },
            row.get("source")?,
            row.get("destination")?,
            row.get("options")?,
        ))
    }

    const SELECT: &'static str = "SELECT j.*,
        (SELECT COUNT(*) FROM objects o WHERE o.job_id = j.id AND o.state = 'copied') AS objects_done,
        (SELECT COUNT(*) FROM objects o WHERE o.job_id = j.id AND o.state = 'failed') AS objects_failed,
        (SELECT COALESCE(SUM(size), 0) FROM objects o WHERE o.job_id = j.id AND o.state = 'copied') AS bytes_done
        FROM jobs j";

    fn finish_record(
        (mut r, source, destination, options): (JobRecord, String, String, String),
    ) -> Result<JobRecord> {
        r.source = serde_json::from_str(&source)
            .map_err(|e| Error::internal(format!("job store: bad source: {e}")))?;
        r.destination = serde_json::from_str(&destination)
            .map_err(|e| Error::internal(format!("job store: bad destination: {e}")))?;
        r.options = serde_json::from_str(&options).ok();
        Ok(r)
    }

    /// One job.
    pub fn get(&self, id: &str) -> Result<JobRecord> {
        let conn = self.conn();
        let row = conn
            .query_row(
                &format!("{} WHERE j.id = ?1", Self::SELECT),
                [id],
                Self::record_from_row,
            )
            .optional()
            .map_err(|e| db_error(e, "reading the job"))?
            .ok_or_else(|| Error::not_found(format!("no job {id}")))?;
        Self::finish_record(row)
    }

    /// Every job, newest first.
    pub fn list(&self) -> Result<Vec<JobRecord>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!("{} ORDER BY j.created_at DESC", Self::SELECT))
            .map_err(|e| db_error(e, "listing jobs"))?;
        let rows: Vec<_> = stmt
            .query_map([], Self::record_from_row)
            .map_err(|e| db_error(e, "listing jobs"))?
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| db_error(e, "listing jobs"))?;
        rows.into_iter().map(Self::finish_record).collect()
    }

    /// The job's error log, oldest first.
    pub fn errors(&self, id: &str) -> Result<Vec<JobError>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT at, message FROM errors WHERE job_id = ?1 ORDER BY at")
            .map_err(|e| db_error(e, "reading the error log"))?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(JobError {
                    at: r.get(0)?,
                    message: r.get(1)?,
                })
            })
            .map_err(|e| db_error(e, "reading the error log"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_error(e, "reading the error log"))?;
        Ok(rows)
    }

    /// Objects of the job in `state`, as (backup, key).
    pub fn objects_in(&self, id: &str, state: ObjectState) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT backup, key FROM objects WHERE job_id = ?1 AND state = ?2 ORDER BY backup, key")
            .map_err(|e| db_error(e, "reading the journal"))?;
        let rows = stmt
            .query_map(params![id, state.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| db_error(e, "reading the journal"))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| db_error(e, "reading the journal"))?;
        Ok(rows)
    }

    /// Removes a job that is not running.
    pub fn remove(&self, id: &str) -> Result<()> {
        let job = self.get(id)?;
        if job.state == JobState::Running && job.pid.is_some_and(process_alive) {
            return Err(Error::conflict(format!("job {id} is running"))
                .with_hint("cancel it first with `ferry jobs cancel`"));
        }
        let mut conn = self.conn();
        let tx = conn
            .transaction()
            .map_err(|e| db_error(e, "removing the job"))?;
        for table in ["objects", "errors"] {
            tx.execute(&format!("DELETE FROM {table} WHERE job_id = ?1"), [id])
                .map_err(|e| db_error(e, "removing the job"))?;
        }
        tx.execute("DELETE FROM jobs WHERE id = ?1", [id])
            .map_err(|e| db_error(e, "removing the job"))?;
        tx.commit().map_err(|e| db_error(e, "removing the job"))
    }

    /// Removes finished jobs created before `older_than` ago; returns their ids.
    pub fn prune(&self, older_than: Duration) -> Result<Vec<String>> {
        let cutoff = now_ms() - older_than.as_millis() as i64;
        let ids: Vec<String> = self
            .list()?
            .into_iter()
            .filter(|j| j.created_at < cutoff && j.state != JobState::Running)
            .map(|j| j.id)
            .collect();
        for id in &ids {
            self.remove(id)?;
        }
        Ok(ids)
    }
}

/// A new job id: 12 hex digits from the time, the process and a counter.
fn new_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // SplitMix64 finaliser: spread the bits.
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    format!("{:012x}", x & 0xFFFF_FFFF_FFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, JobStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = JobStore::open(dir.path()).unwrap();
        (dir, s)
    }

    fn options() -> JobOptions {
        JobOptions {
            backups: Vec::new(),
            concurrency: Some(4),
            attempts: 3,
            no_verify: false,
            deep: false,
            overwrite: false,
            restore: None,
        }
    }

    #[test]
    fn migrations_are_valid_and_an_unversioned_database_is_migrated() {
        migrations().validate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        // A database as ferry wrote it before migrations were recorded.
        let old = Connection::open(dir.path().join("jobs.sqlite3")).unwrap();
        old.execute_batch(SCHEMA).unwrap();
        old.execute(
            "INSERT INTO jobs (id, state, created_at, source, destination, options) VALUES ('j1', 'failed', 1, '{}', '{}', '{}')",
            [],
        )
        .unwrap();
        drop(old);
        let store = JobStore::open(dir.path()).unwrap();
        let version: i64 = store
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, 1);
        let kept: i64 = store
            .conn()
            .query_row("SELECT COUNT(*) FROM jobs WHERE id = 'j1'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(kept, 1, "the job written before the migration is kept");
    }

    #[test]
    fn lifecycle_and_journal() {
        let (_d, s) = store();
        let mut src = Location::parse("s3://b/p/").unwrap();
        src.set_secret("s3.secret_access_key", ferry_core::Secret::new("TOPSECRET"));
        let id = s
            .create(
                Some("nightly"),
                &src,
                &Location::local("/tmp/x"),
                &options(),
            )
            .unwrap();
        assert_eq!(s.resolve(&id[..4]).unwrap(), id);
        assert_eq!(s.resolve("nightly").unwrap(), id);
        s.claim(&id).unwrap();
        s.set_totals(&id, 3, 30).unwrap();
        let upd = |k: &str, st| ObjectUpdate {
            backup: "b".into(),
            key: k.into(),
            size: 10,
            state: st,
            crc32c: Some(7),
            error: None,
        };
        s.record_objects(
            &id,
            &[
                upd("a", ObjectState::Pending),
                upd("b", ObjectState::Pending),
                upd("c", ObjectState::Pending),
            ],
        )
        .unwrap();
        s.record_objects(
            &id,
            &[upd("a", ObjectState::Copied), upd("b", ObjectState::Failed)],
        )
        .unwrap();
        s.log_error(&id, "boom with token=SECRETTOKEN").unwrap();
        let j = s.get(&id).unwrap();
        assert_eq!(
            (
                j.state,
                j.objects_total,
                j.objects_done,
                j.objects_failed,
                j.bytes_done
            ),
            (JobState::Running, 3, 1, 1, 10)
        );
        assert_eq!(j.source.bucket.as_deref(), Some("b"));
        assert!(j.source.secrets.is_empty());
        assert_eq!(
            s.objects_in(&id, ObjectState::Pending).unwrap(),
            vec![("b".to_string(), "c".to_string())]
        );
        let report = JobReport {
            version: crate::report::REPORT_VERSION,
            backups: Vec::new(),
        };
        s.finish(&id, JobState::Succeeded, Some(&report)).unwrap();
        let done = s.get(&id).unwrap();
        assert_eq!(done.state, JobState::Succeeded);
        assert_eq!(done.report, Some(report));
        assert_eq!(done.options, Some(options()));
        let bytes = std::fs::read(s.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("TOPSECRET") && !text.contains("SECRETTOKEN"));
        assert_eq!(s.prune(Duration::from_secs(3600)).unwrap().len(), 0);
        s.remove(&id).unwrap();
        assert!(s.get(&id).is_err());
    }

    #[test]
    fn claims_exclude_live_processes_and_reap_dead_ones() {
        let (_d, s) = store();
        let id = s
            .create(
                None,
                &Location::local("/a"),
                &Location::local("/b"),
                &options(),
            )
            .unwrap();
        // A job "running" in a process that exists (pid 1) cannot be claimed.
        s.conn()
            .execute(
                "UPDATE jobs SET state = 'running', pid = 1 WHERE id = ?1",
                [&id],
            )
            .unwrap();
        assert_eq!(s.claim(&id).unwrap_err().kind(), ErrorKind::Conflict);
        // One whose process died is interrupted, then claimable.
        s.conn()
            .execute("UPDATE jobs SET pid = 999999999 WHERE id = ?1", [&id])
            .unwrap();
        s.reap_dead().unwrap();
        assert_eq!(s.get(&id).unwrap().state, JobState::Interrupted);
        s.claim(&id).unwrap();
        assert_eq!(s.get(&id).unwrap().pid, Some(std::process::id()));
        assert_ne!(new_id(), new_id());
    }
}
