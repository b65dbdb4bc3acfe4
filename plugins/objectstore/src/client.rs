//! HTTP client options every object_store-based plugin sets the same way.

use std::time::Duration;

use ferry_core::{Error, Result};
use object_store::ClientOptions;

/// Client options: a request timeout that fits large parts, a short connect timeout, plain http
/// when allowed, and the extra root certificates of `ca_cert` (a PEM bundle), if any.
pub fn client_options(
    request_timeout: Duration,
    allow_http: bool,
    ca_cert: Option<&str>,
) -> Result<ClientOptions> {
    let mut options = ClientOptions::new()
        .with_timeout(request_timeout)
        .with_connect_timeout(Duration::from_secs(10))
        .with_allow_http(allow_http);
    if let Some(path) = ca_cert {
        for cert in read_ca_bundle(path, object_store::Certificate::from_pem_bundle)? {
            options = options.with_root_certificate(cert);
        }
    }
    Ok(options)
}

/// Reads the PEM bundle at `path` (`--…-ca-cert`) and parses it with the HTTP client's own
/// certificate type, naming the file in every error.
pub fn read_ca_bundle<C, E: std::fmt::Display>(
    path: &str,
    parse: impl FnOnce(&[u8]) -> std::result::Result<Vec<C>, E>,
) -> Result<Vec<C>> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::from_io(e, format!("reading the CA certificate {path}")))?;
    parse(&pem)
        .map_err(|e| Error::invalid_input(format!("{path} is not a PEM certificate bundle: {e}")))
}
