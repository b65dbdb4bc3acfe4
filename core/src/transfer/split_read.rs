//! Reading one large object as several ranged reads in flight, reassembled in order.
//!
//! One HTTP stream is bound by its round trips and by what one connection carries; s5cmd and
//! rclone split large downloads for that reason. The engine does the same for sources that say
//! it helps ([`Source::split_read_chunk`]): ranges of `chunk` bytes, `streams` of them in flight
//! per object, each held in memory under the engine's read budget
//! ([`crate::buffers::BufferBudget`]) until the sink takes it. The sink still sees one ordered
//! stream, so every sink works unchanged and the CRC32C is computed as for any other copy.

use crate::buffers::BufferBudget;
use std::sync::Arc;

use futures::{stream, StreamExt};

use crate::error::Error;
use crate::key::ObjectKey;
use crate::source::Source;
use crate::stream::{collect_sized, ByteStream};

/// The range size object-store plugins declare: the part size s5cmd and rclone use too.
pub const DEFAULT_SPLIT_READ_CHUNK: u64 = 8 * 1024 * 1024;

/// Ranged reads in flight for one object.
pub const SPLIT_READ_STREAMS: usize = 4;

/// Whether an object of `size` bytes is worth splitting into ranges of `chunk` bytes: at least
/// as many ranges as streams, so that every stream has work.
pub fn worth_splitting(size: u64, chunk: u64) -> bool {
    chunk > 0 && size >= chunk.saturating_mul(SPLIT_READ_STREAMS as u64)
}

/// The ranges `start..end` covering `size` bytes in pieces of `chunk` bytes (the last shorter).
pub fn ranges(size: u64, chunk: u64) -> impl Iterator<Item = std::ops::Range<u64>> {
    let chunk = chunk.max(1);
    (0..size.div_ceil(chunk)).map(move |i| i * chunk..((i + 1) * chunk).min(size))
}

/// `key` (`size` bytes, as listed) read as ranges of `chunk` bytes, `streams` in flight,
/// yielded in order (each chunk counts against the read budget until it is yielded; a range is
/// reserved before it is requested, so every object's first range is served before its later
/// ones and objects cannot starve each other). A range that comes back shorter or longer than asked fails the stream
/// with an integrity error (the engine retries the object).
pub fn split_read(
    source: Arc<dyn Source>,
    key: ObjectKey,
    size: u64,
    chunk: u64,
    streams: usize,
    budget: BufferBudget,
) -> ByteStream {
    let reads = stream::iter(ranges(size, chunk)).map(move |range| {
        let source = source.clone();
        let key = key.clone();
        let budget = budget.clone();
        async move {
            let want = range.end - range.start;
            let reservation = budget.reserve(want).await;
            let body = source.read(&key, Some(range.clone())).await?;
            let bytes = collect_sized(body, want as usize).await?;
            if bytes.len() as u64 != want {
                return Err(Error::integrity(format!(
                    "bytes {}..{} of {key} came back as {} bytes, not {want}",
                    range.start,
                    range.end,
                    bytes.len()
                ))
                .with_key(&key));
            }
            Ok((bytes, reservation))
        }
    });
    // A range read ahead of its turn keeps its reservation until it is handed on.
    reads
        .buffered(streams.max(1))
        .map(|read| read.map(|(bytes, _reservation)| bytes))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_every_byte_once() {
        let all: Vec<_> = ranges(20, 8).collect();
        assert_eq!(all, vec![0..8, 8..16, 16..20]);
        assert_eq!(ranges(16, 8).count(), 2);
        assert_eq!(ranges(0, 8).count(), 0);
    }

    #[test]
    fn only_objects_with_work_for_every_stream_are_split() {
        let chunk = 8 << 20;
        assert!(!worth_splitting(16 << 20, chunk));
        assert!(worth_splitting(32 << 20, chunk));
        assert!(worth_splitting(1 << 30, chunk));
        assert!(!worth_splitting(1 << 30, 0));
    }
}
