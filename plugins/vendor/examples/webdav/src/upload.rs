//! Uploads: the body streams to a hidden staging file through a bounded channel (a PUT running
//! on its own thread), and a MOVE puts it under its key on commit.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use ferry_plugin_sdk::{PluginError, PluginResult, Upload};
use reqwest::blocking::Body;
use reqwest::Method;

use crate::connection::{Connection, STAGING_PREFIX};
use crate::http::status_error;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Chunks buffered between the host and the PUT.
const DEPTH: usize = 4;

type Chunk = Result<Vec<u8>, ()>;

/// Feeds the PUT's body from the channel; an `Err` chunk aborts the request.
struct ChannelReader {
    rx: Receiver<Chunk>,
    current: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.current.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.current = chunk;
                    self.at = 0;
                }
                Ok(Err(())) => {
                    return Err(std::io::Error::other("the upload was aborted"));
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// An object being written.
pub struct DavUpload {
    conn: Arc<Connection>,
    key: String,
    staging: String,
    tx: Option<SyncSender<Chunk>>,
    put: Option<JoinHandle<PluginResult<()>>>,
}

impl DavUpload {
    /// Starts the PUT of `size` bytes to a staging file in `folder`.
    pub fn start(
        conn: Arc<Connection>,
        key: &str,
        folder: &str,
        size: u64,
    ) -> PluginResult<DavUpload> {
        let staging = format!(
            "{folder}{STAGING_PREFIX}{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = sync_channel(DEPTH);
        let reader = ChannelReader {
            rx,
            current: Vec::new(),
            at: 0,
        };
        let put_conn = conn.clone();
        let url = conn.url(&staging);
        let what = format!("uploading {key}");
        let put = std::thread::Builder::new()
            .name("webdav-put".into())
            .spawn(move || {
                let request = put_conn
                    .request(Method::PUT, &url)
                    .body(Body::sized(reader, size));
                let response = put_conn.send(request, &what)?;
                match response.status().as_u16() {
                    200 | 201 | 204 => Ok(()),
                    status => Err(status_error(status, &what)),
                }
            })
            .map_err(|e| PluginError::io("starting an upload thread", &e))?;
        Ok(DavUpload {
            conn,
            key: key.to_string(),
            staging,
            tx: Some(tx),
            put: Some(put),
        })
    }

    /// Ends the PUT and returns its outcome.
    fn finish_put(&mut self) -> PluginResult<()> {
        self.tx.take();
        match self.put.take() {
            Some(handle) => handle
                .join()
                .unwrap_or_else(|_| Err(PluginError::internal("the upload thread panicked"))),
            None => Ok(()),
        }
    }

    /// Deletes the staging file. A server may still be closing an aborted PUT when the DELETE
    /// arrives and create the file afterwards, so this checks it is gone and tries again.
    fn remove_staging(&self) {
        let url = self.conn.url(&self.staging);
        for attempt in 0..10u64 {
            let _ = self.conn.send(
                self.conn.request(Method::DELETE, &url),
                "removing a staging file",
            );
            let gone = self
                .conn
                .send(
                    self.conn.request(Method::HEAD, &url),
                    "checking a staging file",
                )
                .map(|r| r.status().as_u16() == 404)
                .unwrap_or(false);
            if gone {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50 * (attempt + 1)));
        }
    }
}

impl Upload for DavUpload {
    fn write(&mut self, data: &[u8]) -> PluginResult<()> {
        if data.is_empty() {
            return Ok(());
        }
        let sent = self
            .tx
            .as_ref()
            .map(|tx| tx.send(Ok(data.to_vec())).is_ok())
            .unwrap_or(false);
        if sent {
            return Ok(());
        }
        // The PUT ended: its error says why. Ending without one means it already sent every
        // announced byte, so these are more than announced.
        self.finish_put()?;
        Err(PluginError::new(
            ferry_plugin_sdk::ErrorKind::Integrity,
            format!("uploading {}: more bytes than announced", self.key),
        ))
    }

    fn commit(mut self: Box<Self>) -> PluginResult<()> {
        if let Err(e) = self.finish_put() {
            self.remove_staging();
            return Err(e);
        }
        let what = format!("moving {} into place", self.key);
        let request = self
            .conn
            .request(
                Method::from_bytes(b"MOVE").expect("valid method"),
                &self.conn.url(&self.staging),
            )
            .header("Destination", self.conn.url(&self.key))
            .header("Overwrite", "T");
        let response = self.conn.send(request, &what);
        match response.map(|r| r.status().as_u16()) {
            Ok(200 | 201 | 204) => Ok(()),
            Ok(status) => {
                self.remove_staging();
                Err(status_error(status, &what))
            }
            Err(e) => {
                self.remove_staging();
                Err(e)
            }
        }
    }

    fn abort(mut self: Box<Self>) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.try_send(Err(()));
        }
        let _ = self.finish_put();
        self.remove_staging();
    }
}

impl Drop for DavUpload {
    fn drop(&mut self) {
        if self.put.is_some() {
            if let Some(tx) = self.tx.take() {
                let _ = tx.try_send(Err(()));
            }
            let _ = self.finish_put();
            self.remove_staging();
        }
    }
}
