//! Server-side copies between two buckets of one endpoint (CopyObject with a source in another
//! bucket). object_store copies only inside its own bucket, so this request is built and
//! signed (SigV4, aws-sigv4) here; copies inside one bucket still go through object_store.

use std::time::SystemTime;

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
};
use ferry_core::{Error, ErrorKind, Location, Result};
use ferry_objectstore::ContainerCopy;
use object_store::aws::AwsCredentialProvider;
use object_store::path::Path;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::config::S3Settings;

/// S3's URI encoding of a key: everything but unreserved characters, `/` kept.
const KEY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Copies objects from other buckets of the same endpoint into one bucket.
pub struct CrossBucketCopy {
    client: reqwest::Client,
    provider: Option<AwsCredentialProvider>,
    region: String,
    /// `scheme://host[:port]` of the endpoint (AWS: the regional endpoint).
    endpoint: String,
    path_style: bool,
    bucket: String,
    location: Location,
}

impl std::fmt::Debug for CrossBucketCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrossBucketCopy")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl CrossBucketCopy {
    /// A copier into `settings.bucket`, signing with `provider`.
    pub fn new(
        settings: &S3Settings,
        region: &str,
        provider: Option<AwsCredentialProvider>,
        location: &Location,
    ) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(settings.request_timeout);
        if let Some(path) = &settings.ca_cert {
            let certs = ferry_objectstore::client::read_ca_bundle(
                path,
                reqwest::Certificate::from_pem_bundle,
            )?;
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        for (host, ip) in settings.resolve.entries() {
            builder = builder.resolve(host, std::net::SocketAddr::new(ip, 0));
        }
        let client = builder
            .build()
            .map_err(|e| Error::internal(format!("starting the HTTP client for copies: {e}")))?;
        let endpoint = settings
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        Ok(CrossBucketCopy {
            client,
            provider,
            region: region.to_string(),
            endpoint,
            path_style: settings.path_style,
            bucket: settings.bucket.clone(),
            location: location.clone(),
        })
    }

    fn url(&self, key: &str) -> Result<String> {
        let key = utf8_percent_encode(key, KEY);
        if self.path_style {
            return Ok(format!("{}/{}/{key}", self.endpoint, self.bucket));
        }
        let (scheme, host) = self.endpoint.split_once("://").ok_or_else(|| {
            Error::invalid_input(format!("S3 endpoint {:?} has no scheme", self.endpoint))
        })?;
        Ok(format!("{scheme}://{}.{host}/{key}", self.bucket))
    }

    fn failure(&self, status: u16, body: &str, key: &str) -> Error {
        let code = body
            .split("<Code>")
            .nth(1)
            .and_then(|r| r.split("</Code>").next())
            .unwrap_or("")
            .to_string();
        let kind = match (status, code.as_str()) {
            (_, "NoSuchKey" | "NoSuchBucket") | (404, _) => ErrorKind::NotFound,
            (_, "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch")
            | (401 | 403, _) => ErrorKind::PermissionDenied,
            (_, "SlowDown" | "InternalError" | "ServiceUnavailable") | (429 | 500..=599, _) => {
                ErrorKind::Transient
            }
            _ => ErrorKind::Internal,
        };
        Error::new(
            kind,
            format!(
                "S3 refused the server-side copy (HTTP {status}{}{code})",
                if code.is_empty() { "" } else { ", " }
            ),
        )
        .with_key(key)
        .with_location(&self.location)
    }
}

#[async_trait]
impl ContainerCopy for CrossBucketCopy {
    async fn copy(&self, from_bucket: &str, from: &Path, to: &Path) -> Result<()> {
        let url = self.url(to.as_ref())?;
        let copy_source = format!("{from_bucket}/{}", utf8_percent_encode(from.as_ref(), KEY));
        let uri: url::Url = url
            .parse()
            .map_err(|e| Error::invalid_input(format!("copy URL {url:?}: {e}")))?;
        let host = match uri.port() {
            Some(p) => format!("{}:{p}", uri.host_str().unwrap_or_default()),
            None => uri.host_str().unwrap_or_default().to_string(),
        };
        let mut headers: Vec<(String, String)> = vec![
            ("host".into(), host),
            ("x-amz-copy-source".into(), copy_source),
        ];
        if let Some(provider) = &self.provider {
            let credential = provider.get_credential().await.map_err(|e| {
                Error::new(
                    ErrorKind::PermissionDenied,
                    format!("no S3 credentials for the copy: {e}"),
                )
            })?;
            let credentials = Credentials::new(
                credential.key_id.clone(),
                credential.secret_key.clone(),
                credential.token.clone(),
                None,
                "ferry",
            );
            let identity = credentials.into();
            let mut settings = SigningSettings::default();
            settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
            let params = aws_sigv4::sign::v4::SigningParams::builder()
                .identity(&identity)
                .region(&self.region)
                .name("s3")
                .time(SystemTime::now())
                .settings(settings)
                .build()
                .map_err(|e| Error::internal(format!("signing the copy: {e}")))?
                .into();
            let signable = SignableRequest::new(
                "PUT",
                url.as_str(),
                headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                SignableBody::Bytes(&[]),
            )
            .map_err(|e| Error::internal(format!("signing the copy: {e}")))?;
            let (instructions, _signature) = sign(signable, &params)
                .map_err(|e| Error::internal(format!("signing the copy: {e}")))?
                .into_parts();
            for (name, value) in instructions.headers() {
                headers.push((name.to_string(), value.to_string()));
            }
        }
        let mut request = self.client.put(&url).body(Vec::<u8>::new());
        for (name, value) in headers.iter().filter(|(k, _)| k != "host") {
            request = request.header(name.as_str(), value.as_str());
        }
        let key = to.as_ref();
        let response = request.send().await.map_err(|e| {
            Error::new(
                ErrorKind::Transient,
                format!("the server-side copy request failed: {e}"),
            )
            .with_key(key)
            .with_location(&self.location)
        })?;
        let status = response.status().as_u16();
        // CopyObject can answer 200 with an error document: read the (small) body.
        let body = response.text().await.unwrap_or_default();
        if (200..300).contains(&status) && !body.contains("<Error>") {
            Ok(())
        } else {
            Err(self.failure(status, &body, key))
        }
    }
}
