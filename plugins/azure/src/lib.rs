//! # ferry-plugin-azure
//!
//! Azure Blob Storage as a Ferry source and sink, on `object_store`'s Azure client with
//! credentials from account keys, SAS tokens, bearer tokens, or `azure_identity` (service
//! principal, workload identity, managed identity, Azure CLI).
//!
//! Modules: [`config`] (typed options → settings), [`credentials`] (the documented chain and a
//! token cache refreshed before expiry), [`sas`] (SAS parsing and service-SAS signing for
//! authorised server-side copies), [`errors`] (Azure answers → Ferry kinds), [`client`] (the
//! configured client). Listing, reading, uploads (block blobs) and copies are
//! `ferry-objectstore`'s.

pub mod client;
pub mod config;
pub mod credentials;
pub mod errors;
pub mod sas;

use std::sync::Arc;

use ferry_core::registry::{boxed_sink, boxed_source};
use ferry_core::{Capabilities, Location, OptionSpec, PluginDescriptor, Sink, Source};

/// What Azure stores can do.
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

/// Namespace of this plugin's options (`--azure-…`).
const NS: &str = "azure";

/// Options of the Azure plugin (flags `--azure-…`, `--src-azure-…`, `--dst-azure-…`).
pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec::value(NS,
        "account",
        "Storage account, for az:// locations that name none",
        &["AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_ACCOUNT_NAME"],
    ),
    OptionSpec::value(NS,
        "endpoint",
        "Blob service URL for Azurite and sovereign clouds, e.g. http://127.0.0.1:10000/devstoreaccount1",
        &["AZURE_STORAGE_ENDPOINT"],
    ),
    OptionSpec::secret(NS,
        "account_key",
        "Storage account key",
        &["AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY"],
    ),
    OptionSpec::secret(NS,
        "sas",
        "SAS token (the query string of a SAS URL)",
        &["AZURE_STORAGE_SAS_TOKEN"],
    ),
    OptionSpec::secret(NS,
        "bearer_token",
        "OAuth access token for https://storage.azure.com (e.g. from `az account get-access-token`)",
        &["AZURE_STORAGE_TOKEN"],
    ),
    OptionSpec::value(NS, "tenant_id", "Entra tenant of the service principal / workload identity", &["AZURE_TENANT_ID"]),
    OptionSpec::value(NS, "client_id", "Client id of the service principal / workload or managed identity", &["AZURE_CLIENT_ID"]),
    OptionSpec::secret(NS, "client_secret", "Client secret of the service principal", &["AZURE_CLIENT_SECRET"]),
    OptionSpec::value(NS,
        "federated_token_file",
        "Workload identity token file",
        &["AZURE_FEDERATED_TOKEN_FILE"],
    ),
    OptionSpec::switch(NS,
        "managed_identity",
        "Use the managed identity of this VM / container (never probed unless asked for)",
    ),
    OptionSpec::switch(NS, "no_cli", "Do not fall back to the Azure CLI (`az`)"),
    OptionSpec::switch(NS, "allow_http", "Allow plain-http endpoints (implied by an http:// endpoint)"),
    OptionSpec::value(NS, "ca_cert", "PEM file of an extra root certificate for https endpoints", &[]),
    OptionSpec::value(NS,
        "request_timeout",
        "Seconds one request (one block of an upload) may take (default 300)",
        &[],
    ),
];

fn open_source(
    location: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Source>>> {
    boxed_source(async move {
        let store = client::open(location).await?;
        store.check_container().await?;
        Ok(store)
    })
}

fn open_sink(
    location: Location,
) -> futures::future::BoxFuture<'static, ferry_core::Result<Arc<dyn Sink>>> {
    boxed_sink(async move { client::open(location).await })
}

ferry_core::inventory::submit! {
    PluginDescriptor {
        name: "azure",
        version: env!("CARGO_PKG_VERSION"),
        schemes: &["az"],
        description: "Azure Blob Storage: https://<account>.blob.core.windows.net/<container>/, az://, azure://, abfs[s]://",
        capabilities: CAPABILITIES,
        options: OPTIONS,
        open_source,
        open_sink,
    }
}

/// Referenced by the CLI's `builtins` module so that the linker keeps this registration.
pub fn link() {}
