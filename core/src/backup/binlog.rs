//! Counting rows in Milvus binlogs without decoding column data (format notes §7).
//!
//! A storage-v1 binlog is `magic, descriptor event, data events…`, each data event's payload a
//! complete Parquet file; a storage-v2 file is bare Parquet. Rows come from Parquet footers.
//! Every length is checked against the object size before it is used, and every read is a
//! bounded ranged read, so a hostile file can neither exhaust memory nor read past its end.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::key::ObjectKey;
use crate::source::Source;
use crate::stream::collect_limited;

/// Magic at offset 0 of a storage-v1 binlog (`BC FA FF 00`).
pub const BINLOG_MAGIC: [u8; 4] = [0xBC, 0xFA, 0xFF, 0x00];
/// Parquet's magic.
pub const PARQUET_MAGIC: &[u8; 4] = b"PAR1";
/// Event header: timestamp u64, type i8, event_length i32, next_position i32.
const EVENT_HEADER_LEN: u64 = 17;
/// Descriptor fixed part: 4 ids, 2 timestamps, payload type.
const DESCRIPTOR_FIXED_LEN: u64 = 52;
/// Data event fixed part: start and end timestamps.
const DATA_FIXED_LEN: u64 = 16;
/// Largest Parquet footer Ferry will read (a real binlog footer is a few KiB).
pub const MAX_FOOTER_LEN: u64 = 16 * 1024 * 1024;
/// Objects up to this size are read in one request.
const WHOLE_READ_LIMIT: u64 = 1024 * 1024;
/// Most events one file may hold (real files hold one).
const MAX_EVENTS: usize = 100_000;

/// Event type codes.
const EVENT_INSERT: i8 = 1;
const EVENT_DELETE: i8 = 2;

/// Layout of a binlog file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinlogLayout {
    /// Storage v1 event envelope.
    Envelope,
    /// Bare Parquet (storage v2/v3 column groups).
    BareParquet,
}

/// The ids a v1 descriptor records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DescriptorIds {
    /// Collection id.
    pub collection_id: i64,
    /// Partition id.
    pub partition_id: i64,
    /// Segment id.
    pub segment_id: i64,
    /// Field id (−1 for delta logs).
    pub field_id: i64,
}

/// What a binlog says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogFacts {
    /// Envelope or bare Parquet.
    pub layout: BinlogLayout,
    /// Rows in insert events (or the bare file).
    pub insert_rows: i64,
    /// Rows in delete events.
    pub delete_rows: i64,
    /// Data events seen.
    pub events: usize,
    /// The descriptor's ids (envelope only).
    pub descriptor: Option<DescriptorIds>,
}

/// Reads byte ranges of one object, from one whole read for small objects.
struct RangeReader<'a> {
    source: &'a dyn Source,
    key: &'a ObjectKey,
    size: u64,
    whole: Option<Bytes>,
}

impl<'a> RangeReader<'a> {
    async fn new(source: &'a dyn Source, key: &'a ObjectKey, size: u64) -> Result<Self> {
        let whole = if size <= WHOLE_READ_LIMIT {
            let stream = source.read(key, None).await?;
            let bytes = collect_limited(stream, size as usize).await?;
            if bytes.len() as u64 != size {
                return Err(corrupt(format!(
                    "the object is {} bytes, not the {size} bytes listed",
                    bytes.len()
                )));
            }
            Some(bytes)
        } else {
            None
        };
        Ok(RangeReader {
            source,
            key,
            size,
            whole,
        })
    }

    async fn read(&self, start: u64, len: u64) -> Result<Bytes> {
        let end = start
            .checked_add(len)
            .filter(|e| *e <= self.size)
            .ok_or_else(|| {
                corrupt(format!(
                    "a length points past the end of the file ({} + {len} > {})",
                    start, self.size
                ))
            })?;
        if let Some(whole) = &self.whole {
            return Ok(whole.slice(start as usize..end as usize));
        }
        let stream = self.source.read(self.key, Some(start..end)).await?;
        let bytes = collect_limited(stream, len as usize).await?;
        if bytes.len() as u64 != len {
            return Err(corrupt("the object ended early (truncated)"));
        }
        Ok(bytes)
    }
}

fn corrupt(message: impl Into<String>) -> Error {
    Error::invalid_backup(message.into())
}

