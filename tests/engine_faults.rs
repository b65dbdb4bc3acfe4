//! The transfer engine under faults, with the real local plugin on both ends and a source wrapper
//! that injects failures (a mock only for the failure itself: no real server exists for local
//! disk faults). Transient faults are retried to a byte-identical copy; persistent faults name
//! the objects not copied and leave the destination without meta and without partial objects.

use std::any::Any;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ferry_core::migrate::{migrate, Endpoints, MigrateOptions};
use ferry_core::transfer::{ProgressEvent, ProgressSink, RetryPolicy, TransferOptions};
use ferry_core::{
    async_trait, ByteRange, ByteStream, CancellationToken, Capabilities, Error, ErrorKind,
    Location, ObjectKey, ObjectMeta, ObjectStream, Result, Source,
};
use ferry_plugin_local::LocalStore;
use futures::StreamExt;

/// How a key misbehaves.
#[derive(Clone, Copy)]
enum Fault {
    /// The first N reads fail with a transient error.
    FailFirst(u32),
    /// Every read fails with a transient error.
    AlwaysTransient,
    /// Every read yields only half the bytes, then ends.
    Truncate,
}

#[derive(Debug)]
struct FaultySource {
    inner: LocalStore,
    faults: Mutex<BTreeMap<String, (u32, u32)>>, // key suffix -> (fault code, reads so far)
    plan: BTreeMap<String, FaultCode>,
}

#[derive(Debug, Clone, Copy)]
struct FaultCode(u8, u32);

impl FaultySource {
    async fn new(dir: &Path, faults: &[(&str, Fault)]) -> Self {
        let inner = LocalStore::open_existing(Location::local(dir.to_str().unwrap()))
            .await
            .unwrap();
        let plan = faults
            .iter()
            .map(|(k, f)| {
                let code = match f {
                    Fault::FailFirst(n) => FaultCode(0, *n),
                    Fault::AlwaysTransient => FaultCode(1, 0),
                    Fault::Truncate => FaultCode(2, 0),
                };
                (k.to_string(), code)
            })
            .collect();
        FaultySource {
            inner,
            faults: Mutex::new(BTreeMap::new()),
            plan,
        }
    }
}

#[async_trait]
impl Source for FaultySource {
    fn location(&self) -> &Location {
        Source::location(&self.inner)
    }
    fn capabilities(&self) -> Capabilities {
        Source::capabilities(&self.inner)
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        Source::list(&self.inner, prefix).await
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        Source::stat(&self.inner, key).await
    }
    async fn read(&self, key: &ObjectKey, range: Option<ByteRange>) -> Result<ByteStream> {
        let fault = self
            .plan
            .iter()
            .find(|(suffix, _)| key.as_str().ends_with(suffix.as_str()))
            .map(|(s, f)| (s.clone(), *f));
        let Some((suffix, FaultCode(code, n))) = fault else {
            return self.inner.read(key, range).await;
        };
        let reads = {
            let mut faults = self.faults.lock().unwrap();
            let entry = faults.entry(suffix).or_insert((0, 0));
            entry.1 += 1;
            entry.1
        };
        match code {
            0 if reads <= n => Err(Error::new(
                ErrorKind::Transient,
                "injected: connection reset",
            )),
            1 => Err(Error::new(
                ErrorKind::Transient,
                "injected: service unavailable",
            )),
            2 => {
                let all = ferry_core::stream::collect_limited(
                    self.inner.read(key, range).await?,
                    1 << 24,
                )
                .await?;
                let half = all.slice(..all.len() / 2);
                Ok(futures::stream::iter(vec![Ok::<Bytes, Error>(half)]).boxed())
            }
            _ => self.inner.read(key, range).await,
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("examples/backups/real_backup_1")
}

fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            } else {
                let rel = e
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .to_string();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

async fn run(
    source: FaultySource,
    dest: &Path,
) -> (ferry_core::migrate::MigrationReport, Vec<ProgressEvent>) {
    let sink =
        Arc::new(LocalStore::open_for_writing(Location::local(dest.to_str().unwrap())).unwrap());
    let endpoints = Endpoints {
        source: Arc::new(source),
        sink,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let progress = ProgressSink {
        events: Some(tx),
        ..ProgressSink::default()
    };
    let options = MigrateOptions {
        transfer: TransferOptions {
            retry: RetryPolicy {
                max_attempts: 4,
                initial_backoff: std::time::Duration::from_millis(5),
                max_backoff: std::time::Duration::from_millis(20),
            },
            ..TransferOptions::with_concurrency(Some(4))
        },
        ..MigrateOptions::default()
    };
    let report = migrate(&endpoints, &options, progress, CancellationToken::new())
        .await
        .unwrap();
    drop(endpoints);
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (report, events)
}

const VICTIM: &str = "470745661787278687";

#[tokio::test]
async fn transient_faults_are_retried_to_an_identical_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let source = FaultySource::new(
        &sample(),
        &[
            (VICTIM, Fault::FailFirst(2)),
            ("full_meta.json", Fault::FailFirst(1)),
        ],
    )
    .await;
    let (report, events) = run(source, tmp.path()).await;
    assert!(report.failure().is_none(), "{:?}", report.failure());
    let b = &report.backups[0];
    assert_eq!(b.transfer.as_ref().unwrap().copied, 37);
    assert!(b.verify.as_ref().unwrap().identical);
    let retries = events
        .iter()
        .filter(|e| matches!(e, ProgressEvent::Retrying { key, .. } if key.ends_with(VICTIM)))
        .count();
    assert_eq!(retries, 2);
    assert_eq!(files(&sample()), files(&tmp.path().join("real_backup_1")));
}

#[tokio::test]
async fn persistent_faults_name_the_objects_and_leave_no_meta() {
    let tmp = tempfile::tempdir().unwrap();
    let source = FaultySource::new(&sample(), &[(VICTIM, Fault::AlwaysTransient)]).await;
    let (report, _) = run(source, tmp.path()).await;
    let err = report.failure().expect("a failure");
    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.to_string().contains(VICTIM), "{err}");
    let t = report.backups[0].transfer.as_ref().unwrap();
    assert_eq!(t.failed.len(), 1);
    assert_eq!(t.copied, 31, "every other binlog still copied");
    assert_eq!(t.not_attempted, 5, "meta files never attempted");
    let landed = tmp.path().join("real_backup_1");
    assert!(
        !landed.join("meta").exists(),
        "no meta over incomplete data"
    );
    assert!(!tmp.path().join(".ferry-partial").exists());
    // Every object that did land is complete.
    let src = files(&sample());
    for (k, v) in files(&landed) {
        assert_eq!(src.get(&k), Some(&v), "{k}");
    }
}

#[tokio::test]
async fn a_source_that_returns_fewer_bytes_than_listed_never_lands() {
    let tmp = tempfile::tempdir().unwrap();
    let source = FaultySource::new(&sample(), &[(VICTIM, Fault::Truncate)]).await;
    let (report, _) = run(source, tmp.path()).await;
    let err = report.failure().expect("a failure");
    assert_eq!(err.kind(), ErrorKind::Integrity, "{err}");
    assert!(err.to_string().contains("changed during the copy"), "{err}");
    let victim = files(&tmp.path().join("real_backup_1"))
        .into_keys()
        .filter(|k| k.ends_with(VICTIM))
        .count();
    assert_eq!(victim, 0, "no partial object under the final key");
}
