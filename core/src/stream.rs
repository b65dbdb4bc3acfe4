//! Byte and listing streams shared by sources, sinks and the engine.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use futures::stream::BoxStream;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::object::ObjectMeta;

/// The body of an object, as a stream of chunks.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// A listing, as a stream of object metadata.
pub type ObjectStream = BoxStream<'static, Result<ObjectMeta>>;

/// A byte range to read: `start..end`, end exclusive.
pub type ByteRange = Range<u64>;

/// Reads a whole stream into memory, refusing more than `limit` bytes.
/// Only for small, bounded reads (binlog headers, footers); never for object bodies.
pub async fn collect_limited(stream: ByteStream, limit: usize) -> Result<Bytes> {
    collect_into(stream, BytesMut::new(), limit).await
}

/// Reads a stream expected to hold `expected` bytes into one buffer allocated once, refusing
/// more (a ranged read held in memory under a budget: no reallocation may double it).
pub async fn collect_sized(stream: ByteStream, expected: usize) -> Result<Bytes> {
    collect_into(stream, BytesMut::with_capacity(expected), expected).await
}

async fn collect_into(mut stream: ByteStream, mut buf: BytesMut, limit: usize) -> Result<Bytes> {
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buf.len() + chunk.len() > limit {
            return Err(Error::integrity(format!(
                "read returned more than the {limit} bytes asked for"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn collect_limited_refuses_overlong() {
        let s: ByteStream = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"def")),
        ])
        .boxed();
        assert!(collect_limited(s, 5).await.is_err());
        let s: ByteStream = futures::stream::iter(vec![Ok(Bytes::from_static(b"abc"))]).boxed();
        assert_eq!(&collect_limited(s, 5).await.unwrap()[..], b"abc");
    }
}
