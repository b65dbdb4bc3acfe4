//! CRC32C computed while bytes stream through, and over whole objects.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::error::{Error, Result};
use crate::key::ObjectKey;
use crate::source::Source;
use crate::stream::ByteStream;

/// Running digest of the bytes seen so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digest {
    /// Bytes seen.
    pub bytes: u64,
    /// CRC32C of those bytes.
    pub crc32c: u32,
}

impl Digest {
    /// Adds a chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        self.crc32c = crc32c::crc32c_append(self.crc32c, chunk);
        self.bytes += chunk.len() as u64;
    }
}

/// A stream that hashes what passes through and enforces the exact expected length: more bytes
/// than expected, or an early end, becomes an error in the stream (so the sink aborts).
pub struct HashingStream {
    inner: ByteStream,
    digest: Arc<Mutex<Digest>>,
    expected: u64,
    on_bytes: Option<Arc<dyn Fn(u64) + Send + Sync>>,
    done: bool,
}

impl HashingStream {
    /// Wraps `inner`; the digest can be read through the returned handle once the stream ends.
    pub fn new(
        inner: ByteStream,
        expected: u64,
        on_bytes: Option<Arc<dyn Fn(u64) + Send + Sync>>,
    ) -> (Self, Arc<Mutex<Digest>>) {
        let digest = Arc::new(Mutex::new(Digest::default()));
        (
            HashingStream {
                inner,
                digest: digest.clone(),
                expected,
                on_bytes,
                done: false,
            },
            digest,
        )
    }
}

impl Stream for HashingStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(chunk))) => {
                let seen = {
                    let mut d = self.digest.lock().expect("digest lock");
                    d.update(&chunk);
                    d.bytes
                };
                if let Some(cb) = &self.on_bytes {
                    cb(chunk.len() as u64);
                }
                if seen > self.expected {
                    self.done = true;
                    return Poll::Ready(Some(Err(changed(self.expected, seen))));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.done = true;
                let seen = self.digest.lock().expect("digest lock").bytes;
                if seen != self.expected {
                    return Poll::Ready(Some(Err(changed(self.expected, seen))));
                }
                Poll::Ready(None)
            }
        }
    }
}

fn changed(expected: u64, seen: u64) -> Error {
    Error::integrity(format!(
        "the source object was listed with {expected} bytes but {seen}{} bytes were read: it changed during the copy or the read was cut short",
        if seen > expected { "+" } else { "" }
    ))
    .with_retryable(true)
}

/// Reads a whole object and returns its digest (streaming, bounded memory), retrying
/// retryable failures from the start.
pub async fn digest_object(source: &dyn Source, key: &ObjectKey) -> Result<Digest> {
    let policy = crate::retry::RetryPolicy::default();
    crate::retry::retry(&policy, &format!("hashing {key}"), || {
        digest_once(source, key)
    })
    .await
}

async fn digest_once(source: &dyn Source, key: &ObjectKey) -> Result<Digest> {
    let mut stream = source.read(key, None).await?;
    let mut digest = Digest::default();
    while let Some(chunk) = stream.next().await {
        digest.update(&chunk?);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(parts: &[&'static [u8]]) -> ByteStream {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
        .boxed()
    }

    #[tokio::test]
    async fn hashes_and_accepts_exact_length() {
        let (s, d) = HashingStream::new(stream_of(&[b"123", b"456789"]), 9, None);
        let out: Vec<_> = s.collect().await;
        assert!(out.iter().all(|r| r.is_ok()));
        let d = *d.lock().unwrap();
        assert_eq!(d.bytes, 9);
        assert_eq!(d.crc32c, 0xE306_9283, "CRC32C check value of 123456789");
    }

    #[tokio::test]
    async fn short_and_long_streams_fail() {
        let (s, _) = HashingStream::new(stream_of(&[b"12"]), 3, None);
        let out: Vec<_> = s.collect().await;
        assert!(out.last().unwrap().is_err());
        let (s, _) = HashingStream::new(stream_of(&[b"1234"]), 3, None);
        let out: Vec<_> = s.collect().await;
        assert!(out.last().unwrap().is_err());
    }
}
