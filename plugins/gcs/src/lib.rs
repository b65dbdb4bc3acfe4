//! # ferry-plugin-gcs
//!
//! Google Cloud Storage as a Ferry source and sink, over GCS's JSON API (reqwest) with tokens
//! from `gcp_auth`. Why the JSON API and not object_store's GCS client: see
//! `docs/storage.md` — in short, it is the API every GCS endpoint (and the emulator the tests
//! run on) accepts for writes, it gives resumable uploads, rewrite-based server-side copies and
//! the CRC32C/MD5 checksums GCS keeps, and one code path serves production and tests.
//!
//! Modules: [`config`] (options → settings), [`auth`] (the documented credential chain),
//! [`api`] (JSON API requests), [`upload`] (single and resumable uploads), [`errors`] (GCS
//! answers → Ferry kinds), [`store`] (Source and Sink).

pub mod api;
pub mod auth;
pub mod config;
pub mod errors;
pub mod store;
pub mod upload;

use std::sync::Arc;

use ferry_core::registry::{boxed_sink, boxed_source};
use ferry_core::{Capabilities, Location, OptionKind, OptionSpec, PluginDescriptor, Sink, Source};

/// What GCS stores can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    list: true,
    read: true,
    range_read: true,
    write: true,
    delete: true,
    atomic_write: true,
    server_side_copy: true,
    reports_crc32c: true,
    reports_md5: true,
};

/// Namespace of this plugin's options (`--gcs-…`).
const NS: &str = "gcs";

/// Options of the GCS plugin (flags `--gcs-…`, `--src-gcs-…`, `--dst-gcs-…`).
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::new(
        NS,
        "endpoint",
        "GCS endpoint for emulators and private endpoints, e.g. http://127.0.0.1:4443",
        &["STORAGE_EMULATOR_HOST"],
        OptionKind::Value,
    ),
    OptionSpec::new(
        NS,
        "credentials",
        "Service-account key file (or user ADC file)",
        &["GOOGLE_APPLICATION_CREDENTIALS"],
        OptionKind::Value,
    ),
    OptionSpec::new(
        NS,
        "token",
        "OAuth access token (temporary credentials, e.g. `gcloud auth print-access-token`)",
        &["GOOGLE_OAUTH_ACCESS_TOKEN"],
        OptionKind::Secret,
    ),
    OptionSpec::new(
        NS,
        "metadata",
        "Use the metadata server of this GCE VM / GKE pod (detected on GCE; forced with this flag)",
        &[],
        OptionKind::Flag,
    ),
    OptionSpec::new(
        NS,
        "no_gcloud",
        "Do not fall back to the gcloud CLI",
        &[],
        OptionKind::Flag,
    ),
    OptionSpec::new(
        NS,
        "anonymous",
        "Send no credentials (public buckets, emulators)",
        &[],
        OptionKind::Flag,
    ),
    OptionSpec::new(
        NS,
        "request_timeout",
        "Seconds one request (one chunk of an upload) may take (default 300)",
        &[],
        OptionKind::Value,
    ),
];

fn open_source(
    location: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Source>>> {
    boxed_source(async move {
        let store = store::GcsStore::open(location).await?;
        store.check_bucket().await?;
        Ok(store)
    })
}

fn open_sink(
    location: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Sink>>> {
    boxed_sink(async move { store::GcsStore::open(location).await })
}

ferry_core::inventory::submit! {
    PluginDescriptor {
        name: "gcs",
        version: env!("CARGO_PKG_VERSION"),
        schemes: &["gs"],
        description: "Google Cloud Storage: gs://, https://storage.googleapis.com/, https://storage.cloud.google.com/",
        capabilities: CAPABILITIES,
        options: OPTIONS,
        open_source,
        open_sink,
    }
}

/// Referenced by the CLI's `builtins` module so that the linker keeps this registration.
pub fn link() {}
