//! # ferry-testkit
//!
//! Conformance checks any Ferry [`Source`]/[`Sink`] pair must pass — built-in or a vendor's.
//! Each check works under its own folder of the store's location (`kit-<time>/`) and
//! removes what it wrote. [`run_all`] runs them all and returns one [`CheckResult`] per check;
//! every built-in plugin runs it against its real server in the test suite, and
//! `ferry plugins check <LOCATION>` runs it against any location.

mod prefixed;
mod round_trip;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use ferry_core::stream::collect_limited;
use ferry_core::{ByteStream, Error, ErrorKind, ObjectKey, Result, Sink, Source};
use futures::{stream, StreamExt};
use serde::Serialize;

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Check name.
    pub name: &'static str,
    /// Passed.
    pub passed: bool,
    /// What failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Seconds taken.
    pub seconds: f64,
}

/// The stores a check uses: both at the same location.
#[derive(Clone)]
pub struct Pair {
    /// Reads.
    pub source: Arc<dyn Source>,
    /// Writes.
    pub sink: Arc<dyn Sink>,
}

/// Size of the large-object check (≥ 64 MiB).
pub const LARGE_OBJECT: u64 = 64 * 1024 * 1024 + 12_345;
/// Objects of the listing check.
pub const MANY_KEYS: usize = 2_000;

fn fail(message: impl Into<String>) -> Error {
    Error::internal(message.into())
}

fn key(text: &str) -> ObjectKey {
    ObjectKey::new(text).expect("check keys are valid")
}

