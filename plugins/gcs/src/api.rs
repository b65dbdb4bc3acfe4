//! GCS JSON API requests: bucket check, listing (with the checksums GCS keeps), metadata,
//! ranged downloads, deletes and rewrite-based copies. Uploads are in [`crate::upload`].

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use ferry_core::{
    ByteRange, ByteStream, Checksums, Error, Location, ObjectKey, ObjectMeta, Result,
};
use futures::StreamExt;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;

use crate::auth::Credentials;
use crate::errors::{from_response, from_transport};

/// Characters kept as they are in path segments and query values.
const KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes an object name (its `/` too) for a URL.
pub fn encode(name: &str) -> String {
    utf8_percent_encode(name, KEEP).to_string()
}

/// An object resource, the fields Ferry reads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectResource {
    /// Full object name.
    pub name: String,
    /// Size in bytes (a decimal string in JSON).
    pub size: String,
    /// Base64 of the big-endian CRC32C.
    pub crc32c: Option<String>,
    /// Base64 of the MD5 (absent for composite objects).
    pub md5_hash: Option<String>,
    /// Entity tag.
    pub etag: Option<String>,
}

impl ObjectResource {
    /// Size as a number.
    pub fn size(&self) -> Result<u64> {
        self.size.parse().map_err(|_| {
            Error::internal(format!(
                "GCS reported size {:?} for {}",
                self.size, self.name
            ))
        })
    }

