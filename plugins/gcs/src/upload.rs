//! Uploads over the JSON API: one request for small objects, a resumable session in 8 MiB
//! chunks for large ones (a chunk that fails is resumed from the offset GCS confirms; an upload
//! that cannot finish is cancelled, so nothing appears under the name). GCS's CRC32C of the
//! stored object is compared with Ferry's own before the upload counts as done.

use bytes::{Bytes, BytesMut};
use ferry_core::buffers::{BufferBudget, PendingTasks};
use ferry_core::{ByteStream, Error, ObjectKey, Result};
use futures::StreamExt;
use reqwest::Method;

use crate::api::{encode, GcsApi, ObjectResource};

/// Objects up to this size are uploaded in one request.
pub const SINGLE_REQUEST_LIMIT: u64 = 8 * 1024 * 1024;
/// Chunk of a resumable upload (a multiple of 256 KiB, as GCS requires).
pub const CHUNK: usize = 8 * 1024 * 1024;
/// Attempts per chunk before the upload is cancelled.
const CHUNK_ATTEMPTS: u32 = 4;

/// What the uploads of one store share, owned by that store: the budget of bytes their bodies
/// and chunks hold in memory, and the cancellations started when an upload was dropped, which
/// the store's `flush` awaits. Clones share both.
#[derive(Debug, Clone)]
pub struct Uploads {
    budget: BufferBudget,
    cancels: PendingTasks,
}

impl Default for Uploads {
    fn default() -> Self {
        Uploads {
            budget: BufferBudget::for_uploads(),
            cancels: PendingTasks::default(),
        }
    }
}

impl Uploads {
    /// Waits for the cancellations of dropped uploads.
    pub async fn wait_for_cancels(&self) {
        self.cancels.wait().await;
    }
}

/// A resumable session that is cancelled unless it completed (when dropped, the cancellation
/// runs as one of the store's pending tasks).
struct Session {
    api: GcsApi,
    uri: Option<String>,
    cancels: PendingTasks,
}

impl Session {
    async fn cancel(&mut self) {
        if let Some(uri) = self.uri.take() {
            if let Ok(req) = self.api.request(Method::DELETE, &uri).await {
                let _ = req.send().await;
            }
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if let Some(uri) = self.uri.take() {
            let api = self.api.clone();
            self.cancels.spawn(async move {
                if let Ok(req) = api.request(Method::DELETE, &uri).await {
                    let _ = req.send().await;
                }
            });
        }
    }
}

fn length_error(key: &ObjectKey, got: u64, size: u64) -> Error {
    Error::integrity(format!(
        "the stream for {key} yielded {got} bytes, not the announced {size}"
    ))
    .with_key(key)
    .with_retryable(got < size)
}

/// Uploads exactly `size` bytes of `data` as object `name`; returns GCS's resource.
pub async fn upload(
    api: &GcsApi,
    uploads: &Uploads,
    name: &str,
    key: &ObjectKey,
    size: u64,
    mut data: ByteStream,
) -> Result<ObjectResource> {
    let mut crc = 0u32;
    let resource = if size <= SINGLE_REQUEST_LIMIT {
        // One request holds the body in memory: within the store's buffer budget.
        let _reservation = uploads.budget.reserve(size).await;
        let mut buf = BytesMut::with_capacity(size as usize);
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            if buf.len() + chunk.len() > size as usize {
                return Err(length_error(key, (buf.len() + chunk.len()) as u64, size));
            }
            buf.extend_from_slice(&chunk);
        }
        if buf.len() as u64 != size {
            return Err(length_error(key, buf.len() as u64, size));
        }
        crc = crc32c::crc32c(&buf);
        let url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=media&name={}",
            api.endpoint,
            encode(&api.bucket),
            encode(name)
        );
        let req = api
            .request(Method::POST, &url)
            .await?
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(buf.freeze());
        parse(api.send(req, Some(name), &[]).await?).await?
    } else {
        resumable(api, uploads, name, key, size, &mut data, &mut crc).await?
    };
    let stored = resource.checksums().crc32c;
    if resource.size()? != size || stored.is_some_and(|c| c != crc) {
        // The object is visible with the wrong content: remove it before reporting.
        let _ = api.delete(name).await;
        return Err(Error::integrity(format!(
            "GCS stored {} bytes with CRC32C {:?} for {key}, Ferry sent {size} bytes with CRC32C {crc:08x}",
            resource.size,
            stored.map(|c| format!("{c:08x}"))
        ))
        .with_key(key)
        .with_retryable(true));
    }
    Ok(resource)
}

async fn parse(response: reqwest::Response) -> Result<ObjectResource> {
    response
        .json()
        .await
        .map_err(|e| Error::internal(format!("GCS upload answer is not JSON: {e}")))
}

