//! # ferry-plugin-s3
//!
//! Amazon S3 and S3-compatible gateways (MinIO, Ceph, …) as Ferry sources and sinks, on
//! `object_store`'s S3 client with credentials from `aws-config`'s providers. One
//! implementation, two plugins:
//! - `s3` (`s3://`, `s3a://`, the `https://…amazonaws.com` forms): AWS defaults
//!   (virtual-hosted addressing, https), or any endpoint with `--s3-endpoint`;
//! - `minio` (`minio://host:port/bucket/`, `minios://…`): path-style addressing, http unless
//!   `minios://`.
//!
//! Modules: [`config`] (typed options → settings), [`credentials`] (static keys, session
//! tokens, profiles, AssumeRole, web identity, the default chain, with refresh before expiry),
//! [`errors`] (S3 answers → Ferry error kinds), [`client`] (the configured client), [`resolve`]
//! (pinned host names). Listing, reading, uploads and copies are `ferry-objectstore`'s.

pub mod client;
pub mod config;
pub mod copy;
pub mod credentials;
pub mod errors;
pub mod resolve;

use std::sync::Arc;

use ferry_core::registry::{boxed_sink, boxed_source};
use ferry_core::{Capabilities, Location, OptionSpec, PluginDescriptor, Sink, Source};

pub use config::{Flavor, S3Settings};

/// What S3 stores can do.
pub const CAPABILITIES: Capabilities = Capabilities {
    list: true,
    read: true,
    range_read: true,
    write: true,
    delete: true,
    atomic_write: true,
    server_side_copy: true,
    ..Capabilities::NONE
};

/// Namespace of this plugin's options (`--s3-…`).
const NS: &str = "s3";

/// Options of the S3 and MinIO plugins (flags `--s3-…`, `--src-s3-…`, `--dst-s3-…`).
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::value(
        NS,
        "endpoint",
        "S3 endpoint URL for S3-compatible servers, e.g. http://127.0.0.1:9000",
        &["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"],
    ),
    OptionSpec::value(
        NS,
        "region",
        "Region of the bucket",
        &["AWS_REGION", "AWS_DEFAULT_REGION"],
    ),
    OptionSpec::secret(NS, "access_key_id", "Access key id", &["AWS_ACCESS_KEY_ID"]),
    OptionSpec::secret(
        NS,
        "secret_access_key",
        "Secret access key",
        &["AWS_SECRET_ACCESS_KEY"],
    ),
    OptionSpec::secret(
        NS,
        "session_token",
        "Session token of temporary credentials",
        &["AWS_SESSION_TOKEN"],
    ),
    OptionSpec::value(
        NS,
        "profile",
        "Profile of ~/.aws/config and ~/.aws/credentials",
        &["AWS_PROFILE"],
    ),
    OptionSpec::value(
        NS,
        "role_arn",
        "Role to assume (STS AssumeRole, or web identity with --s3-web-identity-token-file)",
        &["AWS_ROLE_ARN"],
    ),
    OptionSpec::value(NS, "external_id", "External id for AssumeRole", &[]),
    OptionSpec::value(
        NS,
        "session_name",
        "Session name for AssumeRole",
        &["AWS_ROLE_SESSION_NAME"],
    ),
    OptionSpec::value(
        NS,
        "session_duration",
        "Lifetime of assumed-role credentials in seconds (refreshed before they expire)",
        &[],
    ),
    OptionSpec::value(
        NS,
        "web_identity_token_file",
        "Web identity token file (with --s3-role-arn)",
        &["AWS_WEB_IDENTITY_TOKEN_FILE"],
    ),
    OptionSpec::value(
        NS,
        "sts_endpoint",
        "STS endpoint URL",
        &["AWS_ENDPOINT_URL_STS"],
    ),
    OptionSpec::switch(
        NS,
        "path_style",
        "Address buckets as https://host/bucket/ (default for custom endpoints and minio://)",
    ),
    OptionSpec::switch(
        NS,
        "virtual_hosted",
        "Address buckets as https://bucket.host/ (default for AWS)",
    ),
    OptionSpec::switch(NS, "allow_http", "Allow plain-http endpoints"),
    OptionSpec::value(
        NS,
        "ca_cert",
        "PEM file of an extra root certificate for https endpoints",
        &["AWS_CA_BUNDLE"],
    ),
    OptionSpec::value(
        NS,
        "checksum",
        "Checksum sent with uploads: none (default; works with every gateway), sha256 or crc64nvme",
        &[],
    ),
    OptionSpec::switch(NS, "anonymous", "Send unsigned requests (public buckets)"),
    OptionSpec::switch(
        NS,
        "imds",
        "Ask the EC2 instance metadata service for credentials and the region (automatic on EC2 instances; off elsewhere, so a laptop never waits for 169.254.169.254)",
    ),
    OptionSpec::value(
        NS,
        "resolve",
        "Pin host names to addresses, HOST=IP[,HOST=IP] (like curl --resolve)",
        &[],
    ),
    OptionSpec::value(
        NS,
        "request_timeout",
        "Seconds one request (one part of an upload) may take (default 300)",
        &[],
    ),
];

fn open_source_with(
    flavor: Flavor,
    location: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Source>>> {
    boxed_source(async move {
        let store = client::open(location, flavor).await?;
        store.check_container().await?;
        Ok(store)
    })
}

fn open_sink_with(
    flavor: Flavor,
    location: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Sink>>> {
    boxed_sink(client::open(location, flavor))
}

fn open_s3_source(
    l: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Source>>> {
    open_source_with(Flavor::S3, l)
}
fn open_s3_sink(
    l: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Sink>>> {
    open_sink_with(Flavor::S3, l)
}
fn open_minio_source(
    l: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Source>>> {
    open_source_with(Flavor::Minio, l)
}
fn open_minio_sink(
    l: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Sink>>> {
    open_sink_with(Flavor::Minio, l)
}

ferry_core::inventory::submit! {
    PluginDescriptor {
        name: "s3",
        version: env!("CARGO_PKG_VERSION"),
        schemes: &["s3"],
        description: "Amazon S3 (s3://, s3a://, https://…amazonaws.com) and S3-compatible endpoints with --s3-endpoint",
        capabilities: CAPABILITIES,
        options: OPTIONS,
        open_source: open_s3_source,
        open_sink: open_s3_sink,
    }
}

ferry_core::inventory::submit! {
    PluginDescriptor {
        name: "minio",
        version: env!("CARGO_PKG_VERSION"),
        schemes: &["minio"],
        description: "MinIO and S3-compatible gateways: minio://host:port/bucket/ (http), minios:// (https)",
        capabilities: CAPABILITIES,
        options: OPTIONS,
        open_source: open_minio_source,
        open_sink: open_minio_sink,
    }
}

/// Referenced by the CLI's `builtins` module so that the linker keeps these registrations.
pub fn link() {}
