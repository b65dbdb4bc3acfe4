//! `webdav://` and `webdavs://` — an example vendor plugin built with `ferry-plugin-sdk`: the
//! kind of storage gateway enterprises put in front of their storage, reached over WebDAV.
//!
//! - Location: `webdav://host[:port]/path/` (http) or `webdavs://…` (https).
//! - Credentials from the environment, never from the URL: `FERRY_WEBDAV_USER` and
//!   `FERRY_WEBDAV_PASSWORD` (basic), or `FERRY_WEBDAV_TOKEN` (bearer).
//!   `FERRY_WEBDAV_CA_CERT` names a PEM file of extra trusted roots for `webdavs://`.
//! - Writes go to a hidden staging file in the target folder and are moved into place on
//!   commit, so an aborted write leaves nothing under its key.

mod client;
mod connection;
mod http;
mod propfind;
mod upload;

use ferry_plugin_sdk::abi;
use ferry_plugin_sdk::{export_plugin, OpenConfig, Plugin, PluginResult, Store};

/// The plugin.
pub struct WebDav;

impl Plugin for WebDav {
    const NAME: &'static str = "webdav";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const DESCRIPTION: &'static str =
        "WebDAV gateways: webdav://host:port/path/ (http), webdavs:// (https); auth from FERRY_WEBDAV_*";
    const SCHEMES: &'static [&'static str] = &["webdav", "webdavs"];
    const CAPABILITIES: u64 = abi::FERRY_CAP_LIST
        | abi::FERRY_CAP_READ
        | abi::FERRY_CAP_RANGE_READ
        | abi::FERRY_CAP_WRITE
        | abi::FERRY_CAP_DELETE
        | abi::FERRY_CAP_ATOMIC_WRITE;

    fn open(config: &OpenConfig) -> PluginResult<Box<dyn Store>> {
        Ok(Box::new(client::DavStore::open(config)?))
    }
}

export_plugin!(WebDav);
