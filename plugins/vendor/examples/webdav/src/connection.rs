//! The connection every operation shares: the server's origin and base path, the HTTP client,
//! the credentials, and the folders known to exist. The store (`client`) and its uploads
//! (`upload`) both use it; neither depends on the other's internals.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use ferry_plugin_sdk::PluginResult;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::Method;

use crate::http::{encode_path, status_error, transport_error, Auth};
use crate::propfind::{self, Entry};

/// Names of staging files (hidden from listings).
pub const STAGING_PREFIX: &str = ".ferry-partial-";

/// Shared by the store and its uploads.
pub struct Connection {
    /// The HTTP client (one connection pool for every operation).
    pub client: Client,
    /// The credentials sent with each request.
    pub auth: Auth,
    /// `scheme://authority` of the server.
    pub origin: String,
    /// The base path on the server, encoded, starting and ending with `/`.
    pub base_path: String,
    /// Folders known to exist (encoded paths from the base).
    pub known_folders: Mutex<HashSet<String>>,
}

impl Connection {
    /// The absolute URL of a relative key or folder.
    pub fn url(&self, relative: &str) -> String {
        format!("{}{}{}", self.origin, self.base_path, encode_path(relative))
    }

    /// A request with credentials.
    pub fn request(&self, method: Method, url: &str) -> RequestBuilder {
        self.auth.apply(self.client.request(method, url))
    }

    /// Sends, mapping transport failures.
    pub fn send(&self, request: RequestBuilder, what: &str) -> PluginResult<Response> {
        request.send().map_err(|e| transport_error(&e, what))
    }

    /// Creates every folder from the server root to `folder` (relative, ending with `/`).
    pub fn ensure_folders(&self, folder: &str) -> PluginResult<()> {
        let mut path = String::from("/");
        let full = format!("{}{}", self.base_path, encode_path(folder));
        for segment in full.split('/').filter(|s| !s.is_empty()) {
            path.push_str(segment);
            path.push('/');
            if self.known_folders.lock().expect("lock").contains(&path) {
                continue;
            }
            self.make_folder(&path)?;
            self.known_folders
                .lock()
                .expect("lock")
                .insert(path.clone());
        }
        Ok(())
    }

    /// MKCOL on `path` (absolute, encoded). Concurrent writers race to create the same folder:
    /// a gateway may answer 423 (locked) or 409 to the losers, so those re-check and retry.
    fn make_folder(&self, path: &str) -> PluginResult<()> {
        let url = format!("{}{}", self.origin, path);
        let what = format!("creating the folder {path}");
        let mut attempt = 0u64;
        loop {
            let response = self.send(
                self.request(Method::from_bytes(b"MKCOL").expect("valid method"), &url),
                &what,
            )?;
            let status = response.status().as_u16();
            // 201 created; 405 (or 301 to the slash form) means it already exists.
            if matches!(status, 200 | 201 | 204 | 301 | 405) {
                return Ok(());
            }
            attempt += 1;
            let retry = matches!(status, 409 | 423 | 429 | 500 | 502 | 503 | 504);
            if !retry || attempt >= 8 {
                return Err(status_error(status, &what));
            }
            std::thread::sleep(Duration::from_millis(25 * attempt));
        }
    }

    pub fn propfind(&self, relative: &str, depth: &str) -> PluginResult<Option<Response>> {
        let url = self.url(relative);
        let what = format!(
            "listing {}",
            if relative.is_empty() { "/" } else { relative }
        );
        let request = self
            .request(Method::from_bytes(b"PROPFIND").expect("valid method"), &url)
            .header("Depth", depth)
            .header("Content-Type", "application/xml; charset=utf-8")
            .body(propfind::BODY);
        let response = self.send(request, &what)?;
        match response.status().as_u16() {
            207 => Ok(Some(response)),
            404 => Ok(None),
            status => Err(status_error(status, &what)),
        }
    }

    /// The key of an entry, relative to the base, or `None` when it lies outside it.
    pub fn relative_key(&self, entry: &Entry) -> Option<String> {
        let base = percent_encoding::percent_decode_str(&self.base_path)
            .decode_utf8_lossy()
            .into_owned();
        entry.path.strip_prefix(&base).map(str::to_string)
    }
}
