//! Reading meta JSON from a source with bounded memory: the object is streamed into the parser,
//! never loaded whole.

use std::io::BufReader;

use futures::TryStreamExt;
use serde::de::DeserializeOwned;
use tokio_util::io::{StreamReader, SyncIoBridge};

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::key::ObjectKey;
use crate::retry::{retry, RetryPolicy};
use crate::source::Source;

/// Parses the JSON object at `key` into `T`. Malformed JSON is an [`crate::ErrorKind::InvalidBackup`]
/// error naming the key, line and column; storage errors keep their kind and are retried when
/// retryable.
pub async fn read_json<T>(source: &dyn Source, key: &ObjectKey) -> Result<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let policy = RetryPolicy::default();
    retry(&policy, &format!("reading {key}"), || {
        read_json_once(source, key)
    })
    .await
}

async fn read_json_once<T>(source: &dyn Source, key: &ObjectKey) -> Result<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let stream = source.read(key, None).await?;
    // The first storage error is kept whole, so its kind and retryability survive the parser.
    let storage_error: Arc<Mutex<Option<Error>>> = Arc::new(Mutex::new(None));
    let slot = storage_error.clone();
    let reader = StreamReader::new(stream.map_err(move |e| {
        let text = e.to_string();
        slot.lock().expect("error slot").get_or_insert(e);
        std::io::Error::other(text)
    }));
    let location = source.location().to_string();
    let key_text = key.to_string();
    let parsed = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let bridge = SyncIoBridge::new(reader);
        let mut buffered = BufReader::with_capacity(256 * 1024, bridge);
        // A UTF-8 byte-order mark (editors on Windows write one) is read past, not refused.
        if buffered
            .fill_buf()
            .map(|b| b.starts_with(b"\xEF\xBB\xBF"))
            .unwrap_or(false)
        {
            buffered.consume(3);
        }
        serde_json::from_reader::<_, T>(buffered)
    })
    .await
    .map_err(|e| Error::internal(format!("meta parser task failed: {e}")))?;
    if parsed.is_err() {
        if let Some(e) = storage_error.lock().expect("error slot").take() {
            return Err(e.with_key(key));
        }
    }
    parsed.map_err(|e| {
        let what = if e.is_io() {
            "could not be read"
        } else {
            "is not valid milvus-backup meta JSON"
        };
        Error::invalid_backup(format!("{key_text} {what}: {e}"))
            .with_location(location)
            .with_key(&key_text)
            .with_hint("the backup's meta is damaged; re-create the backup or restore this file from another copy")
    })
}
