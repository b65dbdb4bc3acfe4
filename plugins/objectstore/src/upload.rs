//! Uploads: one PUT for small objects, multipart (S3 parts, Azure blocks) for large ones, with
//! the part size derived from the object size and the store's part limit, at most two parts in
//! memory per object, and the upload aborted on any failure or cancellation so no orphan parts
//! and no partial object remain.

use bytes::{Bytes, BytesMut};
use ferry_core::buffers::{BufferBudget, BufferReservation, PendingTasks};
use ferry_core::{ByteStream, Error, ObjectKey, Result};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStoreExt, PutPayload};
use tokio::task::JoinHandle;

use crate::config::{BackendConfig, UploadPolicy};

/// Parts uploading at once for one object.
const PARTS_IN_FLIGHT: usize = 2;

/// What the uploads of one backend share, owned by that backend: the budget of bytes their
/// bodies and parts hold in memory, and the aborts started when an upload was dropped
/// (cancellation), which the backend's `flush` awaits. Clones share both.
#[derive(Debug, Clone)]
pub struct Uploads {
    budget: BufferBudget,
    aborts: PendingTasks,
}

impl Default for Uploads {
    fn default() -> Self {
        Uploads {
            budget: BufferBudget::for_uploads(),
            aborts: PendingTasks::default(),
        }
    }
}

impl Uploads {
    /// Waits for the aborts of dropped uploads to finish.
    pub async fn wait_for_aborts(&self) {
        self.aborts.wait().await;
    }
}

/// A multipart upload that is aborted unless completed (when dropped, the abort runs as one of
/// the backend's pending tasks).
struct Guard {
    upload: Option<Box<dyn MultipartUpload>>,
    aborts: PendingTasks,
}

impl Guard {
    async fn abort(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            if let Err(e) = upload.abort().await {
                tracing::warn!(error = %e, "aborting a multipart upload failed; the bucket's lifecycle rule for incomplete uploads will remove its parts");
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            self.aborts.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}

fn too_long(key: &ObjectKey, size: u64) -> Error {
    Error::integrity(format!(
        "the stream for {key} yields more than the announced {size} bytes"
    ))
    .with_key(key)
}

fn too_short(key: &ObjectKey, got: u64, size: u64) -> Error {
    Error::integrity(format!(
        "the stream for {key} ended after {got} of {size} bytes"
    ))
    .with_key(key)
    .with_retryable(true)
}

/// Uploads exactly `size` bytes of `data` to `path`.
pub async fn upload(
    backend: &BackendConfig,
    uploads: &Uploads,
    policy: &UploadPolicy,
    path: &Path,
    key: &ObjectKey,
    size: u64,
    mut data: ByteStream,
) -> Result<()> {
    let os = &backend.store;
    if size <= policy.single_put_limit {
        // The body is held in memory for one request: within the backend's buffer budget.
        let _reservation = uploads.budget.reserve(size).await;
        let mut chunks = Vec::new();
        let mut got = 0u64;
        while let Some(chunk) = data.next().await {
            let chunk = chunk?;
            got += chunk.len() as u64;
            if got > size {
                return Err(too_long(key, size));
            }
            chunks.push(chunk);
        }
        if got != size {
            return Err(too_short(key, got, size));
        }
        let payload: PutPayload = chunks.into_iter().collect();
        os.put(path, payload)
            .await
            .map_err(|e| backend.map(e, Some(key.as_str())))?;
        return Ok(());
    }

    let part = policy.part_size(size) as usize;
    let upload = os
        .put_multipart(path)
        .await
        .map_err(|e| backend.map(e, Some(key.as_str())))?;
    let mut guard = Guard {
        upload: Some(upload),
        aborts: uploads.aborts.clone(),
    };
    let result = upload_parts(&mut guard, &uploads.budget, part, key, size, &mut data).await;
    match result {
        Ok(()) => {
            let mut upload = guard.upload.take().expect("upload present");
            if let Err(e) = upload.complete().await {
                guard.upload = Some(upload);
                guard.abort().await;
                return Err(backend.map(e, Some(key.as_str())));
            }
            Ok(())
        }
        Err(e) => {
            guard.abort().await;
            Err(match e {
                PartError::Stream(e) => e,
                PartError::Store(e) => backend.map(e, Some(key.as_str())),
            })
        }
    }
}

enum PartError {
    Stream(Error),
    Store(object_store::Error),
}

/// Part uploads running as tasks (so they progress while the next part is read), each with
/// its buffer reservation; aborted when dropped.
struct PartTasks {
    tasks: FuturesUnordered<JoinHandle<object_store::Result<()>>>,
}

impl PartTasks {
    fn spawn(&mut self, part: object_store::UploadPart, reservation: BufferReservation) {
        self.tasks.push(tokio::spawn(async move {
            let result = part.await;
            drop(reservation);
            result
        }));
    }

    /// Waits for one part; `None` when none is running.
    async fn next(&mut self) -> Option<std::result::Result<(), PartError>> {
        let joined = self.tasks.next().await?;
        Some(match joined {
            Ok(r) => r.map_err(PartError::Store),
            Err(e) => Err(PartError::Stream(Error::internal(format!(
                "a part upload did not complete: {e}"
            )))),
        })
    }
}

impl Drop for PartTasks {
    fn drop(&mut self) {
        for task in self.tasks.iter() {
            task.abort();
        }
    }
}

/// Reserves a part's buffer; running parts finish meanwhile and return theirs.
async fn reserve_part(
    tasks: &mut PartTasks,
    budget: &BufferBudget,
    bytes: u64,
) -> std::result::Result<BufferReservation, PartError> {
    let reservation = budget.reserve(bytes);
    tokio::pin!(reservation);
    loop {
        tokio::select! {
            r = &mut reservation => return Ok(r),
            Some(done) = tasks.next() => done?,
        }
    }
}

async fn upload_parts(
    guard: &mut Guard,
    budget: &BufferBudget,
    part: usize,
    key: &ObjectKey,
    size: u64,
    data: &mut ByteStream,
) -> std::result::Result<(), PartError> {
    let upload = guard.upload.as_mut().expect("upload present");
    let mut tasks = PartTasks {
        tasks: FuturesUnordered::new(),
    };
    let mut reservation = reserve_part(&mut tasks, budget, part as u64).await?;
    let mut buffer = BytesMut::with_capacity(part);
    let mut got = 0u64;
    while let Some(chunk) = data.next().await {
        let mut chunk: Bytes = chunk.map_err(PartError::Stream)?;
        got += chunk.len() as u64;
        if got > size {
            return Err(PartError::Stream(too_long(key, size)));
        }
        while !chunk.is_empty() {
            let take = (part - buffer.len()).min(chunk.len());
            buffer.extend_from_slice(&chunk.split_to(take));
            if buffer.len() == part {
                let full = std::mem::replace(&mut buffer, BytesMut::new()).freeze();
                while tasks.tasks.len() >= PARTS_IN_FLIGHT {
                    if let Some(done) = tasks.next().await {
                        done?;
                    }
                }
                tasks.spawn(upload.put_part(PutPayload::from_bytes(full)), reservation);
                reservation = reserve_part(&mut tasks, budget, part as u64).await?;
                buffer = BytesMut::with_capacity(part);
            }
        }
    }
    if got != size {
        return Err(PartError::Stream(too_short(key, got, size)));
    }
    if !buffer.is_empty() {
        tasks.spawn(
            upload.put_part(PutPayload::from_bytes(buffer.freeze())),
            reservation,
        );
    }
    while let Some(done) = tasks.next().await {
        done?;
    }
    Ok(())
}
