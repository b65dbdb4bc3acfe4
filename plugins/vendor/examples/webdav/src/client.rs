//! The store: a base URL, an HTTP client and the credentials, with the five operations.

use std::collections::HashSet;
use std::io::{BufReader, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferry_plugin_sdk::{ObjectInfo, OpenConfig, PluginError, PluginResult, Store, Upload};
use reqwest::blocking::Client;
use reqwest::Method;

use crate::connection::{Connection, STAGING_PREFIX};
use crate::http::{encode_path, status_error, transport_error, Auth};
use crate::propfind;
use crate::upload::DavUpload;

/// A WebDAV folder as a Ferry store.
pub struct DavStore {
    conn: Arc<Connection>,
}

impl DavStore {
    /// Opens `webdav[s]://authority/path/`, checking that the server answers and accepts the
    /// credentials (a missing folder is fine: writes create it).
    pub fn open(config: &OpenConfig) -> PluginResult<DavStore> {
        let http = match config.scheme() {
            "webdav" => "http",
            "webdavs" => "https",
            other => {
                return Err(PluginError::invalid_input(format!(
                    "unknown scheme {other}"
                )))
            }
        };
        let authority = config
            .get("endpoint")
            .or_else(|| config.get("host"))
            .ok_or_else(|| {
                PluginError::invalid_input(
                    "the location names no server: use webdav://host:port/path/",
                )
            })?;
        let mut builder = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(None::<Duration>)
            .pool_max_idle_per_host(64);
        if let Ok(path) = std::env::var("FERRY_WEBDAV_CA_CERT") {
            let pem = std::fs::read(&path).map_err(|e| {
                PluginError::io(&format!("reading FERRY_WEBDAV_CA_CERT ({path})"), &e)
            })?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                PluginError::invalid_input(format!(
                    "FERRY_WEBDAV_CA_CERT ({path}) holds no PEM certificate: {e}"
                ))
            })?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder
            .build()
            .map_err(|e| transport_error(&e, "starting the HTTP client"))?;
        let conn = Connection {
            client,
            auth: Auth::from_env()?,
            origin: format!("{http}://{authority}"),
            base_path: format!("/{}", encode_path(config.path())),
            known_folders: Mutex::new(HashSet::new()),
        };
        let store = DavStore {
            conn: Arc::new(conn),
        };
        // Any answer but an auth or transport failure means the gateway is usable.
        store.conn.propfind("", "0")?;
        Ok(store)
    }
}

impl Store for DavStore {
    fn stat(&self, key: &str) -> PluginResult<Option<ObjectInfo>> {
        let Some(response) = self.conn.propfind(key, "0")? else {
            return Ok(None);
        };
        let mut found = None;
        propfind::parse(BufReader::new(response), &mut |entry| {
            if !entry.is_collection {
                found = Some(ObjectInfo {
                    key: key.to_string(),
                    size: entry.size,
                    ..Default::default()
                });
            }
            false
        })?;
        Ok(found)
    }

    fn list(&self, prefix: &str, each: &mut dyn FnMut(ObjectInfo) -> bool) -> PluginResult<()> {
        let mut folders = vec![prefix.to_string()];
        while let Some(folder) = folders.pop() {
            let Some(response) = self.conn.propfind(&folder, "1")? else {
                continue;
            };
            let mut go_on = true;
            propfind::parse(BufReader::new(response), &mut |entry| {
                let Some(key) = self.conn.relative_key(&entry) else {
                    return true;
                };
                if key.trim_end_matches('/') == folder.trim_end_matches('/') {
                    return true; // the folder itself
                }
                if entry.is_collection {
                    folders.push(format!("{}/", key.trim_end_matches('/')));
                    return true;
                }
                let name = key.rsplit('/').next().unwrap_or_default();
                if name.starts_with(STAGING_PREFIX) {
                    return true;
                }
                go_on = each(ObjectInfo {
                    key,
                    size: entry.size,
                    ..Default::default()
                });
                go_on
            })?;
            if !go_on {
                return Ok(());
            }
        }
        Ok(())
    }

    fn read(
        &self,
        key: &str,
        offset: u64,
        length: Option<u64>,
    ) -> PluginResult<Box<dyn Read + Send>> {
        if length == Some(0) {
            return Ok(Box::new(std::io::empty()));
        }
        let mut request = self.conn.request(Method::GET, &self.conn.url(key));
        let ranged = offset > 0 || length.is_some();
        if ranged {
            let range = match length {
                Some(n) => format!("bytes={offset}-{}", offset + n - 1),
                None => format!("bytes={offset}-"),
            };
            request = request.header("Range", range);
        }
        let what = format!("reading {key}");
        let response = self.conn.send(request, &what)?;
        let status = response.status().as_u16();
        let mut body: Box<dyn Read + Send> = Box::new(response);
        match status {
            206 => {}
            200 if ranged => {
                // The server ignored the range: skip to it and stop after it.
                std::io::copy(&mut (&mut body).take(offset), &mut std::io::sink())
                    .map_err(|e| PluginError::io(&what, &e))?;
            }
            200 => {}
            other => return Err(status_error(other, &what)),
        }
        Ok(match length {
            Some(n) => Box::new(body.take(n)),
            None => body,
        })
    }

    fn write(&self, key: &str, size: u64) -> PluginResult<Box<dyn Upload>> {
        let folder = match key.rfind('/') {
            Some(i) => &key[..=i],
            None => "",
        };
        self.conn.ensure_folders(folder)?;
        Ok(Box::new(DavUpload::start(
            self.conn.clone(),
            key,
            folder,
            size,
        )?))
    }

    fn delete(&self, key: &str) -> PluginResult<()> {
        let what = format!("deleting {key}");
        let response = self.conn.send(
            self.conn.request(Method::DELETE, &self.conn.url(key)),
            &what,
        )?;
        match response.status().as_u16() {
            200 | 202 | 204 | 404 => Ok(()),
            status => Err(status_error(status, &what)),
        }
    }
}