/// Deterministic bytes.
fn bytes_for(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn body(data: Vec<u8>) -> ByteStream {
    stream::iter(vec![Ok(Bytes::from(data))]).boxed()
}

async fn read_all(source: &dyn Source, k: &ObjectKey) -> Result<Bytes> {
    collect_limited(source.read(k, None).await?, 8 * 1024 * 1024).await
}

async fn put_get_stat_delete(p: &Pair, base: &str) -> Result<()> {
    for (i, size) in [0usize, 1, 100_000].into_iter().enumerate() {
        let k = key(&format!("{base}obj-{i}"));
        let data = bytes_for(i as u64, size);
        p.sink.write(&k, size as u64, body(data.clone())).await?;
        let meta = p
            .source
            .stat(&k)
            .await?
            .ok_or_else(|| fail(format!("{k} not found after writing")))?;
        if meta.size != size as u64 {
            return Err(fail(format!(
                "{k}: stat says {} bytes, {size} written",
                meta.size
            )));
        }
        if read_all(p.source.as_ref(), &k).await?[..] != data[..] {
            return Err(fail(format!("{k}: read back other bytes")));
        }
        p.sink.delete(&k).await?;
        if p.source.stat(&k).await?.is_some() {
            return Err(fail(format!("{k} still there after delete")));
        }
        p.sink
            .delete(&k)
            .await
            .map_err(|e| e.context("deleting a deleted object"))?;
    }
    Ok(())
}

async fn range_reads(p: &Pair, base: &str) -> Result<()> {
    let k = key(&format!("{base}ranged"));
    let data = bytes_for(9, 1024 * 1024 + 17);
    p.sink
        .write(&k, data.len() as u64, body(data.clone()))
        .await?;
    let n = data.len() as u64;
    for r in [0..1, 500_000..500_010, n - 7..n, 0..n, 5..5] {
        let got = collect_limited(p.source.read(&k, Some(r.clone())).await?, data.len()).await?;
        if got[..] != data[r.start as usize..r.end as usize] {
            return Err(fail(format!(
                "range {}..{} read other bytes",
                r.start, r.end
            )));
        }
    }
    p.sink.delete(&k).await
}

async fn large_object(p: &Pair, base: &str) -> Result<()> {
    let k = key(&format!("{base}large"));
    const CHUNK: usize = 1024 * 1024;
    let chunks = LARGE_OBJECT.div_ceil(CHUNK as u64);
    let mut expected = 0u32;
    let mut parts = Vec::new();
    for i in 0..chunks {
        let len = (LARGE_OBJECT - i * CHUNK as u64).min(CHUNK as u64) as usize;
        let part = Bytes::from(bytes_for(100 + i, len));
        expected = crc32c::crc32c_append(expected, &part);
        parts.push(part);
    }
    // A stream built lazily from the parts: the store sees a stream, not one buffer.
    let stream = stream::iter(parts.into_iter().map(Ok)).boxed();
    p.sink.write(&k, LARGE_OBJECT, stream).await?;
    let mut read = p.source.read(&k, None).await?;
    let (mut crc, mut n) = (0u32, 0u64);
    while let Some(chunk) = read.next().await {
        let chunk = chunk?;
        crc = crc32c::crc32c_append(crc, &chunk);
        n += chunk.len() as u64;
    }
    if n != LARGE_OBJECT || crc != expected {
        return Err(fail(format!(
            "read back {n} bytes with CRC32C {crc:08x}, wrote {LARGE_OBJECT} with {expected:08x}"
        )));
    }
    p.sink.delete(&k).await
}

async fn unusual_keys(p: &Pair, base: &str) -> Result<()> {
    let names = [
        "space in name",
        "plus+equals=amp&",
        "ümlaut-ß-日本",
        "percent%20literal",
        "semi;colon,comma~tilde",
        "(parens)[brackets]{braces}",
        "dots...in.name",
        "a/b/c/d/e/f/g/h/i/deep",
    ];
    for (i, n) in names.iter().enumerate() {
        let k = key(&format!("{base}odd/{n}"));
        let data = bytes_for(200 + i as u64, 10 + i);
        p.sink
            .write(&k, data.len() as u64, body(data.clone()))
            .await?;
        if read_all(p.source.as_ref(), &k).await?[..] != data[..] {
            return Err(fail(format!("{k:?} read back other bytes")));
        }
    }
    let listed: Vec<String> = p
        .source
        .list(&format!("{base}odd/"))
        .await?
        .map(|m| m.map(|m| m.key.to_string()))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()?;
    for n in names {
        if !listed.iter().any(|k| k == &format!("{base}odd/{n}")) {
            return Err(fail(format!("{n:?} missing from the listing")));
        }
    }
    for n in names {
        p.sink.delete(&key(&format!("{base}odd/{n}"))).await?;
    }
    Ok(())
}

async fn missing_keys(p: &Pair, base: &str) -> Result<()> {
    let k = key(&format!("{base}never-written"));
    if p.source.stat(&k).await?.is_some() {
        return Err(fail("stat found an object never written"));
    }
    match p.source.read(&k, None).await {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(fail(format!(
            "reading a missing key gave {} instead of not_found",
            e.kind()
        ))),
        Ok(s) => match collect_limited(s, 1024).await {
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            _ => Err(fail("reading a missing key succeeded")),
        },
    }
}

async fn escaping_keys(p: &Pair, base: &str) -> Result<()> {
    for bad in ["../x", "/abs", "a/../../x", "a//b", "a\0b", "a\\b", "./x"] {
        if ObjectKey::new(format!("{base}{bad}")).is_ok() {
            return Err(fail(format!("{bad:?} was accepted as a key")));
        }
    }
    // Nothing of the checks escaped the folder: the location's root lists only it.
    let root = p.source.list_children("").await?;
    if root.objects.iter().any(|o| o.key.as_str().contains("..")) {
        return Err(fail("an object escaped its folder"));
    }
    Ok(())
}

async fn failed_write_leaves_nothing(p: &Pair, base: &str) -> Result<()> {
    let k = key(&format!("{base}failed"));
    let broken: ByteStream = stream::iter(vec![
        Ok(Bytes::from(bytes_for(3, 4096))),
        Err(Error::new(
            ErrorKind::Transient,
            "injected: the source broke",
        )),
    ])
    .boxed();
    if p.sink.write(&k, 100_000, broken).await.is_ok() {
        return Err(fail("a write whose stream failed succeeded"));
    }
    let short = body(bytes_for(4, 100));
    if p.sink.write(&k, 200, short).await.is_ok() {
        return Err(fail("a write shorter than announced succeeded"));
    }
    let long = body(bytes_for(5, 300));
    if p.sink.write(&k, 200, long).await.is_ok() {
        return Err(fail("a write longer than announced succeeded"));
    }
    p.sink.flush().await?;
    if p.source.stat(&k).await?.is_some() {
        return Err(fail("a partial object is visible after failed writes"));
    }
    Ok(())
}

async fn listing_many(p: &Pair, base: &str) -> Result<()> {
    let prefix = format!("{base}many/");
    let results: Vec<Result<()>> = stream::iter(0..MANY_KEYS)
        .map(|i| {
            let k = key(&format!("{prefix}{:02}/{i:05}", i % 50));
            let sink = p.sink.clone();
            async move { sink.write(&k, 8, body(bytes_for(i as u64, 8))).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect::<Result<Vec<_>>>()?;
    let listed = p.source.list(&prefix).await?.collect::<Vec<_>>().await;
    let mut keys: Vec<String> = listed
        .into_iter()
        .map(|m| m.map(|m| m.key.to_string()))
        .collect::<Result<_>>()?;
    keys.sort();
    keys.dedup();
    if keys.len() != MANY_KEYS {
        return Err(fail(format!(
            "listed {} of {MANY_KEYS} objects",
            keys.len()
        )));
    }
    let children = p.source.list_children(&prefix).await?;
    if children.folders.len() != 50 {
        return Err(fail(format!(
            "list_children found {} of 50 folders",
            children.folders.len()
        )));
    }
    let deleted: Vec<Result<()>> = stream::iter(keys)
        .map(|k| {
            let sink = p.sink.clone();
            async move { sink.delete(&key(&k)).await }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    deleted.into_iter().collect::<Result<Vec<_>>>().map(|_| ())
}

/// Every check, in order: name and the check itself.
pub const CHECKS: &[&str] = &[
    "put_get_stat_delete",
    "range_reads",
    "large_object",
    "unusual_keys",
    "missing_keys",
    "escaping_keys",
    "failed_write_leaves_nothing",
    "listing_many",
    "sample_backup_round_trip",
];

async fn run_one(name: &str, p: &Pair, base: &str) -> Result<()> {
    match name {
        "put_get_stat_delete" => put_get_stat_delete(p, base).await,
        "range_reads" => range_reads(p, base).await,
        "large_object" => large_object(p, base).await,
        "unusual_keys" => unusual_keys(p, base).await,
        "missing_keys" => missing_keys(p, base).await,
        "escaping_keys" => escaping_keys(p, base).await,
        "failed_write_leaves_nothing" => failed_write_leaves_nothing(p, base).await,
        "listing_many" => listing_many(p, base).await,
        "sample_backup_round_trip" => round_trip::sample_backup_round_trip(p, base).await,
        other => Err(fail(format!("no check named {other}"))),
    }
}

fn base36(mut n: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ASCII digits")
}

/// A fresh folder for one run of the checks: `kit-<time in base 36>/` (short: some
/// S3-compatible servers limit key length, and the sample's keys are 131 bytes).
fn fresh_base() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("kit-{}/", base36(nanos as u64))
}

/// Runs the check `name` (one of [`CHECKS`]) against `pair` under a fresh folder, then lets the
/// sink flush: what [`conformance_tests!`] calls, one test per check.
pub async fn run_check(name: &str, pair: &Pair) -> Result<()> {
    run_one(name, pair, &fresh_base()).await?;
    pair.sink.flush().await
}

/// Expands to one `#[tokio::test]` per conformance check, named after the check, each running
/// it against the [`Pair`] that `$pair` (an expression yielding a future of a `Pair`) makes, so
/// a failure names the check. A plugin's own tests call it, for example:
///
/// ```text
/// async fn pair() -> ferry_testkit::Pair { /* open the store under test */ }
/// ferry_testkit::conformance_tests!(pair());
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($pair:expr) => {
        $crate::conformance_tests!(@each $pair;
            put_get_stat_delete, range_reads, large_object, unusual_keys, missing_keys,
            escaping_keys, failed_write_leaves_nothing, listing_many, sample_backup_round_trip);
    };
    (@each $pair:expr; $($check:ident),+) => {
        #[test]
        fn every_kit_check_has_a_test_here() {
            assert_eq!(
                $crate::CHECKS,
                &[$(stringify!($check)),+],
                "the kit's checks and conformance_tests! disagree: add the new check to the macro"
            );
        }
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let pair = $pair.await;
                if let Err(e) = $crate::run_check(stringify!($check), &pair).await {
                    panic!("conformance check {} failed: {e}", stringify!($check));
                }
            }
        )+
    };
}

/// Runs every check against `pair` under a fresh folder; one result per check.
pub async fn run_all(pair: &Pair) -> Vec<CheckResult> {
    let base = fresh_base();
    let mut results = Vec::new();
    for name in CHECKS {
        let started = Instant::now();
        let outcome = run_one(name, pair, &base).await;
        results.push(CheckResult {
            name,
            passed: outcome.is_ok(),
            error: outcome.err().map(|e| e.to_string()),
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    // Let the sink finish (durability, staging clean-up) as the engine does after a phase.
    if let Err(e) = pair.sink.flush().await {
        results.push(CheckResult {
            name: "flush",
            passed: false,
            error: Some(e.to_string()),
            seconds: 0.0,
        });
    }
    results
}