fn le_i32(b: &[u8], at: usize) -> i32 {
    i32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn le_i64(b: &[u8], at: usize) -> i64 {
    i64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Reads the facts of the binlog at `key` (`size` bytes as listed).
pub async fn read_binlog(source: &dyn Source, key: &ObjectKey, size: u64) -> Result<BinlogFacts> {
    if size < 4 {
        return Err(corrupt(format!("the file is only {size} bytes")));
    }
    let reader = RangeReader::new(source, key, size).await?;
    let magic = reader.read(0, 4).await?;
    if magic[..] == BINLOG_MAGIC {
        read_envelope(&reader).await
    } else if &magic[..] == PARQUET_MAGIC {
        let rows = parquet_rows(&reader, 0, size).await?;
        Ok(BinlogFacts {
            layout: BinlogLayout::BareParquet,
            insert_rows: rows,
            delete_rows: 0,
            events: 1,
            descriptor: None,
        })
    } else {
        Err(corrupt(format!(
            "bad magic {:02X?}: neither a Milvus binlog (BC FA FF 00) nor Parquet (PAR1)",
            &magic[..]
        )))
    }
}

async fn read_envelope(reader: &RangeReader<'_>) -> Result<BinlogFacts> {
    let size = reader.size;
    let header = reader
        .read(4, EVENT_HEADER_LEN + DESCRIPTOR_FIXED_LEN)
        .await?;
    if header[8] as i8 != 0 {
        return Err(corrupt(format!(
            "the first event is of type {}, not a descriptor",
            header[8] as i8
        )));
    }
    let descriptor_len = le_i32(&header, 9);
    if (descriptor_len as i64) < (EVENT_HEADER_LEN + DESCRIPTOR_FIXED_LEN) as i64 {
        return Err(corrupt(format!(
            "descriptor length {descriptor_len} is too small"
        )));
    }
    let fixed = &header[EVENT_HEADER_LEN as usize..];
    let descriptor = DescriptorIds {
        collection_id: le_i64(fixed, 0),
        partition_id: le_i64(fixed, 8),
        segment_id: le_i64(fixed, 16),
        field_id: le_i64(fixed, 24),
    };
    let mut pos = 4u64 + descriptor_len as u64;
    if pos > size {
        return Err(corrupt(format!(
            "descriptor length {descriptor_len} points past the end of the file ({size} bytes)"
        )));
    }
    let mut facts = BinlogFacts {
        layout: BinlogLayout::Envelope,
        insert_rows: 0,
        delete_rows: 0,
        events: 0,
        descriptor: Some(descriptor),
    };
    while pos < size {
        if facts.events >= MAX_EVENTS {
            return Err(corrupt("more events than any real binlog holds"));
        }
        let head = reader.read(pos, EVENT_HEADER_LEN).await?;
        let type_code = head[8] as i8;
        let event_len = le_i32(&head, 9);
        if (event_len as i64) < (EVENT_HEADER_LEN + DATA_FIXED_LEN) as i64 {
            return Err(corrupt(format!(
                "event at offset {pos} has length {event_len}, too small"
            )));
        }
        let end = pos + event_len as u64;
        if end > size {
            return Err(corrupt(format!(
                "event at offset {pos} claims {event_len} bytes, past the end of the file ({size} bytes): truncated"
            )));
        }
        let payload_start = pos + EVENT_HEADER_LEN + DATA_FIXED_LEN;
        match type_code {
            EVENT_INSERT => facts.insert_rows += parquet_rows(reader, payload_start, end).await?,
            EVENT_DELETE => facts.delete_rows += parquet_rows(reader, payload_start, end).await?,
            _ => {}
        }
        facts.events += 1;
        pos = end;
    }
    Ok(facts)
}

/// Rows of the Parquet file occupying `start..end` of the object, from its footer only.
async fn parquet_rows(reader: &RangeReader<'_>, start: u64, end: u64) -> Result<i64> {
    let len = end.saturating_sub(start);
    if len < 12 {
        return Err(corrupt(format!(
            "Parquet payload at offset {start} is only {len} bytes"
        )));
    }
    let tail = reader.read(end - 8, 8).await?;
    if &tail[4..8] != PARQUET_MAGIC {
        return Err(corrupt(format!(
            "Parquet payload at offset {start} does not end with PAR1 (truncated or not Parquet)"
        )));
    }
    let footer_len = le_u32(&tail, 0) as u64;
    if footer_len > len - 12 || footer_len > MAX_FOOTER_LEN {
        return Err(corrupt(format!(
            "Parquet footer claims {footer_len} bytes in a payload of {len} bytes"
        )));
    }
    let footer = reader.read(end - 8 - footer_len, footer_len).await?;
    super::thrift::parquet_num_rows(&footer)
}
