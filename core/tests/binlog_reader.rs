//! The binlog reader on real Milvus 2.3 binlogs and on hostile variants of them: real files give
//! the real row counts; damaged files give an `InvalidBackup` error, never a panic, a huge
//! allocation or a read past the end.

use std::path::{Path, PathBuf};

use ferry_core::backup::binlog::{read_binlog, BinlogLayout};
use ferry_core::memory::MemoryStore;
use ferry_core::{ErrorKind, ObjectKey};

const SEGMENT_A: &str = "examples/backups/real_backup_1/binlogs/insert_log/470745661787078674/470745661787078675/470745661787278682/470745661787278682";
const DELTA_A: &str = "examples/backups/real_backup_1/binlogs/delta_log/470745661787078674/470745661787078675/470745661787278682/470745661787278682/470745661787278708";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

async fn facts_of(bytes: &[u8]) -> ferry_core::Result<ferry_core::backup::binlog::BinlogFacts> {
    let store = MemoryStore::new("binlogs");
    store.insert("f", bytes.to_vec()).unwrap();
    read_binlog(&store, &ObjectKey::new("f").unwrap(), bytes.len() as u64).await
}

fn real(rel: &str) -> Vec<u8> {
    std::fs::read(repo().join(rel)).unwrap()
}

#[tokio::test]
async fn real_insert_binlogs_count_their_rows() {
    // Segment A: 2200 rows in two files per field (1200 + 1000).
    let mut total = 0;
    for log in ["470745661787278686", "470745661787278693"] {
        let facts = facts_of(&real(&format!("{SEGMENT_A}/100/{log}")))
            .await
            .unwrap();
        assert_eq!(facts.layout, BinlogLayout::Envelope);
        assert_eq!(facts.events, 1);
        let d = facts.descriptor.unwrap();
        assert_eq!(
            (d.collection_id, d.segment_id, d.field_id),
            (470745661787078674, 470745661787278682, 100)
        );
        total += facts.insert_rows;
    }
    assert_eq!(total, 2200);
    // The float-vector field agrees.
    let mut vec_rows = 0;
    for log in ["470745661787278687", "470745661787278694"] {
        vec_rows += facts_of(&real(&format!("{SEGMENT_A}/101/{log}")))
            .await
            .unwrap()
            .insert_rows;
    }
    assert_eq!(vec_rows, 2200);
}

#[tokio::test]
async fn real_delta_log_counts_deletes() {
    let facts = facts_of(&real(DELTA_A)).await.unwrap();
    assert_eq!(facts.delete_rows, 5);
    assert_eq!(facts.insert_rows, 0);
    assert_eq!(facts.descriptor.unwrap().field_id, -1);
}

async fn assert_corrupt(bytes: &[u8], needle: &str) {
    let err = facts_of(bytes).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidBackup, "{err}");
    assert!(err.to_string().contains(needle), "{err}");
}

#[tokio::test]
async fn hostile_binlogs_are_errors() {
    let good = real(&format!("{SEGMENT_A}/100/470745661787278686"));
    let n = good.len();

    let mut bad_magic = good.clone();
    bad_magic[0] = 0;
    assert_corrupt(&bad_magic, "bad magic").await;

    assert_corrupt(&good[..n / 2], "past the end").await;
    assert_corrupt(&good[..3], "only 3 bytes").await;
    assert_corrupt(&good[..90], "").await;

    // Descriptor length (offset 4 + 9) pointing far past the end, or too small.
    let mut huge = good.clone();
    huge[13..17].copy_from_slice(&i32::MAX.to_le_bytes());
    assert_corrupt(&huge, "past the end").await;
    let mut tiny = good.clone();
    tiny[13..17].copy_from_slice(&5i32.to_le_bytes());
    assert_corrupt(&tiny, "too small").await;
    let mut negative = good.clone();
    negative[13..17].copy_from_slice(&(-1i32).to_le_bytes());
    assert_corrupt(&negative, "too small").await;

    // Parquet footer length claiming absurd sizes.
    let mut absurd = good.clone();
    absurd[n - 8..n - 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    assert_corrupt(&absurd, "footer claims").await;
    // Footer bytes that are not Thrift.
    let mut garbage = good.clone();
    let footer_len = u32::from_le_bytes(good[n - 8..n - 4].try_into().unwrap()) as usize;
    for b in &mut garbage[n - 8 - footer_len..n - 8] {
        *b = 0xFF;
    }
    assert_corrupt(&garbage, "footer").await;
    // Trailing magic gone.
    let mut no_par1 = good.clone();
    no_par1[n - 1] = b'X';
    assert_corrupt(&no_par1, "PAR1").await;

    // Bare Parquet (storage v2) that is only magic.
    assert_corrupt(b"PAR1PAR1", "").await;
}
