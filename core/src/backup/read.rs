//! Reading meta JSON from a source with bounded memory: the object is streamed into the parser,
//! never loaded whole.

use std::io::BufReader;

use futures::TryStreamExt;
use serde::de::DeserializeOwned;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::error::{Error, Result};
use crate::key::ObjectKey;
use crate::source::Source;

/// Parses the JSON object at `key` into `T`. Malformed JSON is an [`crate::ErrorKind::InvalidBackup`]
/// error naming the key, line and column.
pub async fn read_json<T>(source: &dyn Source, key: &ObjectKey) -> Result<T>
where
    T: DeserializeOwned + Send + 'static,
{
    let stream = source.read(key, None).await?;
    let reader = StreamReader::new(stream.map_err(|e| std::io::Error::other(e.to_string())));
    let location = source.location().to_string();
    let key_text = key.to_string();
    let parsed = tokio::task::spawn_blocking(move || {
        let bridge = SyncIoBridge::new(reader);
        serde_json::from_reader::<_, T>(BufReader::with_capacity(256 * 1024, bridge))
    })
    .await
    .map_err(|e| Error::internal(format!("meta parser task failed: {e}")))?;
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