async fn resumable(
    api: &GcsApi,
    uploads: &Uploads,
    name: &str,
    key: &ObjectKey,
    size: u64,
    data: &mut ByteStream,
    crc: &mut u32,
) -> Result<ObjectResource> {
    let url = format!(
        "{}/upload/storage/v1/b/{}/o?uploadType=resumable&name={}",
        api.endpoint,
        encode(&api.bucket),
        encode(name)
    );
    let req = api
        .request(Method::POST, &url)
        .await?
        .header("X-Upload-Content-Type", "application/octet-stream")
        .header("X-Upload-Content-Length", size)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body("{}");
    let response = api.send(req, Some(name), &[]).await?;
    let uri = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::internal("GCS started a resumable upload without a session URI"))?
        .to_string();
    let mut session = Session {
        api: api.clone(),
        uri: Some(uri.clone()),
        cancels: uploads.cancels.clone(),
    };
    // One chunk buffer per resumable upload, within the store's buffer budget.
    let reservation = uploads.budget.reserve(CHUNK as u64).await;
    let result = send_chunks(api, &uri, name, key, size, data, crc).await;
    drop(reservation);
    match result {
        Ok(resource) => {
            session.uri = None;
            Ok(resource)
        }
        Err(e) => {
            session.cancel().await;
            Err(e)
        }
    }
}

async fn send_chunks(
    api: &GcsApi,
    uri: &str,
    name: &str,
    key: &ObjectKey,
    size: u64,
    data: &mut ByteStream,
    crc: &mut u32,
) -> Result<ObjectResource> {
    let mut offset = 0u64;
    let mut buffer = BytesMut::with_capacity(CHUNK);
    let mut ended = false;
    loop {
        while buffer.len() < CHUNK && !ended {
            match data.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    *crc = crc32c::crc32c_append(*crc, &chunk);
                    buffer.extend_from_slice(&chunk);
                }
                None => ended = true,
            }
        }
        let take = buffer.len().min(CHUNK);
        let piece: Bytes = buffer.split_to(take).freeze();
        let last = ended && buffer.is_empty();
        if offset + piece.len() as u64 > size || (last && offset + piece.len() as u64 != size) {
            return Err(length_error(
                key,
                offset + piece.len() as u64 + buffer.len() as u64,
                size,
            ));
        }
        if let Some(resource) = put_chunk(api, uri, name, piece.clone(), offset, size).await? {
            return Ok(resource);
        }
        offset += piece.len() as u64;
        if last {
            return Err(Error::internal(format!(
                "GCS did not finish the upload of {key} after its last chunk"
            )));
        }
    }
}

/// Sends `piece` at `offset`; on a transient failure asks GCS what it has and resends the rest.
/// Returns the resource when GCS says the upload is complete.
async fn put_chunk(
    api: &GcsApi,
    uri: &str,
    name: &str,
    piece: Bytes,
    offset: u64,
    size: u64,
) -> Result<Option<ObjectResource>> {
    let mut sent_from = offset;
    let mut attempt = 1;
    loop {
        let body = piece.slice((sent_from - offset) as usize..);
        let end = sent_from + body.len() as u64;
        let range = if body.is_empty() {
            format!("bytes */{size}")
        } else {
            format!("bytes {sent_from}-{}/{size}", end - 1)
        };
        let req = api
            .request(Method::PUT, uri)
            .await?
            .header(reqwest::header::CONTENT_RANGE, range)
            .body(body);
        match api.send(req, Some(name), &[308]).await {
            Ok(r) if r.status().as_u16() == 308 => {
                let confirmed = confirmed_end(&r);
                if confirmed < end {
                    // GCS kept less than was sent: send the rest of this chunk again.
                    if attempt >= CHUNK_ATTEMPTS || confirmed < offset {
                        return Err(Error::integrity("GCS lost part of an uploaded chunk")
                            .with_retryable(true));
                    }
                    sent_from = confirmed;
                    attempt += 1;
                    continue;
                }
                return Ok(None);
            }
            Ok(r) => return parse(r).await.map(Some),
            Err(e) if e.is_retryable() && attempt < CHUNK_ATTEMPTS => {
                tracing::warn!(error = %e, attempt, "resuming a GCS upload chunk");
                tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                    .await;
                attempt += 1;
                // Ask what GCS has, then resend from there.
                let status = api
                    .request(Method::PUT, uri)
                    .await?
                    .header(reqwest::header::CONTENT_RANGE, format!("bytes */{size}"));
                match api.send(status, Some(name), &[308]).await {
                    Ok(r) if r.status().as_u16() == 308 => {
                        let confirmed = confirmed_end(&r);
                        if confirmed < offset || confirmed > end {
                            return Err(Error::integrity("GCS lost part of an uploaded chunk")
                                .with_retryable(true));
                        }
                        sent_from = confirmed;
                    }
                    Ok(r) => return parse(r).await.map(Some),
                    Err(e) if e.is_retryable() => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// The end (exclusive) of what a 308 answer confirms: `Range: bytes=0-N` means N+1; no Range
/// header means nothing.
fn confirmed_end(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get(reqwest::header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit('-').next())
        .and_then(|n| n.parse::<u64>().ok())
        .map(|n| n + 1)
        .unwrap_or(0)
}