    /// The checksums GCS keeps.
    pub fn checksums(&self) -> Checksums {
        let b64 = |s: &Option<String>| {
            s.as_deref()
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
        };
        Checksums {
            crc32c: b64(&self.crc32c)
                .and_then(|b| <[u8; 4]>::try_from(b.as_slice()).ok())
                .map(u32::from_be_bytes),
            md5: b64(&self.md5_hash).and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ListPage {
    items: Vec<ObjectResource>,
    prefixes: Vec<String>,
    next_page_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RewriteAnswer {
    done: bool,
    rewrite_token: Option<String>,
}

/// One page of a listing: objects and (with a delimiter) common prefixes.
#[derive(Debug, Default)]
pub struct Page {
    /// Objects.
    pub objects: Vec<ObjectResource>,
    /// Common prefixes (full names ending with `/`).
    pub prefixes: Vec<String>,
    /// Token of the next page.
    pub next: Option<String>,
}

/// A client bound to one bucket.
#[derive(Debug, Clone)]
pub struct GcsApi {
    http: reqwest::Client,
    /// Endpoint (scheme://host[:port]).
    pub endpoint: String,
    /// Bucket.
    pub bucket: String,
    credentials: Credentials,
    /// Location for messages.
    pub location: Location,
}

impl GcsApi {
    /// A client for `bucket` at `endpoint`.
    pub fn new(
        endpoint: String,
        bucket: String,
        credentials: Credentials,
        location: Location,
        timeout: Duration,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))?;
        Ok(GcsApi {
            http,
            endpoint,
            bucket,
            credentials,
            location,
        })
    }

    /// URL of an object's metadata.
    pub fn object_url(&self, bucket: &str, name: &str) -> String {
        format!(
            "{}/storage/v1/b/{}/o/{}",
            self.endpoint,
            encode(bucket),
            encode(name)
        )
    }

    /// A request with the authorisation header.
    pub async fn request(&self, method: Method, url: &str) -> Result<RequestBuilder> {
        let mut builder = self.http.request(method, url);
        if let Some(h) = self
            .credentials
            .header()
            .await
            .map_err(|e| e.with_location(&self.location))?
        {
            builder = builder.header(reqwest::header::AUTHORIZATION, h);
        }
        Ok(builder)
    }

    /// Sends a request; a non-success status becomes an error. `accept` lists extra statuses that
    /// are not errors (e.g. 308 of resumable uploads).
    pub async fn send(
        &self,
        builder: RequestBuilder,
        key: Option<&str>,
        accept: &[u16],
    ) -> Result<Response> {
        let response = builder
            .send()
            .await
            .map_err(|e| from_transport(e, &self.location, key))?;
        let status = response.status();
        if status.is_success() || accept.contains(&status.as_u16()) {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(from_response(status.as_u16(), &body, &self.location, key))
    }

    /// Whether the bucket exists and is readable.
    pub async fn check_bucket(&self) -> Result<()> {
        let url = format!(
            "{}/storage/v1/b/{}/o?maxResults=1",
            self.endpoint,
            encode(&self.bucket)
        );
        let req = self.request(Method::GET, &url).await?;
        self.send(req, None, &[]).await.map(|_| ())
    }

    /// One page of the listing of `prefix` (full name prefix), with `/` as delimiter or not.
    pub async fn list_page(
        &self,
        prefix: &str,
        delimiter: bool,
        token: Option<&str>,
    ) -> Result<Page> {
        let mut url = format!(
            "{}/storage/v1/b/{}/o?prefix={}&maxResults=1000&fields=items(name,size,crc32c,md5Hash,etag),prefixes,nextPageToken",
            self.endpoint,
            encode(&self.bucket),
            encode(prefix)
        );
        if delimiter {
            url.push_str("&delimiter=%2F");
        }
        if let Some(t) = token {
            url.push_str(&format!("&pageToken={}", encode(t)));
        }
        let req = self.request(Method::GET, &url).await?;
        let page: ListPage = self
            .send(req, None, &[])
            .await?
            .json()
            .await
            .map_err(|e| Error::internal(format!("GCS listing is not JSON: {e}")))?;
        Ok(Page {
            objects: page.items,
            prefixes: page.prefixes,
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// Metadata of one object, or `None`.
    pub async fn get_object(&self, name: &str) -> Result<Option<ObjectResource>> {
        let req = self
            .request(Method::GET, &self.object_url(&self.bucket, name))
            .await?;
        match self.send(req, Some(name), &[]).await {
            Ok(r) => r
                .json()
                .await
                .map(Some)
                .map_err(|e| Error::internal(format!("GCS object metadata is not JSON: {e}"))),
            Err(e) if e.kind() == ferry_core::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The bytes of an object (or a range of them), streamed.
    pub async fn download(&self, name: &str, range: Option<ByteRange>) -> Result<ByteStream> {
        let url = format!("{}?alt=media", self.object_url(&self.bucket, name));
        let mut req = self.request(Method::GET, &url).await?;
        if let Some(r) = &range {
            req = req.header(
                reqwest::header::RANGE,
                format!("bytes={}-{}", r.start, r.end - 1),
            );
        }
        let response = self.send(req, Some(name), &[]).await?;
        if range.is_some() && response.status() != StatusCode::PARTIAL_CONTENT {
            return Err(Error::unsupported(
                "the GCS endpoint ignored a ranged read (answered 200, not 206)",
            ));
        }
        let location = self.location.clone();
        let key = name.to_string();
        Ok(response
            .bytes_stream()
            .map(move |c: reqwest::Result<Bytes>| {
                c.map_err(|e| from_transport(e, &location, Some(&key)))
            })
            .boxed())
    }

    /// Deletes an object (gone already is fine).
    pub async fn delete(&self, name: &str) -> Result<()> {
        let req = self
            .request(Method::DELETE, &self.object_url(&self.bucket, name))
            .await?;
        match self.send(req, Some(name), &[]).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ferry_core::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Copies `source_bucket/source_name` to `name` in this bucket inside GCS (rewrite, repeated
    /// until done).
    pub async fn rewrite(&self, source_bucket: &str, source_name: &str, name: &str) -> Result<()> {
        let base = format!(
            "{}/rewriteTo/b/{}/o/{}",
            self.object_url(source_bucket, source_name),
            encode(&self.bucket),
            encode(name)
        );
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let url = match &token {
                Some(t) => format!("{base}?rewriteToken={}", encode(t)),
                None => base.clone(),
            };
            let req = self
                .request(Method::POST, &url)
                .await?
                .header(reqwest::header::CONTENT_LENGTH, 0);
            let answer: RewriteAnswer = self
                .send(req, Some(name), &[])
                .await?
                .json()
                .await
                .map_err(|e| Error::internal(format!("GCS rewrite answer is not JSON: {e}")))?;
            if answer.done {
                return Ok(());
            }
            token = answer.rewrite_token;
            if token.is_none() {
                return Err(Error::internal(
                    "GCS rewrite is not done but gave no rewrite token",
                ));
            }
        }
        Err(Error::internal("GCS rewrite did not finish"))
    }

    /// Converts an object resource into Ferry's metadata relative to `prefix`.
    pub fn meta_of(prefix: &str, object: &ObjectResource) -> Option<Result<ObjectMeta>> {
        let rest = object.name.strip_prefix(prefix)?;
        if rest.is_empty() {
            return None;
        }
        Some((|| {
            let mut meta = ObjectMeta::new(ObjectKey::new(rest)?, object.size()?);
            meta.etag = object.etag.clone();
            meta.checksums = object.checksums();
            Ok(meta)
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_checksums() {
        assert_eq!(encode("a b/c+d"), "a%20b%2Fc%2Bd");
        let o = ObjectResource {
            name: "x".into(),
            size: "9".into(),
            // CRC32C of "123456789" = 0xE3069283; MD5 = 25f9e794323b453885f5181f1b624d0b
            crc32c: Some("4waSgw==".into()),
            md5_hash: Some("JfnnlDI7RTiF9RgfG2JNCw==".into()),
            etag: None,
        };
        let c = o.checksums();
        assert_eq!(c.crc32c, Some(0xE306_9283));
        assert_eq!(c.md5.unwrap()[0], 0x25);
        assert_eq!(o.size().unwrap(), 9);
    }
}
