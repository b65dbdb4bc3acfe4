//! A destination that grants list and write but no read (some cloud upload volumes do) still
//! works: the sink gives no reader, the copy lands whole, and verification says what it compared
//! (keys and sizes from the listing) and what it could not (meta, inventory, contents) — never
//! "identical" of bytes it never read back.

use std::path::Path;
use std::sync::Arc;

use ferry_core::memory::MemoryStore;
use ferry_core::migrate::{migrate, Endpoints, MigrateOptions};
use ferry_core::transfer::ProgressSink;
use ferry_core::{
    async_trait, ByteStream, CancellationToken, Capabilities, ErrorKind, Location, ObjectKey,
    ObjectMeta, ObjectStream, Result, Sink,
};

/// A memory store seen through its `Sink` side only: it lists and writes, and has no reader.
#[derive(Debug)]
struct WriteOnly(MemoryStore);

#[async_trait]
impl Sink for WriteOnly {
    fn location(&self) -> &Location {
        Sink::location(&self.0)
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            read: false,
            range_read: false,
            ..Sink::capabilities(&self.0)
        }
    }
    async fn list(&self, prefix: &str) -> Result<ObjectStream> {
        Sink::list(&self.0, prefix).await
    }
    async fn stat(&self, key: &ObjectKey) -> Result<Option<ObjectMeta>> {
        Sink::stat(&self.0, key).await
    }
    async fn write(&self, key: &ObjectKey, size: u64, data: ByteStream) -> Result<()> {
        Sink::write(&self.0, key, size, data).await
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        Sink::delete(&self.0, key).await
    }
}

fn sample() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("examples/backups/real_backup_1")
}

#[tokio::test]
async fn a_destination_without_reads_is_copied_to_and_verified_as_far_as_it_can_be() {
    let source = Arc::new(MemoryStore::from_dir(&sample()).unwrap());
    let sink = Arc::new(WriteOnly(MemoryStore::new("upload-volume")));
    assert!(sink.reader().is_none());
    let endpoints = Endpoints {
        source: source.clone(),
        sink: sink.clone(),
    };
    let report = migrate(
        &endpoints,
        &MigrateOptions::default(),
        ProgressSink::default(),
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(report.failure().is_none(), "{:?}", report.failure());
    let backup = &report.backups[0];
    assert_eq!(backup.transfer.as_ref().unwrap().copied, 37);
    let verify = backup.verify.as_ref().unwrap();
    assert!(verify.differences.is_empty(), "{:?}", verify.differences);
    assert_eq!(verify.objects_compared, 37);
    assert!(!verify.identical, "nothing was read back: not 'identical'");
    assert!(
        verify
            .not_compared
            .iter()
            .any(|w| w.contains("grants no reads")),
        "{:?}",
        verify.not_compared
    );
    // Every object landed with the source's bytes.
    let copied = sink.0.contents();
    for (key, bytes) in source.contents() {
        assert_eq!(
            copied.get(&format!("real_backup_1/{key}")),
            Some(&bytes),
            "{key}"
        );
    }

    // A second run cannot read the objects already there to compare them: same-size objects
    // without comparable checksums are conflicts, refused before anything is written.
    let again = migrate(
        &endpoints,
        &MigrateOptions::default(),
        ProgressSink::default(),
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
    assert!(again.to_string().contains("cannot be read"), "{again}");
}
